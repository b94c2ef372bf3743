// The one way pages talk HTTP to the server: JSON in and out, the CSRF token on every unsafe
// request, errors as ApiError with the server's stable code.
//
// The token lives in <meta name="csrf-token"> (rendered by the server for this session). A 403
// csrf_* means it went stale (another login in this browser, say): the token is refreshed
// from GET /api/me once and the request retried once.

const UNSAFE = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/**
 * The codes of errors this client makes up, for failures that never got the server's answer;
 * every other ApiError code is the server's (PROTOCOL.md, Errors).
 */
export const CLIENT_ERROR = Object.freeze({
  /** The server could not be reached, or its answer did not come back. */
  network: 'network',
  /** Refused by the page itself while it logs out. */
  leaving: 'leaving',
  /** An error answer without a readable error body. */
  http: 'http_error',
});

/** An error answer from the server (or the network), with its stable code. */
export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
  }
}

function tokenMeta() {
  return document.querySelector('meta[name="csrf-token"]');
}

/** The session's CSRF token, as the page carries it. */
export function csrfToken() {
  return tokenMeta()?.content ?? '';
}

/** Replaces the page's CSRF token (after a login, or a refresh). */
export function setCsrfToken(token) {
  const meta = tokenMeta();
  if (meta && typeof token === 'string') meta.content = token;
}

/** Fetches a fresh token from GET /api/me; true when the page now has one. */
export async function refreshCsrfToken() {
  try {
    const response = await fetch('/api/me', {
      headers: { Accept: 'application/json' },
      credentials: 'same-origin',
      cache: 'no-store',
    });
    if (!response.ok) return false;
    const me = await response.json();
    if (!me.csrf_token) return false;
    setCsrfToken(me.csrf_token);
    return true;
  } catch {
    return false;
  }
}

function send(path, method, body, signal) {
  const headers = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (UNSAFE.has(method)) headers['X-CSRF-Token'] = csrfToken();
  return fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: 'same-origin',
    cache: 'no-store',
    signal,
  });
}

async function errorOf(response) {
  try {
    const body = await response.json();
    const { code = CLIENT_ERROR.http, message = response.statusText } = body?.error ?? {};
    return new ApiError(response.status, code, message);
  } catch {
    return new ApiError(response.status, CLIENT_ERROR.http, `the server answered ${response.status}`);
  }
}

/** Set while the page logs out: nothing else may start a request that would only get a 401. */
let leaving = false;

/** Stops every request but the logout itself (`final: true`), until `resumeRequests`. */
export function stopRequests() {
  leaving = true;
}

/** Lets requests start again (a logout that failed). */
export function resumeRequests() {
  leaving = false;
}

/**
 * Calls the API: `api('/api/conversations')`, `api(path, { method: 'POST', body })`.
 * Resolves to the JSON body (null for 204 or an empty body); rejects with ApiError. A network failure is an
 * ApiError with status 0 and code `network`; a call made while the page logs out is refused
 * with code `leaving`.
 */
export async function api(path, { method = 'GET', body, signal, final = false } = {}) {
  if (leaving && !final) throw new ApiError(0, CLIENT_ERROR.leaving, 'the page is logging out');
  let response;
  try {
    response = await send(path, method, body, signal);
    if (response.status === 403 && UNSAFE.has(method)) {
      const error = await errorOf(response.clone());
      if (error.code.startsWith('csrf_') && (await refreshCsrfToken())) {
        response = await send(path, method, body, signal);
      }
    }
  } catch (cause) {
    if (cause?.name === 'AbortError') throw cause;
    throw new ApiError(0, CLIENT_ERROR.network, 'cannot reach the server; check your connection');
  }
  // 204, and answers such as a report's 202, carry no body.
  if (response.status === 204 || response.headers.get('Content-Length') === '0') return null;
  if (!response.ok) throw await errorOf(response);
  return response.json();
}

/** Sends the browser to the login page, coming back here afterwards. */
export function goToLogin() {
  const here = location.pathname + location.search;
  location.assign(`/login?next=${encodeURIComponent(here)}`);
}
