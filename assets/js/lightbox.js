// The full image of a picture attached to a message, over the page (a modal dialog: Escape,
// the close button or a click beside the image closes it, and the focus goes back to the
// picture that opened it), with its name, a link that opens it in a new tab and one that
// downloads it. The image is shown at its own size, scaled down to fit the window.

import { fileUrl } from './attachments.js';
import { Dialog } from './dialogs.js';
import { el, icon } from './dom.js';

const CLOSE_ICON =
  'M19 6.4 17.6 5 12 10.6 6.4 5 5 6.4 10.6 12 5 17.6 6.4 19 12 13.4 17.6 19 19 17.6 13.4 12z';
const OPEN_ICON = 'M19 19H5V5h7V3H5a2 2 0 0 0-2 2v14a2 2 0 0 0 2 2h14a2 2 0 0 0 2-2v-7h-2v7zM14 3v2h3.6l-9.8 9.8 1.4 1.4L19 6.4V10h2V3h-7z';
const DOWNLOAD_ICON = 'M19 9h-4V3H9v6H5l7 7 7-7zM5 18v2h14v-2H5z';

export class Lightbox {
  constructor() {
    this.element = el('dialog', 'dialog lightbox');
    this.element.id = 'lightbox';
    this.element.setAttribute('aria-labelledby', 'lightbox-title');
    const bar = el('header', 'dialog-bar lightbox-bar');
    this.title = el('h2', 'lightbox-title');
    this.title.id = 'lightbox-title';
    this.newTab = this.link('Open in a new tab', OPEN_ICON);
    this.newTab.target = '_blank';
    this.newTab.rel = 'noopener';
    this.download = this.link('Download', DOWNLOAD_ICON);
    const close = el('button', 'icon-button');
    close.type = 'button';
    close.dataset.close = '';
    close.setAttribute('aria-label', 'Close');
    close.title = 'Close';
    close.append(icon(CLOSE_ICON, 22));
    this.closeButton = close;
    bar.append(this.title, this.newTab, this.download, close);
    this.stage = el('div', 'lightbox-stage');
    this.image = el('img', 'lightbox-image');
    this.stage.append(this.image);
    this.element.append(bar, this.stage);
    document.body.append(this.element);
    this.dialog = new Dialog(this.element, { onClose: () => this.image.removeAttribute('src') });
    // A click on the dark stage beside the image closes it, as a click on a backdrop would.
    this.stage.addEventListener('click', (event) => {
      if (event.target === this.stage) this.dialog.close();
    });
  }

  link(label, d) {
    const link = el('a', 'icon-button');
    link.setAttribute('aria-label', label);
    link.title = label;
    link.append(icon(d, 22));
    return link;
  }

  /** Shows the picture `link` (an attachment's link, with its data-* attributes). */
  show(link) {
    const { uploadId, filename, width, height } = link.dataset;
    const url = fileUrl(uploadId);
    this.title.textContent = filename;
    this.newTab.href = url;
    this.download.href = url;
    this.download.download = filename;
    this.download.setAttribute('aria-label', `Download ${filename}`);
    this.image.alt = filename;
    if (width && height) {
      this.image.width = Number(width);
      this.image.height = Number(height);
    } else {
      this.image.removeAttribute('width');
      this.image.removeAttribute('height');
    }
    this.image.src = url;
    this.dialog.open(this.closeButton);
  }
}
