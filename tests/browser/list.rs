//! The conversation list and the open chat render from one model keyed by conversation id: a
//! brand-new chat shows up in the list, with its unread badge, while another chat is open, and
//! then opens with its history; a chat opened before its first message learns its conversation
//! from that message, and its row agrees with it (current, nothing unread).

use crate::cdp::Browser;
use crate::page::{Page, Screen};
use crate::support::{
    ApiUser, TestServer, count_text, log_in_on_page, wait_live, wait_loaded, wait_text_shown,
};

/// The CSS selector of the list's row for conversation `id`.
fn row_selector(id: i64) -> String {
    format!("#conversations li[data-conversation-id='{id}']")
}

/// A JavaScript expression: the list's row for conversation `id`.
fn row(id: i64) -> String {
    format!("document.querySelector({:?})", row_selector(id))
}

/// A JavaScript expression: whether the newest message with `with` reads `read` for the page's
/// person, as the server has it.
fn newest_read(with: &str) -> String {
    format!(
        "fetch('/api/conversations/{with}/messages?limit=1').then(r => r.json())\
         .then(p => p.messages.at(-1)?.status === 'read')"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_chat_appears_in_the_list_and_opens_with_its_history() {
    let server = TestServer::start().await;
    let ann = ApiUser::signup(&server.url, "ann", "Ann Lee").await;
    let cat = ApiUser::signup(&server.url, "cat", "Cat Ray").await;
    let dan = ApiUser::signup(&server.url, "dan", "Dan Wu").await;
    ApiUser::signup(&server.url, "ben", "Ben Ode").await;
    ann.send("ben", "a1", "Hello from Ann").await;

    let browser = Browser::launch().await;
    let ben = Page::open(&browser, "ben", Screen::Desktop).await;
    log_in_on_page(&ben, &server, "ben", "/messages/chat/ann/").await;
    wait_text_shown(&ben, "Hello from Ann", 1).await;
    ben.wait_for("document.title === 'Ann Lee · LinkUp'").await;

    // Cat writes to Ben for the first time: a conversation the page has never heard of. It is
    // listed under its id, unread, counted in the title, and not shown in Ann's chat.
    let first = cat.send("ben", "c1", "Hi Ben, it's Cat").await;
    let cat_id = first["conversation_id"].as_i64().expect("conversation_id");
    let cat_row = row(cat_id);
    ben.wait_for(&format!("{cat_row}?.dataset.username === 'cat'"))
        .await;
    ben.wait_for(&format!(
        "{cat_row}.querySelector('.badge').textContent === '1'"
    ))
    .await;
    ben.wait_for(&format!("!{cat_row}.querySelector('.badge').hidden"))
        .await;
    ben.wait_for(&format!(
        "{cat_row}.querySelector('.row-preview').textContent === \"Hi Ben, it's Cat\""
    ))
    .await;
    ben.wait_for(&format!(
        "{cat_row}.querySelector('.row-name').textContent === 'Cat Ray'"
    ))
    .await;
    ben.wait_for("document.title === '(1) Ann Lee · LinkUp'")
        .await;
    assert_eq!(ben.eval(&count_text("Hi Ben, it's Cat")).await, 0);

    // Ben opens it: its history is there, it gets read, the badge and the count go away.
    ben.click(&format!("{} a", row_selector(cat_id))).await;
    wait_loaded(&ben, "/messages/chat/cat/").await;
    wait_live(&ben).await;
    wait_text_shown(&ben, "Hi Ben, it's Cat", 1).await;
    ben.wait_for(&newest_read("cat")).await;
    ben.wait_for(&format!("{cat_row}.querySelector('.badge').hidden"))
        .await;
    ben.wait_for(&format!(
        "{cat_row}.querySelector('a').getAttribute('aria-current') === 'page'"
    ))
    .await;
    ben.wait_for("document.title === 'Cat Ray · LinkUp'").await;

    // A chat with Dan, opened before it has a message: no conversation yet. Dan's first
    // message makes one, shown in the open chat and read there, so its row is current and
    // has no badge.
    ben.goto(&server.page_url("/messages/chat/dan/")).await;
    wait_loaded(&ben, "/messages/chat/dan/").await;
    wait_live(&ben).await;
    ben.wait_for("document.getElementById('history-status').textContent.includes('Say hello')")
        .await;
    let hello = dan.send("ben", "d1", "Dan here").await;
    let dan_row = row(hello["conversation_id"].as_i64().expect("conversation_id"));
    wait_text_shown(&ben, "Dan here", 1).await;
    ben.wait_for(&newest_read("dan")).await;
    ben.wait_for(&format!("{dan_row}?.dataset.username === 'dan'"))
        .await;
    ben.wait_for(&format!(
        "{dan_row}.querySelector('a').getAttribute('aria-current') === 'page'"
    ))
    .await;
    ben.wait_for(&format!(
        "{dan_row}.querySelector('.badge').hidden && {dan_row}.dataset.unread === '0'"
    ))
    .await;
    ben.wait_for("document.title === 'Dan Wu · LinkUp'").await;
    ben.wait_for(
        "document.getElementById('history-status').textContent.startsWith('This is the start')",
    )
    .await;
    ben.assert_clean();
}
