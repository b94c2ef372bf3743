// The account page (/account): change the password, download one's data (GET /api/me/export,
// once an hour), delete the account (DELETE /api/me, after a confirm dialog). Every refusal of
// the server is said in words; nothing here keeps state beyond the forms.

import { CLIENT_ERROR, ApiError, api, csrfToken } from './api.js';
import { Dialog } from './dialogs.js';
import { byId, pageData } from './dom.js';

const WORDS = Object.freeze({
  wrong_password: 'That password is wrong.',
  invalid_password: 'The new password must be 8 to 1024 characters.',
  rate_limited: 'Too many tries. Wait a moment, then try again.',
  not_found: 'This server cannot do that yet.',
  method_not_allowed: 'This server cannot do that yet.',
  [CLIENT_ERROR.network]: 'Cannot reach LinkUp. Check your connection and try again.',
});

function words(error, what) {
  return WORDS[error.code] ?? `Could not ${what} (${error.message}).`;
}

function show(box, text) {
  box.textContent = text;
  box.hidden = !text;
}

/** Marks `field` wrong with `text` in `box`, and focuses it. */
function refuse(box, text, field) {
  show(box, text);
  if (field) {
    field.setAttribute('aria-invalid', 'true');
    field.focus();
  }
}

function clearMarks(form) {
  for (const input of form.querySelectorAll('[aria-invalid]')) input.removeAttribute('aria-invalid');
}

// ---- the password ----

const passwordForm = byId('password-form');
const current = byId('current-password');
const fresh = byId('new-password');
const again = byId('confirm-password');
const passwordError = byId('password-error');
const passwordDone = byId('password-done');

passwordForm.addEventListener('submit', async (event) => {
  event.preventDefault();
  clearMarks(passwordForm);
  show(passwordError, '');
  show(passwordDone, '');
  if (!current.value) return refuse(passwordError, 'Enter your current password.', current);
  if ([...fresh.value].length < 8) return refuse(passwordError, WORDS.invalid_password, fresh);
  if (fresh.value !== again.value) return refuse(passwordError, 'The two new passwords differ.', again);
  const button = byId('change-password');
  button.disabled = true;
  try {
    await api('/api/me/password', {
      method: 'POST',
      body: { current_password: current.value, new_password: fresh.value },
    });
    passwordForm.reset();
    show(passwordDone, 'Your password is changed. Your other devices are signed out.');
  } catch (error) {
    const field = error.code === 'wrong_password' ? current : error.code === 'invalid_password' ? fresh : null;
    refuse(passwordError, words(error, 'change the password'), field);
  } finally {
    button.disabled = false;
  }
});

// ---- the export ----

const exportButton = byId('export');
const exportError = byId('export-error');
const exportDone = byId('export-done');

async function download() {
  const response = await fetch('/api/me/export', {
    headers: { Accept: 'application/json' },
    credentials: 'same-origin',
    cache: 'no-store',
  }).catch(() => {
    throw new ApiError(0, CLIENT_ERROR.network, 'cannot reach the server');
  });
  if (!response.ok) {
    const body = await response.json().catch(() => null);
    const { code = CLIENT_ERROR.http, message = response.statusText } = body?.error ?? {};
    throw new ApiError(response.status, code, message);
  }
  return response.blob();
}

exportButton.addEventListener('click', async () => {
  show(exportError, '');
  show(exportDone, '');
  exportButton.disabled = true;
  try {
    const blob = await download();
    const link = document.createElement('a');
    link.href = URL.createObjectURL(blob);
    link.download = `linkup-export-${pageData().me}.json`;
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(link.href), 60_000);
    show(exportDone, 'Your data is downloaded.');
  } catch (error) {
    const text = error.code === 'rate_limited'
      ? 'You downloaded your data less than an hour ago. Please try again later.'
      : words(error, 'download your data');
    show(exportError, text);
  } finally {
    exportButton.disabled = false;
  }
});

// ---- deleting the account ----

const deleteForm = byId('delete-account-form');
const deletePassword = byId('delete-password');
const deleteError = byId('delete-account-error');
const confirm = new Dialog(byId('delete-account-dialog'));

deleteForm.addEventListener('submit', (event) => {
  event.preventDefault();
  clearMarks(deleteForm);
  show(deleteError, '');
  if (!deletePassword.value) return refuse(deleteError, 'Enter your password to delete your account.', deletePassword);
  confirm.open(byId('delete-account-cancel'));
});

byId('delete-account-confirm').addEventListener('click', async () => {
  const button = byId('delete-account-confirm');
  button.disabled = true;
  try {
    await api('/api/me', {
      method: 'DELETE',
      body: { password: deletePassword.value, delete_messages: byId('delete-messages').checked },
    });
    location.assign('/login');
  } catch (error) {
    confirm.close();
    refuse(deleteError, words(error, 'delete your account'), error.code === 'wrong_password' ? deletePassword : null);
  } finally {
    button.disabled = false;
  }
});

// The token is read from the page; a page without one (a stale tab) cannot change anything.
if (!csrfToken()) show(passwordError, 'Reload the page to change your account.');
