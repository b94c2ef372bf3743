//! Scrolling up loads older messages page by page, paged by real ids only, with no duplicate.

use crate::cdp::Browser;
use crate::page::{Page, Screen};
use crate::support::{
    ApiUser, IDS_UNIQUE_AND_ORDERED, TestServer, log_in_on_page, send_on_page, shown_ids,
};

const SEEDED: usize = 130;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scrolling_up_loads_all_older_messages_once() {
    let server = TestServer::start().await;
    let erin = ApiUser::signup(&server.url, "erin", "Erin").await;
    let frank = ApiUser::signup(&server.url, "frank", "Frank").await;
    for i in 0..SEEDED {
        let (from, to) = if i % 3 == 0 {
            (&frank, "erin")
        } else {
            (&erin, "frank")
        };
        from.send(to, &format!("seed-{i}"), &format!("message number {i}"))
            .await;
    }

    let browser = Browser::launch().await;
    let page = Page::open(&browser, "frank", Screen::Desktop).await;
    log_in_on_page(&page, &server, "frank", "/messages/chat/erin/").await;
    page.wait_for("document.querySelectorAll('[data-message-id]').length >= 50")
        .await;
    // A send before scrolling: its pending bubble must never become a paging cursor.
    send_on_page(&page, "one more").await;
    page.wait_for("document.querySelectorAll('[data-message-id]').length >= 51")
        .await;

    for _ in 0..20 {
        let shown = page
            .eval("document.querySelectorAll('[data-message-id]').length")
            .await;
        if shown.as_u64() == Some(SEEDED as u64 + 1) {
            break;
        }
        page.eval("document.getElementById('messages').scrollTop = 0")
            .await;
        page.wait_for(&format!(
            "document.querySelectorAll('[data-message-id]').length > {shown} || \
             document.getElementById('history-status').textContent.startsWith('This is the start')"
        ))
        .await;
    }
    page.wait_for(
        "document.getElementById('history-status').textContent.startsWith('This is the start')",
    )
    .await;
    let ids = shown_ids(&page).await;
    assert_eq!(ids.len(), SEEDED + 1, "every message once");
    page.wait_for(IDS_UNIQUE_AND_ORDERED).await;
    assert_eq!(
        page.eval("document.querySelector('#message-list .msg .body').textContent")
            .await,
        "message number 0"
    );

    // Every page request named a real message id as its cursor.
    let requests = page.requests();
    let cursors: Vec<&str> = requests
        .iter()
        .filter_map(|u| u.split("before_id=").nth(1))
        .map(|rest| rest.split('&').next().unwrap_or(""))
        .collect();
    assert!(cursors.len() >= 2, "older pages were loaded: {requests:?}");
    for cursor in &cursors {
        let id: i64 = cursor
            .parse()
            .unwrap_or_else(|_| panic!("before_id={cursor} is not an id"));
        assert!(ids.contains(&id), "before_id={id} is a shown message");
    }
    page.assert_clean();
}

/// Day separators, by the page's own message list module: one before each day's first
/// message, labelled in the reader's words; a message upserted twice is shown once.
const DAYS: &str = r#"(async () => {
  const base = document.querySelector('script[type=module]').src;
  const { MessageList } = await import(new URL('./messages.js', base));
  const list = document.createElement('ol');
  const view = new MessageList({ list, me: 'frank' });
  const noon = new Date();
  noon.setHours(12, 0, 0, 0);
  const at = (days) => new Date(noon.getTime() - days * 86400000).toISOString();
  const message = (id, created_at, sender) => ({ id, seq: id, conversation_id: 1, sender,
    recipient: sender === 'frank' ? 'erin' : 'frank', client_id: `c${id}`, body: `b${id}`,
    created_at, status: 'sent', edited_at: null, deleted: false });
  view.upsert(message(3, new Date().toISOString(), 'erin'));
  view.upsert(message(1, at(10), 'frank'));
  view.upsert(message(2, at(1), 'erin'));
  view.upsert(message(2, at(1), 'erin'));
  view.relayout();
  return [...list.children].map((li) => li.classList.contains('day') ? `day ${li.textContent}` : li.dataset.messageId);
})()"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn days_are_separated_and_named_in_the_readers_words() {
    let server = TestServer::start().await;
    ApiUser::signup(&server.url, "erin", "Erin").await;
    ApiUser::signup(&server.url, "frank", "Frank").await;
    let browser = Browser::launch().await;
    let page = Page::open(&browser, "frank", Screen::Phone).await;
    log_in_on_page(&page, &server, "frank", "/messages/chat/erin/").await;
    let shown = page.eval(DAYS).await;
    let shown: Vec<String> = serde_json::from_value(shown).expect("strings");
    assert_eq!(shown.len(), 6, "{shown:?}");
    // Ten days ago is named by its date, e.g. "Nov 15, 2026".
    assert!(
        shown[0].starts_with("day ") && shown[0].chars().any(|c| c.is_ascii_digit()),
        "{shown:?}"
    );
    assert_eq!(&shown[1..], ["1", "day Yesterday", "2", "day Today", "3"]);
    page.assert_clean();
}
