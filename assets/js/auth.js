// The login and sign-up pages: post the form as JSON, then go on to `next` (a local path).

import { CLIENT_ERROR, api, setCsrfToken } from './api.js';
import { byId, pageData } from './dom.js';

const form = byId('auth-form');
const errorBox = byId('form-error');
const submit = form.querySelector('button[type="submit"]');
const next = localPath(pageData().next) ?? '/messages/';

/** `raw` if it is a path on this site, else null (never follow `//host` or `https://…`). */
function localPath(raw) {
  if (typeof raw !== 'string' || !raw.startsWith('/') || raw.startsWith('//')) return null;
  if (raw.includes('\\') || /[\u0000-\u001f\u007f]/.test(raw)) return null;
  return raw;
}

// The link to the other form keeps `next`, so signing up instead of logging in still lands
// where the person was going.
for (const link of document.querySelectorAll('a[data-keep-next]')) {
  if (next !== '/messages/') link.search = `?next=${encodeURIComponent(next)}`;
}

const MESSAGES = {
  invalid_credentials: 'Wrong username or password.',
  username_taken: 'That username is taken. Try another one.',
  rate_limited: 'Too many attempts. Wait a moment, then try again.',
  [CLIENT_ERROR.network]: 'Cannot reach LinkUp. Check your connection and try again.',
};

function showError(message, field) {
  errorBox.textContent = message;
  errorBox.hidden = false;
  field?.setAttribute('aria-invalid', 'true');
  field?.focus();
}

function check(values) {
  if (!values.username) return ['Enter your username.', 'username'];
  if (!values.password) return ['Enter your password.', 'password'];
  if (form.dataset.action.endsWith('signup')) {
    if (!/^[A-Za-z0-9_.-]{3,32}$/.test(values.username)) {
      return ['A username is 3–32 letters, digits, “_”, “.” or “-”.', 'username'];
    }
    if ([...values.password].length < 8) return ['A password has at least 8 characters.', 'password'];
  }
  return null;
}

form.addEventListener('submit', async (event) => {
  event.preventDefault();
  errorBox.hidden = true;
  for (const input of form.querySelectorAll('input')) input.removeAttribute('aria-invalid');
  const data = new FormData(form);
  const values = {
    username: String(data.get('username') ?? '').trim(),
    password: String(data.get('password') ?? ''),
  };
  const displayName = String(data.get('display_name') ?? '').trim();
  if (displayName) values.display_name = displayName;
  const problem = check(values);
  if (problem) {
    showError(problem[0], form.elements.namedItem(problem[1]));
    return;
  }
  submit.disabled = true;
  try {
    const answer = await api(form.dataset.action, { method: 'POST', body: values });
    setCsrfToken(answer?.csrf_token);
    location.replace(next);
  } catch (error) {
    submit.disabled = false;
    const field = error.code?.includes('username')
      ? 'username'
      : error.code?.includes('password')
        ? 'password'
        : error.code === 'invalid_display_name'
          ? 'display_name'
          : null;
    showError(MESSAGES[error.code] ?? error.message, field ? form.elements.namedItem(field) : null);
  }
});

form.elements.namedItem(form.dataset.action.endsWith('signup') ? 'display_name' : 'username')?.focus();
