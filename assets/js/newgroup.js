// "New group": a dialog with the group's name and a people picker. Creating is retry-safe: the
// request carries a client_id made for this group, reused when the same group is asked for
// again (a retry after a network failure answers the group already made, never a second one)
// and renewed once the name or the people change. On success the group chat opens.

import { api } from './api.js';
import { Dialog } from './dialogs.js';
import { byId, newClientId } from './dom.js';
import { PeoplePicker } from './people.js';

export class NewGroupDialog {
  /** @param {{ store: import('./store.js').ConversationStore }} options */
  constructor({ store }) {
    this.dialog = new Dialog(byId('new-group-dialog'));
    this.form = byId('new-group-form');
    this.title = byId('new-group-title');
    this.error = byId('new-group-error');
    this.submitButton = byId('create-group');
    this.picker = new PeoplePicker({
      root: byId('new-group-picker'),
      store,
      onChange: () => this.changed(),
    });
    /** The client_id of the group being made, and what it was asked for with. */
    this.clientId = newClientId();
    this.askedFor = '';
    byId('new-group').addEventListener('click', () => this.open());
    this.title.addEventListener('input', () => this.changed());
    this.form.addEventListener('submit', (event) => {
      event.preventDefault();
      this.create();
    });
  }

  open() {
    this.error.hidden = true;
    this.dialog.open(this.title);
  }

  changed() {
    this.error.hidden = true;
  }

  showError(text, focus) {
    this.error.textContent = text;
    this.error.hidden = false;
    focus?.focus();
  }

  async create() {
    const title = this.title.value.trim();
    const members = this.picker.usernames;
    if (!title) {
      this.showError('Give the group a name.', this.title);
      return;
    }
    if (members.length === 0) {
      this.showError('Add at least one person.', this.picker.input);
      return;
    }
    const request = { title, members };
    const key = JSON.stringify(request);
    if (key !== this.askedFor) {
      // Another group than the one last asked for: a client_id of its own.
      if (this.askedFor) this.clientId = newClientId();
      this.askedFor = key;
    }
    this.submitButton.disabled = true;
    try {
      const group = await api('/api/groups', { method: 'POST', body: { client_id: this.clientId, ...request } });
      location.assign(`/messages/groups/${group.id}/`);
    } catch (error) {
      this.submitButton.disabled = false;
      this.showError(`Could not create the group: ${error.message}.`);
    }
  }
}
