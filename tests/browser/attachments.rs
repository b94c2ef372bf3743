//! Attachments on the chat pages. Alice (desktop) attaches files with the attach button: one on
//! a slow connection shows its progress, holds Send back and is cancelled; then a photo, a PDF,
//! an empty file and one over the size limit at once — the first two upload, the other two are
//! refused in words and removed — and she sends the two with a caption. Bob (phone) sees the
//! photo's thumbnail (sized before it loads) and the PDF's file card; the card downloads the
//! PDF's bytes, and the thumbnail opens the full image. Alice then sends a photo alone while
//! her connection is down: it goes, with its attachment, once she is back, and both
//! conversation lists say "📷 Photo". axe finds nothing serious with the tray showing, in the
//! chat and in the lightbox, light and dark.

use std::path::PathBuf;
use std::time::Duration;

use serde_json::{Value, json};

use crate::axe;
use crate::cdp::Browser;
use crate::page::{Page, Screen};
use crate::screens::FITS;
use crate::support::{ApiUser, TestServer, log_in_on_page, wait_text_shown};

/// A small, valid PDF.
const PDF: &[u8] =
    b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n";
const ASK: &str = "Could you send me your CV and the whiteboard photo?";
const CAPTION: &str = "Here are my CV and the whiteboard from this morning";
/// The server's largest upload in this test.
const MAX_UPLOAD: u64 = 1_000_000;
/// Reconnecting follows a backoff; allow for a few rounds of it.
const RECONNECT_WAIT: Duration = Duration::from_secs(20);

/// A 640×400 picture (a gradient), as PNG.
fn png() -> Vec<u8> {
    let image = image::RgbImage::from_fn(640, 400, |x, y| {
        image::Rgb([(x / 3) as u8, (y / 2) as u8, 160])
    });
    let mut bytes = std::io::Cursor::new(Vec::new());
    image
        .write_to(&mut bytes, image::ImageFormat::Png)
        .expect("png");
    bytes.into_inner()
}

/// A JavaScript expression: the tray item of the file named `name`, or undefined.
fn item(name: &str) -> String {
    format!(
        "[...document.querySelectorAll('#upload-tray .upload')].find((li) => li.querySelector('.upload-name').textContent === {name:?})"
    )
}

/// A JavaScript expression: how many tray items are in `state`.
fn in_state(state: &str) -> String {
    format!("document.querySelectorAll('#upload-tray .upload[data-state={state}]').length")
}

/// A JavaScript expression: the newest stored message shown.
const NEWEST: &str = "[...document.querySelectorAll('#message-list li[data-message-id]')].at(-1)";

/// What the newest message shows of its attachments.
const SHOWN: &str = r#"(() => {
  const li = [...document.querySelectorAll('#message-list li[data-message-id]')].at(-1);
  const link = li.querySelector('.attachment-picture');
  const img = link?.querySelector('img');
  const card = li.querySelector('.file-card');
  return {
    picture: link ? { href: link.getAttribute('href'), src: img.getAttribute('src'), alt: img.alt,
      width: img.getAttribute('width'), height: img.getAttribute('height'), natural: img.naturalWidth } : null,
    card: card ? { href: card.getAttribute('href'), download: card.getAttribute('download'),
      name: card.querySelector('.file-name').textContent, size: card.querySelector('.file-size').textContent } : null,
    body: li.querySelector('.body')?.textContent ?? null,
    order: [...li.querySelector('.bubble').children].map((c) => c.className),
  };
})()"#;

/// Drops a file on the chat and pastes another into the message box, as the browser does
/// when a person drags one from their desktop or pastes one they copied.
const DROP_AND_PASTE: &str = r#"(() => {
  const carrying = (name, text) => {
    const data = new DataTransfer();
    data.items.add(new File([text], name, { type: 'text/plain' }));
    return data;
  };
  const drop = new DragEvent('drop', { dataTransfer: carrying('agenda.txt', 'Agenda: 1. CV'), bubbles: true, cancelable: true });
  document.getElementById('messages').dispatchEvent(drop);
  const paste = new ClipboardEvent('paste', { clipboardData: carrying('pasted.txt', 'pasted'), bubbles: true, cancelable: true });
  document.getElementById('message-input').dispatchEvent(paste);
  return drop.defaultPrevented && paste.defaultPrevented;
})()"#;

