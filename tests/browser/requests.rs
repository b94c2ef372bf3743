//! Blocks and message requests on the pages: requests are listed apart under "Requests", each
//! with Accept, Decline and Block; a chat's header menu blocks and unblocks by keyboard; a send
//! the server refuses says why. On a phone and a desktop, light and dark, with axe-core.

use crate::cdp::Browser;
use crate::page::{Page, Screen};
use crate::screens::look;
use crate::support::{
    ApiUser, TestServer, log_in_on_page, send_on_page, wait_loaded, wait_stored_shown,
};

/// Ines talks with Jon; a recruiter and a stranger wrote to her first.
async fn scene(server: &TestServer) {
    let ines = ApiUser::signup(&server.url, "ines", "Ines Duarte").await;
    let jon = ApiUser::signup(&server.url, "jon", "Jon Park").await;
    let rec = ApiUser::signup(&server.url, "rec", "Rita Recruiter").await;
    let spam = ApiUser::signup(&server.url, "spam", "Sam Sales").await;
    jon.send("ines", "j1", "Lunch tomorrow?").await;
    ines.send("jon", "i1", "Sure!").await;
    rec.send("ines", "r1", "Hi Ines, I have a role you might like.")
        .await;
    rec.send("ines", "r2", "Senior engineer, fully remote.")
        .await;
    spam.send("ines", "s1", "Buy our CRM today!").await;
    // A stranger's group is a request too.
    rec.create_group("g1", "Open roles", &["ines"]).await;
}

/// A JavaScript expression: how many rows the list `id` shows.
fn rows(id: &str) -> String {
    format!("document.querySelectorAll('#{id} > li').length")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_are_listed_apart_with_accept_decline_and_block() {
    let server = TestServer::start_with(|config| config.message_requests = true).await;
    scene(&server).await;
    let browser = Browser::launch().await;

    let phone = Page::open(&browser, "ines-phone", Screen::Phone).await;
    log_in_on_page(&phone, &server, "ines", "/messages/").await;
    phone
        .wait_for(&format!(
            "{} === 3 && {} === 1",
            rows("requests"),
            rows("conversations")
        ))
        .await;
    assert_eq!(
        phone
            .eval("document.getElementById('requests-section').hidden")
            .await,
        false
    );
    look(&phone, "phone-requests").await;

    let desktop = Page::open(&browser, "ines-desktop", Screen::Desktop).await;
    log_in_on_page(&desktop, &server, "ines", "/messages/").await;
    desktop
        .wait_for(&format!("{} === 3", rows("requests")))
        .await;
    look(&desktop, "desktop-requests").await;

    // Accept moves the recruiter to the chats; Decline hides the stranger; both by keyboard.
    desktop
        .eval("document.querySelector('#requests li[data-username=rec] .request-actions .primary').focus()")
        .await;
    desktop.press_enter(false).await;
    desktop
        .wait_for("!!document.querySelector('#conversations li[data-username=rec]')")
        .await;
    desktop
        .click("#requests li[data-username=spam] .request-actions .secondary")
        .await;
    // The rows below a handled request move up when it leaves: click the next one once they have.
    desktop
        .wait_for("!document.querySelector('#requests li[data-username=spam]')")
        .await;
    // The group request: Accept moves it to the chats too.
    desktop
        .click("#requests li[data-kind=group] .request-actions .primary")
        .await;
    desktop
        .wait_for(&format!(
            "{} === 0 && document.getElementById('requests-section').hidden",
            rows("requests")
        ))
        .await;
    assert_eq!(
        desktop
            .eval("!!document.querySelector('#conversations li[data-username=spam]')")
            .await,
        false
    );
    desktop
        .wait_for("!!document.querySelector('#conversations li[data-kind=group]')")
        .await;
    look(&desktop, "desktop-requests-handled").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chat_menu_blocks_and_a_refused_send_says_why() {
    let server = TestServer::start_with(|config| config.message_requests = true).await;
    scene(&server).await;
    let browser = Browser::launch().await;
    let desktop = Page::open(&browser, "ines-desktop", Screen::Desktop).await;
    log_in_on_page(&desktop, &server, "ines", "/messages/chat/jon/").await;
    wait_stored_shown(&desktop, 2).await;

    // Keyboard: focus the menu button, open it, and block.
    desktop
        .eval("document.getElementById('chat-menu-button').focus()")
        .await;
    desktop.press_enter(false).await;
    desktop
        .wait_for("!document.getElementById('chat-menu').hidden && document.activeElement.id === 'block-toggle'")
        .await;
    look(&desktop, "desktop-chat-menu").await;
    desktop.press_enter(false).await;
    desktop
        .wait_for("!document.getElementById('block-notice').hidden && document.getElementById('chat-menu').hidden")
        .await;
    assert_eq!(
        desktop
            .eval("document.getElementById('block-toggle').textContent")
            .await,
        "Unblock Jon Park"
    );
    send_on_page(&desktop, "Are you there?").await;
    desktop
        .wait_for("!document.getElementById('composer-error').hidden && document.getElementById('composer-error').textContent.includes('can’t message')")
        .await;
    look(&desktop, "desktop-chat-blocked").await;

    // Unblock from the same menu; sending works again.
    desktop.click("#chat-menu-button").await;
    desktop.click("#block-toggle").await;
    desktop
        .wait_for("document.getElementById('block-notice').hidden")
        .await;
    send_on_page(&desktop, "Sorry, wrong button").await;
    wait_stored_shown(&desktop, 3).await;

    // The recruiter may not write a fourth message before Ines answers: the page says so.
    let rec = Page::open(&browser, "rec-phone", Screen::Phone).await;
    log_in_on_page(&rec, &server, "rec", "/messages/chat/ines/").await;
    wait_stored_shown(&rec, 2).await;
    send_on_page(&rec, "Third").await;
    wait_stored_shown(&rec, 3).await;
    send_on_page(&rec, "Fourth").await;
    rec.wait_for("document.getElementById('composer-error').textContent.includes('accepted your message request')")
        .await;
    look(&rec, "phone-chat-request-pending").await;
    wait_loaded(&rec, "/messages/chat/ines/").await;
}
