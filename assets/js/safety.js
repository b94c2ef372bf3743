// Blocks and message requests on the pages: the Accept / Decline / Block buttons of a request
// in the conversation list, the chat header's menu that blocks or unblocks the other person,
// and the plain words a refused send is explained with.

import { api } from './api.js';
import { byId, el } from './dom.js';

/** What a send refused for safety reasons tells its sender, by error code. */
export const REFUSED_SENDS = {
  cannot_message_user: 'You can’t message this person: one of you has blocked the other, or they declined your request.',
  request_pending:
    'This person hasn’t accepted your message request yet. You can send more once they accept it or reply.',
};

/**
 * The buttons under a request's row in the list: Accept and Decline (a group request:
 * Accept and Leave), and Block for a person. `after` runs once an action succeeded.
 */
export function requestActions(conversation, after) {
  const group = conversation.kind === 'group';
  const name = group ? conversation.title : conversation.with.display_name;
  const who = group ? `/api/groups/${conversation.id}` : `/api/conversations/${encodeURIComponent(conversation.with.username)}`;
  const box = el('div', 'request-actions');
  box.setAttribute('role', 'group');
  box.setAttribute('aria-label', `Request from ${name}`);
  const button = (label, className, spoken, run) => {
    const node = el('button', `${className} small`, label);
    node.type = 'button';
    node.setAttribute('aria-label', spoken);
    node.addEventListener('click', async () => {
      for (const b of box.querySelectorAll('button')) b.disabled = true;
      try {
        await run();
        after();
      } catch (error) {
        for (const b of box.querySelectorAll('button')) b.disabled = false;
        const note = box.querySelector('.request-error') ?? box.appendChild(el('p', 'request-error'));
        note.setAttribute('role', 'alert');
        note.textContent = `Could not do that: ${error.message}.`;
      }
    });
    return node;
  };
  box.append(button('Accept', 'primary', `Accept ${name}`, () => api(`${who}/accept`, { method: 'POST' })));
  if (group) {
    box.append(button('Leave', 'danger-button', `Leave ${name}`, () => api(`${who}/leave`, { method: 'POST' })));
  } else {
    box.append(button('Decline', 'secondary', `Decline ${name}`, () => api(`${who}/decline`, { method: 'POST' })));
    const user = encodeURIComponent(conversation.with.username);
    box.append(button('Block', 'danger-button', `Block ${name}`, () => api(`/api/blocks/${user}`, { method: 'PUT' })));
  }
  return box;
}

/**
 * The chat header's menu: Block or Unblock the person this chat is with. The menu button opens
 * it (Enter, Space or a click), Escape or a click elsewhere closes it.
 */
export class BlockMenu {
  constructor({ peer, peerName, onChange }) {
    this.peer = peer;
    this.peerName = peerName;
    this.onChange = onChange;
    this.button = byId('chat-menu-button');
    this.menu = byId('chat-menu');
    this.toggle = byId('block-toggle');
    this.notice = byId('block-notice');
    if (!this.button || !this.menu || !this.toggle) return;
    this.blocked = false;
    this.button.addEventListener('click', () => (this.menu.hidden ? this.open() : this.close()));
    this.menu.addEventListener('keydown', (event) => {
      if (event.key === 'Escape') {
        this.close();
        this.button.focus();
      }
    });
    document.addEventListener('click', (event) => {
      if (!this.menu.hidden && !this.menu.contains(event.target) && !this.button.contains(event.target)) this.close();
    });
    this.toggle.addEventListener('click', () => this.flip());
    this.load();
  }

  async load() {
    try {
      const { blocked } = await api('/api/blocks');
      this.blocked = blocked.some((u) => u.username === this.peer);
    } catch {
      this.blocked = false;
    }
    this.paint();
  }

  paint() {
    this.toggle.textContent = this.blocked ? `Unblock ${this.peerName}` : `Block ${this.peerName}`;
    this.toggle.classList.toggle('danger', !this.blocked);
    this.notice.hidden = !this.blocked;
    this.notice.textContent = this.blocked
      ? `You blocked ${this.peerName}. Neither of you can message the other until you unblock them.`
      : '';
    this.onChange?.(this.blocked);
  }

  open() {
    this.menu.hidden = false;
    this.button.setAttribute('aria-expanded', 'true');
    this.toggle.focus();
  }

  close() {
    this.menu.hidden = true;
    this.button.setAttribute('aria-expanded', 'false');
  }

  async flip() {
    const user = encodeURIComponent(this.peer);
    try {
      await api(`/api/blocks/${user}`, { method: this.blocked ? 'DELETE' : 'PUT' });
      this.blocked = !this.blocked;
      this.paint();
    } catch (error) {
      this.notice.hidden = false;
      this.notice.textContent = `Could not change the block: ${error.message}.`;
    }
    this.close();
    this.button.focus();
  }
}
