//! Two people sign up on the pages and talk: live messages both ways, ticks from sent to read,
//! typing and online state, the new conversation with its unread badge, Enter and Shift+Enter.

use crate::axe;
use crate::cdp::Browser;
use crate::page::{Page, Screen};
use crate::support::{
    TestServer, send_on_page, shown_ids, sign_up_on_page, wait_live, wait_loaded, wait_peer_status,
    wait_settled, wait_text_shown,
};

/// A JavaScript expression: the last message of mine in the open chat.
const LAST_OUT: &str = "[...document.querySelectorAll('#message-list .msg.out')].at(-1)";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_people_chat_live_with_ticks_typing_and_unread_badges() {
    let server = TestServer::start().await;
    let browser = Browser::launch().await;
    let alice = Page::open(&browser, "alice", Screen::Desktop).await;
    let bob = Page::open(&browser, "bob", Screen::Desktop).await;
    sign_up_on_page(&alice, &server, "alice", "Alice Martin").await;
    sign_up_on_page(&bob, &server, "bob", "Bob Chen").await;
    axe::check(&alice, "the empty conversation list").await;

    // Alice finds Bob by searching and opens the chat from the result.
    alice.type_into("#search", "bo").await;
    alice.click("#people li[data-username=bob] a").await;
    wait_loaded(&alice, "/messages/chat/bob/").await;
    wait_live(&alice).await;
    alice
        .wait_for("document.getElementById('history-status').textContent.includes('Say hello')")
        .await;

    // Her message shows at once, then gets its id and a tick.
    send_on_page(&alice, "Hi Bob! Lunch at noon?").await;
    wait_text_shown(&alice, "Hi Bob! Lunch at noon?", 1).await;
    alice
        .wait_for(&format!("!!{LAST_OUT}.dataset.messageId && ['sent','delivered'].includes({LAST_OUT}.dataset.status)"))
        .await;

    // Bob, on his conversation list, sees the new conversation with an unread badge, and the
    // count in the tab title; his page received it, so Alice sees it delivered.
    bob.wait_for("document.querySelector('#conversations li[data-username=alice] .badge')?.textContent === '1'")
        .await;
    bob.wait_for("document.title === '(1) LinkUp'").await;
    bob.wait_for("document.querySelector('#conversations li[data-username=alice] .row-preview').textContent === 'Hi Bob! Lunch at noon?'")
        .await;
    axe::check(&bob, "the conversation list with an unread badge").await;
    alice
        .wait_for(&format!("{LAST_OUT}.dataset.status === 'delivered'"))
        .await;
    // Now that they share a conversation, Alice sees that Bob is online.
    wait_peer_status(&alice, "online").await;
    alice
        .wait_for(&format!(
            "{LAST_OUT}.querySelector('.ticks').getAttribute('aria-label') === 'Delivered'"
        ))
        .await;

    // Bob opens the chat: he reads it, Alice's ticks turn read, his badge goes away.
    bob.click("#conversations li[data-username=alice] a").await;
    wait_loaded(&bob, "/messages/chat/alice/").await;
    wait_live(&bob).await;
    wait_text_shown(&bob, "Hi Bob! Lunch at noon?", 1).await;
    alice
        .wait_for(&format!("{LAST_OUT}.dataset.status === 'read'"))
        .await;
    alice
        .wait_for(&format!(
            "{LAST_OUT}.querySelector('.ticks').getAttribute('aria-label') === 'Read'"
        ))
        .await;
    bob.wait_for("document.title === 'Alice Martin · LinkUp'")
        .await;
    wait_peer_status(&alice, "online").await;

    // Bob types: Alice sees "typing…"; he sends two lines (Shift+Enter breaks the line).
    bob.type_into("#message-input", "Sure, see you").await;
    wait_peer_status(&alice, "typing…").await;
    axe::check(&alice, "a chat with read ticks, the peer typing").await;
    bob.press_enter(true).await;
    bob.type_into("#message-input", "at the usual place").await;
    bob.press_enter(false).await;
    let two_lines = "Sure, see you\nat the usual place";
    wait_text_shown(&alice, two_lines, 1).await;
    wait_peer_status(&alice, "online").await;
    bob.wait_for(&format!("{LAST_OUT}.dataset.status === 'read'"))
        .await;
    bob.wait_for("document.getElementById('message-input').value === ''")
        .await;

    // A quick exchange: every message appears once, on both sides, in the same order.
    for i in 1..=3 {
        send_on_page(&alice, &format!("ping {i}")).await;
        send_on_page(&bob, &format!("pong {i}")).await;
    }
    for page in [&alice, &bob] {
        wait_settled(page, 8).await;
    }
    assert_eq!(shown_ids(&alice).await, shown_ids(&bob).await);
    for page in [&alice, &bob] {
        page.wait_for(&format!("{LAST_OUT}.dataset.status === 'read'"))
            .await;
    }
    // Nothing is left unread: no badge, no count in the title.
    for (page, other, title) in [
        (&alice, "bob", "Bob Chen · LinkUp"),
        (&bob, "alice", "Alice Martin · LinkUp"),
    ] {
        page.wait_for(&format!(
            "document.querySelector('#conversations li[data-username={other}] .badge').hidden"
        ))
        .await;
        page.wait_for(&format!("document.title === {title:?}"))
            .await;
    }
    alice.screenshot("desktop-chat-live").await;
    bob.assert_clean();

    // Bob leaves: Alice sees when he was last seen.
    bob.goto("about:blank").await;
    alice
        .wait_for(
            "document.getElementById('peer-status').textContent.startsWith('last seen today at ')",
        )
        .await;
    alice.assert_clean();
}
