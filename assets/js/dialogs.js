// Modal dialogs (<dialog> opened with showModal): the page behind is inert, Tab and Shift+Tab
// cycle inside the dialog, Escape closes it (the browser's `cancel`), any [data-close] button
// inside closes it, and focus goes back to whatever opened it.

const FOCUSABLE = [
  'a[href]',
  'button:not([disabled])',
  'input:not([disabled]):not([type=hidden])',
  'textarea:not([disabled])',
  'select:not([disabled])',
  '[tabindex]:not([tabindex="-1"])',
].join(',');

/** The elements of `root` that Tab reaches now, in order. */
function focusables(root) {
  return [...root.querySelectorAll(FOCUSABLE)].filter((node) => node.getClientRects().length > 0);
}

export class Dialog {
  /**
   * @param {HTMLDialogElement} dialog
   * @param {{ onClose?: () => void }} [options]
   */
  constructor(dialog, { onClose } = {}) {
    this.dialog = dialog;
    this.onClose = onClose;
    this.opener = null;
    dialog.addEventListener('keydown', (event) => this.trap(event));
    dialog.addEventListener('close', () => this.closed());
    dialog.addEventListener('click', (event) => {
      if (event.target.closest('[data-close]')) this.close();
      // A click on the backdrop (the dialog box itself, outside its content) closes it too.
      else if (event.target === dialog) this.close();
    });
  }

  get isOpen() {
    return this.dialog.open;
  }

  /** Opens the dialog and focuses `focus` (else its first focusable element). */
  open(focus = null) {
    if (!this.dialog.open) {
      this.opener = document.activeElement instanceof HTMLElement ? document.activeElement : null;
      this.dialog.showModal();
    }
    const target = focus ?? focusables(this.dialog)[0];
    target?.focus();
  }

  close() {
    if (this.dialog.open) this.dialog.close();
  }

  closed() {
    this.onClose?.();
    if (this.opener?.isConnected) this.opener.focus();
    this.opener = null;
  }

  /** Keeps Tab inside the dialog. */
  trap(event) {
    if (event.key !== 'Tab') return;
    const nodes = focusables(this.dialog);
    if (nodes.length === 0) {
      event.preventDefault();
      return;
    }
    const first = nodes[0];
    const last = nodes[nodes.length - 1];
    const active = document.activeElement;
    if (event.shiftKey && (active === first || !this.dialog.contains(active))) {
      event.preventDefault();
      last.focus();
    } else if (!event.shiftKey && (active === last || !this.dialog.contains(active))) {
      event.preventDefault();
      first.focus();
    }
  }
}
