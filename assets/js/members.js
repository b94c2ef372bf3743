// The group's panel ("Group info", a dialog from the chat's header): its name and description,
// its members with their roles, adding people, making admins and members, removing people, the
// settings, and leaving. It renders from the model's details of the group and offers only what
// my role allows (PROTOCOL.md, Groups): the owner may do everything but be removed; admins add,
// remove and make admins but do not demote admins; plain members rename and describe unless
// only admins may, add unless only admins may, and change no settings.

import { api } from './api.js';
import { Dialog } from './dialogs.js';
import { byId, el } from './dom.js';
import { paintAvatar } from './format.js';
import { PeoplePicker } from './people.js';
import { roleLabel } from './system.js';

const isAdmin = (role) => role === 'admin' || role === 'owner';

export class MembersPanel {
  /** @param {{ id: number, store: import('./store.js').ConversationStore }} options */
  constructor({ id, store }) {
    this.id = id;
    this.store = store;
    this.me = store.me;
    this.dialog = new Dialog(byId('group-panel'), { onClose: () => this.hideLeave() });
    this.notice = byId('panel-notice');
    this.titleForm = byId('panel-title-form');
    this.titleInput = byId('panel-title');
    this.descriptionForm = byId('panel-description-form');
    this.descriptionInput = byId('panel-description');
    this.infoHint = byId('panel-info-hint');
    this.error = byId('panel-error');
    this.status = byId('panel-status');
    this.membersSection = byId('panel-members-section');
    this.membersTitle = byId('panel-members-title');
    this.members = byId('panel-members');
    this.addSection = byId('panel-add');
    this.addButton = byId('panel-add-button');
    this.settings = byId('panel-settings');
    this.settingsHint = byId('panel-settings-hint');
    this.leaveSection = byId('panel-leave');
    this.leaveBox = byId('leave-confirm-box');
    this.picker = new PeoplePicker({
      root: byId('panel-add-picker'),
      store,
      exclude: () => new Set((this.details?.members ?? []).map((m) => m.user.username)),
      onChange: () => this.paintAdd(),
    });
    this.bind();
  }

  get details() {
    return this.store.details.get(this.id);
  }

  bind() {
    this.titleForm.addEventListener('submit', (event) => {
      event.preventDefault();
      this.change({ title: this.titleInput.value }, 'The group’s name is saved.');
    });
    this.descriptionForm.addEventListener('submit', (event) => {
      event.preventDefault();
      this.change({ description: this.descriptionInput.value }, 'The description is saved.');
    });
    this.settings.addEventListener('change', (event) => {
      const input = event.target;
      const value = input.type === 'radio' ? input.value : input.checked;
      this.change({ settings: { [input.name]: value } }, 'The settings are saved.');
    });
    this.members.addEventListener('click', (event) => {
      const button = event.target.closest('button[data-action]');
      if (button) this.act(button.dataset.action, button.closest('li').dataset.username);
    });
    this.addButton.addEventListener('click', () => this.add());
    byId('leave-group').addEventListener('click', () => {
      this.leaveBox.hidden = false;
      byId('leave-cancel').focus();
    });
    byId('leave-cancel').addEventListener('click', () => {
      this.hideLeave();
      byId('leave-group').focus();
    });
    byId('leave-confirm').addEventListener('click', () => this.leave());
  }

  open() {
    this.error.hidden = true;
    this.status.textContent = '';
    this.paint(true);
    this.dialog.open(byId('panel-heading'));
    this.store.loadGroup(this.id);
  }

  hideLeave() {
    this.leaveBox.hidden = true;
  }

  showError(error) {
    this.error.textContent = error.message;
    this.error.hidden = false;
  }

  /** Runs one request; reads the group again and says `done`, or shows what went wrong. */
  async run(request, done) {
    this.error.hidden = true;
    try {
      await request();
      this.status.textContent = done;
      await this.store.loadGroup(this.id);
      return true;
    } catch (error) {
      this.showError(error);
      this.paint(true);
      return false;
    }
  }

  change(body, done) {
    return this.run(() => api(`/api/groups/${this.id}`, { method: 'PATCH', body }), done);
  }

  async act(action, username) {
    const name = this.store.nameOf(username);
    const path = `/api/groups/${this.id}/members/${encodeURIComponent(username)}`;
    if (action === 'remove') {
      await this.run(() => api(path, { method: 'DELETE' }), `${name} was removed.`);
    } else {
      const done = action === 'admin' ? `${name} is now an admin.` : `${name} is no longer an admin.`;
      await this.run(() => api(path, { method: 'PATCH', body: { role: action } }), done);
    }
    // The row was drawn again: keep the keyboard where it was.
    const row = this.members.querySelector(`li[data-username="${CSS.escape(username)}"]`);
    (row?.querySelector('button') ?? this.membersTitle).focus();
  }

