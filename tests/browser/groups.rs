//! Group chats on the pages: Alice makes a group with Bob and Carol from the "New group"
//! dialog; it appears live in their lists with its unread count and the sender's name; all
//! three chat in it (sender names, system lines, typing); Alice's ticks turn blue only once both
//! have read, and her "Message info" shows who read it, live, with names and times.

use crate::axe;
use crate::cdp::Browser;
use crate::page::{Page, Screen};
use crate::support::{ApiUser, TestServer, log_in_on_page, send_on_page, wait_live, wait_loaded};

/// A JavaScript expression: the last message of mine in the open chat.
const LAST_OUT: &str = "[...document.querySelectorAll('#message-list .msg.out')].at(-1)";

/// The colour of read ticks in the light theme (`--tick-read`).
const READ_BLUE: &str = "rgb(2, 114, 166)";

/// Searches `query` in the people picker under `root` and picks `username` from the results.
pub async fn pick(page: &Page, root: &str, query: &str, username: &str) {
    page.type_into(&format!("{root} [data-picker-input]"), query)
        .await;
    let result = format!("{root} [data-picker-results] li[data-username={username}] button");
    page.click(&result).await;
    page.wait_for(&format!(
        "!!document.querySelector('{root} [data-picker-chips] li[data-username={username}]')"
    ))
    .await;
}

/// The CSS selector of the list's row for conversation `id`.
pub fn row(id: i64) -> String {
    format!("#conversations li[data-conversation-id='{id}']")
}

