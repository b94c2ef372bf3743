//! The server restarts while two chats are open: the pages notice, reconnect by themselves on
//! the same address, and catch up from their cursor — a message stored while they were away
//! arrives, a message typed while the server was down is sent once, and live chat goes on.

use std::time::Duration;

use crate::cdp::Browser;
use crate::chat::{IDS_UNIQUE_AND_ORDERED, shown_ids};
use crate::page::{Page, Screen};
use crate::support::{ApiUser, TestServer, count_text, log_in_on_page, send_on_page};

/// Reconnecting follows a backoff; allow for a few rounds of it.
const RECONNECT_WAIT: Duration = Duration::from_secs(20);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_reconnect_and_catch_up_after_a_server_restart() {
    let mut server = TestServer::start().await;
    let gina = ApiUser::signup(&server.url, "gina", "Gina").await;
    ApiUser::signup(&server.url, "hugo", "Hugo").await;
    gina.send("hugo", "first", "Before the restart").await;

    let browser = Browser::launch().await;
    let gina_page = Page::open(&browser, "gina", Screen::Desktop).await;
    let hugo_page = Page::open(&browser, "hugo", Screen::Phone).await;
    log_in_on_page(&gina_page, &server, "gina", "/messages/chat/hugo/").await;
    log_in_on_page(&hugo_page, &server, "hugo", "/messages/chat/gina/").await;
    for page in [&gina_page, &hugo_page] {
        page.wait_for(&format!("{} === 1", count_text("Before the restart")))
            .await;
    }

    for page in [&gina_page, &hugo_page] {
        page.wait_for("document.getElementById('peer-status').textContent === 'online'")
            .await;
    }

    server.stop().await;
    for page in [&gina_page, &hugo_page] {
        page.wait_for("document.documentElement.dataset.connection !== 'open'")
            .await;
        page.wait_for("!document.getElementById('connection').hidden")
            .await;
        // Whether the other is online is unknown while disconnected.
        page.wait_for("document.getElementById('peer-status').textContent === ''")
            .await;
    }
    // Gina writes while the server is down: shown at once, waiting for its ack.
    send_on_page(&gina_page, "Typed while the server was down").await;
    gina_page
        .wait_for("[...document.querySelectorAll('#message-list .msg')].at(-1).dataset.status === 'pending'")
        .await;
    gina_page.screenshot("desktop-chat-offline").await;
    // Hugo sends from another device to a server on the same data: the pages are not there.
    server
        .while_down(|url| async move {
            let hugo = ApiUser::login(&url, "hugo").await;
            hugo.send("gina", "while-down", "Sent during the downtime")
                .await;
        })
        .await;
    server.start_again().await;

    for page in [&gina_page, &hugo_page] {
        page.wait_for_within(
            "document.documentElement.dataset.connection === 'open'",
            RECONNECT_WAIT,
        )
        .await;
        page.wait_for("document.getElementById('connection').hidden")
            .await;
        for text in [
            "Sent during the downtime",
            "Typed while the server was down",
        ] {
            page.wait_for(&format!("{} === 1", count_text(text))).await;
        }
        page.wait_for("document.querySelectorAll('#message-list [data-message-id]').length === 3")
            .await;
        page.wait_for(
            "document.querySelectorAll('#message-list .msg:not([data-message-id])').length === 0",
        )
        .await;
        page.wait_for(IDS_UNIQUE_AND_ORDERED).await;
    }
    for page in [&gina_page, &hugo_page] {
        page.wait_for("document.getElementById('peer-status').textContent === 'online'")
            .await;
    }
    // Both are looking, so both see their messages read.
    gina_page
        .wait_for("[...document.querySelectorAll('#message-list .msg.out')].at(-1).dataset.status === 'read'")
        .await;

    // And the conversation goes on live.
    send_on_page(&hugo_page, "Back online").await;
    for page in [&gina_page, &hugo_page] {
        page.wait_for(&format!("{} === 1", count_text("Back online")))
            .await;
        page.wait_for("document.querySelectorAll('#message-list [data-message-id]').length === 4")
            .await;
    }
    let stored = gina.get("/api/conversations/hugo/messages?limit=10").await;
    let stored: Vec<i64> = stored["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .map(|m| m["id"].as_i64().expect("id"))
        .collect();
    assert_eq!(stored.len(), 4, "one message each, nothing doubled");
    assert_eq!(shown_ids(&gina_page).await, stored);
    assert_eq!(shown_ids(&hugo_page).await, stored);
    for page in [&gina_page, &hugo_page] {
        // The browser logs the refused connections while the server was down; nothing else.
        page.assert_no_uncaught();
    }
}
