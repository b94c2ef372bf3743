// The open group chat: the chat itself (`chat.js`, addressed by the group's id), its header
// (title, who is typing or who is in it), whether the composer is open to me (not once I left
// or was removed, not for plain members when only admins may send), the members panel and
// the notice that says why I cannot write. It renders from the model (`store.js`): the
// group's details and members, read at load and again after each of its system messages.

import { ChatView } from './chat.js';
import { byId } from './dom.js';
import { paintGroupAvatar } from './format.js';
import { MembersPanel } from './members.js';
import { joinNames, membershipChange } from './system.js';

export class GroupView {
  /**
   * @param {object} options
   * @param {number} options.id
   * @param {string} options.title  as the page was rendered with it
   * @param {(title: string) => void} options.onTitle  the group was renamed
   * Others as ChatView's.
   */
  constructor({ id, title, onTitle, store, typing, ...chatOptions }) {
    this.id = id;
    this.store = store;
    this.me = store.me;
    this.typing = typing;
    this.onTitle = onTitle;
    this.title = title;
    this.heading = byId('group-name');
    this.notice = byId('group-notice');
    /** How my membership ended, if it did: { change: 'removed'|'left', by }. */
    this.exit = null;
    paintGroupAvatar(byId('group-avatar'), id);
    this.chat = new ChatView({
      ...chatOptions,
      store,
      typing,
      target: { conversation_id: id },
      name: title,
      status: () => this.statusLine(),
    });
    this.panel = new MembersPanel({ id, store });
    byId('group-info-button').addEventListener('click', () => this.panel.open());
    store.subscribe((change) => this.onChange(change));
  }

  async load() {
    await Promise.all([this.store.loadGroup(this.id), this.chat.load()]);
    // A past member's history ends with the message that ended their membership.
    const last = this.chat.messages.newest();
    if (last) this.noteMembership(last);
    this.paint();
  }

  onChange(change) {
    if (change.type === 'names') {
      this.chat.messages.repaintNames();
      this.paint();
      return;
    }
    if (change.id !== this.id) return;
    if (change.type === 'message') {
      this.noteMembership(change.message);
      this.paint();
    } else if (change.type === 'group') {
      this.chat.messages.repaintNames();
      this.paint();
    }
  }

  noteMembership(message) {
    const mine = membershipChange(message, this.me);
    if (mine?.change === 'removed' || mine?.change === 'left') this.exit = mine;
    else if (mine?.change === 'joined') this.exit = null;
  }

  /** The typing members or the members' names. */
  statusLine() {
    const typers = this.typing.typersIn(this.id).map((u) => this.store.nameOf(u));
    if (typers.length === 1) return { text: `${typers[0]} is typing…`, typing: true };
    if (typers.length > 1) return { text: `${joinNames(typers)} are typing…`, typing: true };
    const members = this.store.details.get(this.id)?.members;
    if (this.exit || !members) return { text: '', typing: false };
    const others = members.filter((m) => m.user.username !== this.me).map((m) => m.user.display_name);
    return { text: [...others, 'You'].join(', '), typing: false };
  }

  /** Why I cannot write here, or '' when I can. */
  blocked() {
    const details = this.store.details.get(this.id);
    if (this.exit?.change === 'removed') {
      return `You were removed from this group by ${this.store.nameOf(this.exit.by)}. You are no longer a member.`;
    }
    if (this.exit?.change === 'left') return 'You left this group. You are no longer a member.';
    if (!details) return '';
    if (!details.group.role) return 'You are no longer a member of this group.';
    if (details.group.settings.only_admins_send && details.group.role === 'member') {
      return 'Only admins can send messages in this group.';
    }
    return '';
  }

  paint() {
    const details = this.store.details.get(this.id);
    if (details && details.group.title !== this.title) {
      this.title = details.group.title;
      this.chat.name = this.title;
      this.onTitle(this.title);
    }
    this.heading.textContent = this.title;
    const reason = this.blocked();
    this.notice.textContent = reason;
    this.notice.hidden = !reason;
    this.chat.setWritable(!reason, reason ? 'You can’t send messages here' : '');
    this.chat.paintStatus();
    this.panel.paint();
  }
}