  async add() {
    const usernames = this.picker.usernames;
    if (usernames.length === 0) return;
    const names = usernames.map((u) => this.store.nameOf(u)).join(', ');
    const added = await this.run(
      () => api(`/api/groups/${this.id}/members`, { method: 'POST', body: { usernames } }),
      `Added ${names}.`,
    );
    if (added) this.picker.reset();
    this.paintAdd();
  }

  async leave() {
    const left = await this.run(() => api(`/api/groups/${this.id}/leave`, { method: 'POST' }), 'You left the group.');
    if (left) this.dialog.close();
  }

  /** Draws the panel from the model; `force` also resets the fields being edited. */
  paint(force = false) {
    const details = this.details;
    if (!details || (!this.dialog.isOpen && !force)) return;
    const { group, members } = details;
    const role = group.role;
    const editInfo = Boolean(role) && (!group.settings.only_admins_edit_info || isAdmin(role));
    for (const [input, value] of [
      [this.titleInput, group.title],
      [this.descriptionInput, group.description],
    ]) {
      if (force || document.activeElement !== input) input.value = value;
      input.disabled = !editInfo;
    }
    for (const button of [...this.titleForm.elements, ...this.descriptionForm.elements]) {
      if (button.tagName === 'BUTTON') button.disabled = !editInfo;
    }
    this.infoHint.hidden = editInfo || !role;
    this.notice.hidden = Boolean(role);
    this.notice.textContent = role ? '' : 'You are no longer a member of this group.';
    this.membersSection.hidden = !members;
    if (members) this.paintMembers(members, role);
    this.addSection.hidden = !role || (group.settings.only_admins_add && !isAdmin(role));
    this.paintAdd();
    this.paintSettings(group.settings, role);
    this.leaveSection.hidden = !role;
  }

  paintMembers(members, role) {
    this.membersTitle.textContent = members.length === 1 ? '1 member' : `${members.length} members`;
    // Rows are drawn again only when what they show changed: a row replaced under the pointer
    // between press and release loses the click, and one replaced under the keyboard its focus.
    const shown = JSON.stringify([role, members.map(({ user, role: r }) => [user.username, user.display_name, r])]);
    if (shown === this.membersShown) return;
    this.membersShown = shown;
    this.members.replaceChildren(...members.map((member) => this.memberRow(member, role)));
  }

  memberRow({ user, role }, myRole) {
    const item = el('li', 'member');
    item.dataset.username = user.username;
    item.dataset.role = role;
    const avatar = el('span', 'avatar');
    avatar.setAttribute('aria-hidden', 'true');
    paintAvatar(avatar, user.display_name);
    const main = el('span', 'member-main');
    const mine = user.username === this.me;
    const name = el('span', 'member-name', mine ? `${user.display_name} (you)` : user.display_name);
    name.title = user.display_name;
    main.append(name);
    main.append(el('span', 'member-username', `@${user.username}`));
    item.append(avatar, main);
    if (role !== 'member') item.append(el('span', `role-tag ${role}`, roleLabel(role)));
    const actions = el('span', 'member-actions');
    if (!mine && isAdmin(myRole) && role !== 'owner') {
      if (role === 'member') actions.append(this.actionButton('admin', 'Make admin', user));
      if (role === 'admin' && myRole === 'owner') actions.append(this.actionButton('member', 'Dismiss as admin', user));
      actions.append(this.actionButton('remove', 'Remove', user, 'danger-button'));
    }
    if (actions.childElementCount) item.append(actions);
    return item;
  }

  actionButton(action, text, user, className = 'secondary') {
    const button = el('button', `small ${className}`, text);
    button.type = 'button';
    button.dataset.action = action;
    button.setAttribute('aria-label', `${text}: ${user.display_name}`);
    return button;
  }

  paintAdd() {
    const count = this.picker.usernames.length;
    this.addButton.disabled = count === 0;
    this.addButton.textContent = count > 1 ? `Add ${count} people` : 'Add';
  }

  paintSettings(settings, role) {
    const admin = isAdmin(role);
    for (const input of this.settings.querySelectorAll('input')) {
      input.checked = input.type === 'radio' ? settings[input.name] === input.value : Boolean(settings[input.name]);
      input.disabled = !admin;
    }
    this.settingsHint.hidden = admin;
  }
}