/// Waits until the list's row `id` has `field` (e.g. `.badge`) reading `text`.
async fn wait_row_text(page: &Page, id: i64, field: &str, text: &str) {
    page.wait_for(&format!(
        "document.querySelector(\"{} {field}\")?.textContent === {text:?}",
        row(id)
    ))
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_people_make_a_group_chat_and_see_who_read() {
    let server = TestServer::start().await;
    ApiUser::signup(&server.url, "alice", "Alice Martin").await;
    ApiUser::signup(&server.url, "bob", "Bob Chen").await;
    ApiUser::signup(&server.url, "carol", "Carol Diaz").await;
    let browser = Browser::launch().await;
    let alice = Page::open(&browser, "alice", Screen::Desktop).await;
    let bob = Page::open(&browser, "bob", Screen::Desktop).await;
    let carol = Page::open(&browser, "carol", Screen::Phone).await;
    for (page, name) in [(&alice, "alice"), (&bob, "bob"), (&carol, "carol")] {
        log_in_on_page(page, &server, name, "/messages/").await;
    }

    // Alice makes the group from her list: a name, two people picked by searching.
    alice.click("#new-group").await;
    alice
        .wait_for("document.getElementById('new-group-dialog').open && document.activeElement.id === 'new-group-title'")
        .await;
    alice.type_into("#new-group-title", "Launch crew").await;
    pick(&alice, "#new-group-picker", "bo", "bob").await;
    pick(&alice, "#new-group-picker", "car", "carol").await;
    axe::check(&alice, "the New group dialog with two people picked").await;
    alice.click("#create-group").await;
    alice
        .wait_for("location.pathname.startsWith('/messages/groups/') && document.readyState === 'complete'")
        .await;
    wait_live(&alice).await;
    let id = alice
        .eval("Number(location.pathname.split('/')[3])")
        .await
        .as_i64()
        .expect("the group's id in the URL");
    let path = format!("/messages/groups/{id}/");
    alice
        .wait_for("document.title === 'Launch crew · LinkUp'")
        .await;
    alice
        .wait_for("document.querySelector('#message-list .system-text')?.textContent === 'You created the group “Launch crew” with Bob Chen and Carol Diaz'")
        .await;
    alice
        .wait_for(
            "document.getElementById('peer-status').textContent === 'Bob Chen, Carol Diaz, You'",
        )
        .await;

    // The group appears in the others' lists live, from its `created` message.
    for page in [&bob, &carol] {
        wait_row_text(page, id, ".row-name", "Launch crew").await;
        let with = if page.name == "bob" {
            "you and Carol Diaz"
        } else {
            "Bob Chen and you"
        };
        let preview = format!("Alice Martin created the group “Launch crew” with {with}");
        wait_row_text(page, id, ".row-preview", &preview).await;
    }

    // Alice writes: her message shows at once, then one tick; their lists count it unread,
    // with her name before it, and their pages having it makes it delivered.
    send_on_page(&alice, "Hi both! Kick-off at 10?").await;
    alice
        .wait_for(&format!("!!{LAST_OUT}?.dataset.messageId"))
        .await;
    for page in [&bob, &carol] {
        wait_row_text(page, id, ".badge", "1").await;
        wait_row_text(
            page,
            id,
            ".row-preview",
            "Alice Martin: Hi both! Kick-off at 10?",
        )
        .await;
        page.wait_for("document.title === '(1) LinkUp'").await;
    }
    axe::check(
        &bob,
        "the conversation list with a group and its unread count",
    )
    .await;
    alice
        .wait_for(&format!("{LAST_OUT}.dataset.status === 'delivered'"))
        .await;

    // Bob opens it: Alice's name above her message, the system line, his badge gone. Only he
    // has read it, so Alice's ticks stay grey.
    bob.click(&format!("{} a", row(id))).await;
    wait_loaded(&bob, &path).await;
    wait_live(&bob).await;
    bob.wait_for("document.querySelector('#message-list .msg.in.first .sender')?.textContent === 'Alice Martin'")
        .await;
    bob.wait_for("document.querySelector('#message-list .system-text')?.textContent === 'Alice Martin created the group “Launch crew” with you and Carol Diaz'")
        .await;
    bob.wait_for(&format!(
        "document.querySelector(\"{} .badge\").hidden",
        row(id)
    ))
    .await;

    // Alice's message info: Bob has read it (with a time), Carol has it delivered.
    alice
        .click("#message-list .msg.out[data-message-id] .info-button")
        .await;
    alice
        .wait_for("document.getElementById('info-dialog').open")
        .await;
    alice
        .wait_for("document.querySelector('#info-read li[data-username=bob] .info-name')?.textContent === 'Bob Chen'")
        .await;
    alice
        .wait_for("document.querySelector('#info-read li[data-username=bob] .info-time')?.textContent.startsWith('Today, ')")
        .await;
    alice
        .wait_for("document.querySelector('#info-delivered li[data-username=carol] .info-name')?.textContent === 'Carol Diaz'")
        .await;
    assert_eq!(
        alice.eval(&format!("{LAST_OUT}.dataset.status")).await,
        "delivered",
        "not read by everyone yet"
    );
    axe::check(&alice, "the Message info dialog").await;

    // Carol opens the group on her phone: the open info moves her to "read" by itself, and
    // Alice's ticks turn blue.
    carol.click(&format!("{} a", row(id))).await;
    wait_loaded(&carol, &path).await;
    wait_live(&carol).await;
    alice
        .wait_for("document.querySelector('#info-read li[data-username=carol] .info-name')?.textContent === 'Carol Diaz'")
        .await;
    alice
        .wait_for("document.querySelectorAll('#info-read li.info-person').length === 2 && document.getElementById('info-delivered').closest('section').hidden")
        .await;
    alice.press_escape().await;
    alice
        .wait_for("!document.getElementById('info-dialog').open && document.activeElement.classList.contains('info-button')")
        .await;
    alice
        .wait_for(&format!("{LAST_OUT}.dataset.status === 'read'"))
        .await;
    alice
        .wait_for(&format!(
            "{LAST_OUT}.querySelector('.ticks').getAttribute('aria-label') === 'Read' && \
             getComputedStyle({LAST_OUT}.querySelector('.ticks')).color === {READ_BLUE:?}"
        ))
        .await;

    // Carol types: the others see who; she sends, they see it under her name.
    carol.type_into("#message-input", "10 works").await;
    for page in [&alice, &bob] {
        page.wait_for(
            "document.getElementById('peer-status').textContent === 'Carol Diaz is typing…'",
        )
        .await;
    }
    axe::check(&alice, "a group chat with someone typing").await;
    carol.press_enter(false).await;
    for page in [&alice, &bob] {
        page.wait_for("[...document.querySelectorAll('#message-list .msg.in')].at(-1)?.querySelector('.sender')?.textContent === 'Carol Diaz'")
            .await;
        page.wait_for("[...document.querySelectorAll('#message-list .msg.in .body')].at(-1)?.textContent === '10 works'")
            .await;
        page.wait_for("!document.getElementById('peer-status').classList.contains('typing')")
            .await;
    }
    // Bob replies, Carol reads it on her open page, Alice reads it: blue for Bob too.
    send_on_page(&bob, "See you there").await;
    bob.wait_for(&format!("{LAST_OUT}?.dataset.status === 'read'"))
        .await;
    for page in [&alice, &bob, &carol] {
        page.wait_for(
            "document.querySelectorAll('#message-list .msg:not([data-message-id])').length === 0",
        )
        .await;
        page.assert_clean();
    }
}
