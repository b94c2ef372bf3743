//! Scrolling up loads older messages page by page, paged by real ids only, with no duplicate.

use crate::cdp::Browser;
use crate::chat::{IDS_UNIQUE_AND_ORDERED, shown_ids};
use crate::page::{Page, Screen};
use crate::support::{ApiUser, TestServer, log_in_on_page, send_on_page};

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
