// Building DOM nodes. Text only ever goes in as textContent: nothing here parses HTML.

/** A new element with a class and, optionally, text. */
export function el(tag, className = '', text = '') {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text) node.textContent = text;
  return node;
}

/** A small icon (decorative: its button or text says what it is). */
export function icon(d, size = 18) {
  const svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('width', String(size));
  svg.setAttribute('height', String(size));
  svg.setAttribute('aria-hidden', 'true');
  const path = document.createElementNS('http://www.w3.org/2000/svg', 'path');
  path.setAttribute('fill', 'currentColor');
  path.setAttribute('d', d);
  svg.append(path);
  return svg;
}

/** The element with `id`; throws when the page lacks it (a template and script out of step). */
export function byId(id) {
  const node = document.getElementById(id);
  if (!node) throw new Error(`the page has no #${id}`);
  return node;
}

/** Calls `fn` at most once per `ms`, with the latest arguments, at the end of the wait. */
export function debounce(fn, ms) {
  let timer = 0;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
}

/** A fresh client_id for a send: 1–64 characters of [A-Za-z0-9_-]. */
export function newClientId() {
  if (globalThis.crypto?.randomUUID) return `web-${crypto.randomUUID()}`;
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  const b64 = btoa(String.fromCharCode(...bytes));
  return `web-${b64.replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')}`;
}

/** The page's settings, rendered by the server as data attributes of <body>. */
export function pageData() {
  const data = document.body.dataset;
  return {
    me: data.me || '',
    meName: data.meName || data.me || '',
    peer: data.peer || '',
    peerName: data.peerName || data.peer || '',
    group: Number.parseInt(data.group || '0', 10) || 0,
    groupTitle: data.groupTitle || '',
    cursor: Number.parseInt(data.cursor || '0', 10) || 0,
    maxBody: Number.parseInt(data.maxBody || '4096', 10) || 4096,
    next: data.next || '',
  };
}