/// Waits until the newest message's picture (if any) has loaded; returns what it shows.
async fn shown(page: &Page) -> Value {
    page.wait_for(&format!(
        "(() => {{ const img = {NEWEST}?.querySelector('.attachment-picture img'); return !img || (img.complete && img.naturalWidth > 0); }})()"
    ))
    .await;
    page.eval(SHOWN).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_photo_and_a_pdf_go_with_a_caption_and_open_and_download_on_the_other_side() {
    let server = TestServer::start_with(|config| config.max_upload_bytes = MAX_UPLOAD).await;
    ApiUser::signup(&server.url, "alice", "Alice Martin").await;
    let bob_api = ApiUser::signup(&server.url, "bob", "Bob Chen").await;
    bob_api.send("alice", "ask", ASK).await;

    let dir = tempfile::tempdir().expect("temp dir");
    let file = |name: &str, bytes: &[u8]| -> PathBuf {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).expect("write a file to attach");
        path
    };
    let photo = file("whiteboard.png", &png());
    let cv = file("cv.pdf", PDF);
    let empty = file("empty.txt", b"");
    let big = file("recording.bin", &vec![7; MAX_UPLOAD as usize + 200_000]);
    let slow = file("notes.bin", &vec![1; 400_000]);

    let browser = Browser::launch().await;
    let alice = Page::open(&browser, "alice", Screen::Desktop).await;
    let bob = Page::open(&browser, "bob", Screen::Phone).await;
    alice.track_sockets().await;
    alice.intercept_file_pickers().await;
    log_in_on_page(&alice, &server, "alice", "/messages/chat/bob/").await;
    log_in_on_page(&bob, &server, "bob", "/messages/chat/alice/").await;
    wait_text_shown(&alice, ASK, 1).await;

    // The attach button comes just before the message box, by keyboard too.
    alice.click("#message-input").await;
    alice.press_tab(true).await;
    alice
        .wait_for("document.activeElement?.id === 'attach' && document.activeElement.getAttribute('aria-label') === 'Attach files'")
        .await;

    // On a slow connection a file shows its progress and Send waits for it; it is cancelled.
    alice.throttle_uploads(Some(40_000)).await;
    alice.click("#attach").await;
    alice.choose_files("#attach-input", &[&slow]).await;
    let notes = item("notes.bin");
    alice
        .wait_for(&format!(
            "{notes}?.dataset.state === 'uploading' && {notes}.querySelector('progress').value > 0 \
             && !{notes}.querySelector('progress').hidden"
        ))
        .await;
    alice
        .wait_for("document.getElementById('send').disabled && !document.getElementById('upload-tray').hidden")
        .await;
    assert_eq!(
        alice
            .eval(&format!(
                "{notes}.querySelector('.upload-remove').getAttribute('aria-label')"
            ))
            .await,
        "Cancel upload of notes.bin"
    );
    axe::check(&alice, "a chat with a file uploading").await;
    alice.screenshot("desktop-attachments-uploading").await;
    alice
        .click("#upload-tray .upload[data-state=uploading] .upload-remove")
        .await;
    alice
        .wait_for(
            "document.getElementById('upload-tray').hidden && !document.getElementById('send').disabled \
             && document.activeElement.id === 'message-input'",
        )
        .await;
    alice.throttle_uploads(None).await;

    // Four files at once: the photo and the PDF upload; the empty file and the one over the
    // limit are refused, in words, and taken out again.
    alice.click("#attach").await;
    alice
        .choose_files("#attach-input", &[&photo, &cv, &empty, &big])
        .await;
    alice
        .wait_for(&format!(
            "{} === 2 && {} === 2",
            in_state("done"),
            in_state("failed")
        ))
        .await;
    for (name, words) in [
        ("empty.txt", "This file is empty."),
        ("recording.bin", "This file is too large to send."),
    ] {
        assert_eq!(
            alice
                .eval(&format!(
                    "{}.querySelector('.upload-detail').textContent",
                    item(name)
                ))
                .await,
            words,
            "{name}"
        );
    }
    alice
        .wait_for(&format!(
            "(() => {{ const img = {}.querySelector('.upload-preview img'); return !!img && img.complete && img.naturalWidth > 0; }})()",
            item("whiteboard.png")
        ))
        .await;
    axe::check(&alice, "a chat with files ready and refused in the tray").await;
    alice.screenshot("desktop-attachments-tray").await;
    for _ in 0..2 {
        alice
            .click("#upload-tray .upload[data-state=failed] .upload-remove")
            .await;
    }
    alice
        .wait_for(&format!(
            "{} === 2 && {} === 0",
            in_state("done"),
            in_state("failed")
        ))
        .await;

    // She sends them with a caption: the picture, the file card, then the caption.
    alice.type_into("#message-input", CAPTION).await;
    alice.press_enter(false).await;
    alice
        .wait_for("document.getElementById('upload-tray').hidden")
        .await;
    wait_text_shown(&alice, CAPTION, 1).await;
    alice
        .wait_for(&format!("{NEWEST}.classList.contains('out') && {NEWEST}.querySelector('.body')?.textContent === {CAPTION:?}"))
        .await;
    let mine = shown(&alice).await;
    let photo_url = mine["picture"]["href"]
        .as_str()
        .expect("a picture")
        .to_owned();
    let cv_url = mine["card"]["href"]
        .as_str()
        .expect("a file card")
        .to_owned();
    assert!(photo_url.starts_with("/api/uploads/"), "{mine}");
    assert!(
        cv_url.starts_with("/api/uploads/") && cv_url != photo_url,
        "{mine}"
    );

    // Bob sees the same: the thumbnail (320 px wide, drawn at 280×175 from the start) in a
    // link to the full image, and a card that downloads the PDF.
    wait_text_shown(&bob, CAPTION, 1).await;
    let his = shown(&bob).await;
    assert_eq!(
        his,
        json!({
            "picture": {"href": photo_url, "src": format!("{photo_url}/thumbnail"), "alt": "whiteboard.png",
                "width": "280", "height": "175", "natural": 320},
            "card": {"href": cv_url, "download": "cv.pdf", "name": "cv.pdf", "size": format!("{} bytes", PDF.len())},
            "body": CAPTION,
            "order": ["attachments", "body", "meta"],
        })
    );
    let download = bob
        .eval(&format!(
            "fetch({cv_url:?}).then(async (r) => [r.status, r.headers.get('content-disposition'), [...new Uint8Array(await r.arrayBuffer())]])"
        ))
        .await;
    assert_eq!(download[0], 200);
    assert!(
        download[1]
            .as_str()
            .is_some_and(|d| d.starts_with("attachment")),
        "{download}"
    );
    assert_eq!(download[2], json!(PDF), "the PDF downloads as it was sent");
    bob.wait_for(FITS).await;
    axe::check(&bob, "a chat with a picture and a file card").await;

    // The thumbnail opens the full image; Escape closes it and the focus goes back.
    bob.click("#message-list .attachment-picture").await;
    bob.wait_for(
        "document.getElementById('lightbox').open && (() => { const img = document.querySelector('#lightbox img'); \
         return img.complete && img.naturalWidth === 640; })()",
    )
    .await;
    assert_eq!(
        bob.eval("document.getElementById('lightbox-title').textContent")
            .await,
        "whiteboard.png"
    );
    axe::check(&bob, "the full image of a picture").await;
    axe::set_color_scheme(&bob, "dark").await;
    bob.screenshot("phone-attachments-lightbox-dark").await;
    bob.press_escape().await;
    bob.wait_for(
        "!document.getElementById('lightbox').open && document.activeElement.classList.contains('attachment-picture')",
    )
    .await;
    bob.screenshot("phone-attachments-dark").await;

    // Bob drops a file on the chat and pastes another into the message box: both upload, the
    // tray fits his phone, and he takes them out again.
    assert_eq!(
        bob.eval(DROP_AND_PASTE).await,
        true,
        "the drop and the paste are taken"
    );
    bob.wait_for(&format!("{} === 2", in_state("done"))).await;
    bob.wait_for(FITS).await;
    bob.screenshot("phone-attachments-tray-dark").await;
    for _ in 0..2 {
        bob.click("#upload-tray .upload .upload-remove").await;
    }
    bob.wait_for("document.getElementById('upload-tray').hidden")
        .await;
    axe::set_color_scheme(&bob, "light").await;

    // A photo alone, sent while Alice's connection is down: it shows at once, waits, and goes
    // with its attachment once she is back.
    alice.click("#attach").await;
    alice.choose_files("#attach-input", &[&photo]).await;
    alice.wait_for(&format!("{} === 1", in_state("done"))).await;
    alice.set_offline(true).await;
    alice.click("#message-input").await;
    alice.press_enter(false).await;
    alice
        .wait_for("!!document.querySelector('#message-list .msg.out:not([data-message-id]) .attachment-picture')")
        .await;
    alice.set_offline(false).await;
    alice
        .wait_for_within(
            &format!("document.querySelectorAll('#message-list li[data-message-id]').length === 3 && {NEWEST}.classList.contains('out')"),
            RECONNECT_WAIT,
        )
        .await;
    for page in [&alice, &bob] {
        page.wait_for(&format!(
            "document.querySelectorAll('#message-list li[data-message-id]').length === 3 \
             && !!{NEWEST}.querySelector('.bubble.no-caption .attachment-picture')"
        ))
        .await;
        let alone = shown(page).await;
        assert_eq!(alone["body"], Value::Null, "{}: {alone}", page.name);
        assert_eq!(alone["card"], Value::Null, "{}: {alone}", page.name);
        assert_eq!(alone["picture"]["alt"], "whiteboard.png");
    }
    // Each list says what it is.
    alice
        .wait_for("document.querySelector('#conversations li[data-username=bob] .row-preview').textContent.endsWith('📷 Photo')")
        .await;
    bob.wait_for("document.querySelector('#conversations li[data-username=alice] .row-preview').textContent === '📷 Photo'")
        .await;
    alice
        .eval("document.getElementById('messages').scrollTop = 1e9")
        .await;
    alice.wait_for(FITS).await;
    axe::check(&alice, "a chat with pictures and a file card").await;
    alice.screenshot("desktop-attachments").await;

    bob.assert_clean();
    // Alice's browser rightly logs the refused uploads and the connection that went down.
    alice.assert_no_uncaught();
}
