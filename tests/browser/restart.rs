//! The server restarts while two chats are open: the pages notice, reconnect by themselves on
//! the same address, and catch up from their cursor — a message stored while they were away
//! arrives, a message typed while the server was down is sent once, and live chat goes on; the
//! list agrees with the open chat (nothing unread there) and shows a chat begun meanwhile.

use std::time::Duration;

use crate::cdp::Browser;
use crate::page::{Page, Screen};
use crate::support::{
    ApiUser, TestServer, count_text, log_in_on_page, send_on_page, shown_ids, wait_peer_status,
    wait_settled, wait_stored_shown, wait_text_shown,
};

/// Reconnecting follows a backoff; allow for a few rounds of it.
const RECONNECT_WAIT: Duration = Duration::from_secs(20);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_reconnect_and_catch_up_after_a_server_restart() {
    let mut server = TestServer::start().await;
    let gina = ApiUser::signup(&server.url, "gina", "Gina").await;
    ApiUser::signup(&server.url, "hugo", "Hugo").await;
    ApiUser::signup(&server.url, "ivy", "Ivy").await;
    gina.send("hugo", "first", "Before the restart").await;

    let browser = Browser::launch().await;
    let gina_page = Page::open(&browser, "gina", Screen::Desktop).await;
    let hugo_page = Page::open(&browser, "hugo", Screen::Phone).await;
    log_in_on_page(&gina_page, &server, "gina", "/messages/chat/hugo/").await;
    log_in_on_page(&hugo_page, &server, "hugo", "/messages/chat/gina/").await;
    for page in [&gina_page, &hugo_page] {
        wait_text_shown(page, "Before the restart", 1).await;
    }

    for page in [&gina_page, &hugo_page] {
        wait_peer_status(page, "online").await;
    }

    server.stop().await;
    for page in [&gina_page, &hugo_page] {
        page.wait_for("document.documentElement.dataset.connection !== 'open'")
            .await;
        page.wait_for("!document.getElementById('connection').hidden")
            .await;
        // Whether the other is online is unknown while disconnected.
        wait_peer_status(page, "").await;
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
            // Someone Gina has never talked to writes to her: a new conversation.
            let ivy = ApiUser::login(&url, "ivy").await;
            ivy.send("gina", "ivy-1", "Hi Gina, Ivy here").await;
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
            wait_text_shown(page, text, 1).await;
        }
        wait_settled(page, 3).await;
    }
    for page in [&gina_page, &hugo_page] {
        wait_peer_status(page, "online").await;
    }
    // Both are looking, so both see their messages read.
    gina_page
        .wait_for("[...document.querySelectorAll('#message-list .msg.out')].at(-1).dataset.status === 'read'")
        .await;

    // Gina's list agrees with her open chat: Hugo's conversation has nothing unread; Ivy's,
    // new since the restart, is listed with its badge and counted in the title.
    let hugo_row = "document.querySelector('#conversations li[data-username=hugo]')";
    let ivy_row = "document.querySelector('#conversations li[data-username=ivy]')";
    gina_page
        .wait_for(&format!(
            "{hugo_row}.dataset.unread === '0' && {hugo_row}.querySelector('.badge').hidden"
        ))
        .await;
    gina_page
        .wait_for(&format!(
            "{ivy_row}?.querySelector('.badge').textContent === '1' && !{ivy_row}.querySelector('.badge').hidden"
        ))
        .await;
    gina_page
        .wait_for("document.title === '(1) Hugo · LinkUp'")
        .await;
    assert_eq!(
        gina_page.eval(&count_text("Hi Gina, Ivy here")).await,
        0,
        "Ivy's message is not in Hugo's chat"
    );

    // And the conversation goes on live.
    send_on_page(&hugo_page, "Back online").await;
    for page in [&gina_page, &hugo_page] {
        wait_text_shown(page, "Back online", 1).await;
        wait_stored_shown(page, 4).await;
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
