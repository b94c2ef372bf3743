//! The account page (/account, linked from the chats' header) and reporting a message from its
//! actions menu: at phone and desktop widths, light and dark, by keyboard. Downloading one's
//! data once an hour; deleting the account after a wrong password and a confirm dialog; a
//! report with its reason reaching the operators' list.

use crate::axe;
use crate::cdp::Browser;
use crate::page::{Page, Screen};
use crate::screens::FITS;
use crate::support::{ApiUser, PASSWORD, TestServer, log_in_on_page, wait_loaded};

/// Checks the page as it is now at this width: it fits, axe finds nothing, and screenshots in
/// light and dark.
async fn look(page: &Page, name: &str) {
    page.wait_for(FITS).await;
    axe::check(page, name).await;
    page.screenshot(name).await;
    axe::set_color_scheme(page, "dark").await;
    page.screenshot(&format!("{name}-dark")).await;
    axe::set_color_scheme(page, "light").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_account_page_downloads_data_and_deletes_the_account_by_keyboard() {
    let server = TestServer::start().await;
    let alice = ApiUser::signup(&server.url, "alice", "Alice Martin").await;
    let bob = ApiUser::signup(&server.url, "bob", "Bob Chen").await;
    bob.send("alice", "b1", "Hi Alice").await;
    alice.send("bob", "a1", "Hi Bob").await;

    let browser = Browser::launch().await;
    let page = Page::open(&browser, "alice", Screen::Desktop).await;
    log_in_on_page(&page, &server, "alice", "/messages/").await;
    page.screenshot("desktop-chats-account-link").await;
    page.click("#account-link").await;
    wait_loaded(&page, "/account").await;
    look(&page, "desktop-account").await;
    page.eval("document.getElementById('delete-account-form').scrollIntoView()")
        .await;
    page.screenshot("desktop-account-delete-section").await;
    page.resize(Screen::Phone).await;
    look(&page, "phone-account").await;

    // The new passwords must match before anything is sent.
    page.type_into("#current-password", PASSWORD).await;
    page.type_into("#new-password", "a-new-password-1").await;
    page.type_into("#confirm-password", "a-new-password-2")
        .await;
    page.press_enter(false).await;
    page.wait_for("document.activeElement.id === 'confirm-password' && !document.getElementById('password-error').hidden")
        .await;

    // One download an hour.
    page.click("#export").await;
    page.wait_for("document.getElementById('export-done').textContent !== ''")
        .await;
    page.click("#export").await;
    page.wait_for(
        "document.getElementById('export-error').textContent.includes('less than an hour')",
    )
    .await;

    // A wrong password: the dialog asks, the server refuses, nothing is deleted.
    page.type_into("#delete-password", "not-my-password").await;
    page.press_enter(false).await;
    page.wait_for("document.getElementById('delete-account-dialog').open && document.activeElement.id === 'delete-account-cancel'")
        .await;
    axe::check(&page, "phone /account with the delete dialog open").await;
    page.screenshot("phone-account-delete-dialog").await;
    page.press_tab(false).await;
    page.wait_for("document.activeElement.id === 'delete-account-confirm'")
        .await;
    page.press_enter(false).await;
    page.wait_for(
        "document.getElementById('delete-account-error').textContent === 'That password is wrong.'",
    )
    .await;
    page.wait_for("!document.getElementById('delete-account-dialog').open")
        .await;

    // The right one deletes the account and goes to the login page.
    page.eval("document.getElementById('delete-password').value = ''")
        .await;
    page.type_into("#delete-password", PASSWORD).await;
    page.press_enter(false).await;
    page.wait_for("document.activeElement.id === 'delete-account-cancel'")
        .await;
    page.press_tab(false).await;
    page.press_enter(false).await;
    wait_loaded(&page, "/login").await;
    let list = bob.get("/api/conversations").await;
    let with = &list["conversations"][0]["with"];
    assert!(
        with["username"].as_str().unwrap().starts_with("deleted-"),
        "{with}"
    );
    assert_eq!(with["display_name"], "Deleted account");
    page.assert_no_uncaught();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_is_reported_from_its_menu_with_a_reason() {
    let server = TestServer::start().await;
    let _alice = ApiUser::signup(&server.url, "alice", "Alice Martin").await;
    let bob = ApiUser::signup(&server.url, "bob", "Bob Chen").await;
    let spam = bob.send("alice", "b1", "Buy followers now!!!").await["id"]
        .as_i64()
        .unwrap();

    let browser = Browser::launch().await;
    let page = Page::open(&browser, "alice", Screen::Phone).await;
    log_in_on_page(&page, &server, "alice", "/messages/chat/bob/").await;
    let button = format!("#message-list li[data-message-id='{spam}'] .menu-button");
    page.wait_for(&format!("!!document.querySelector(\"{button}\")"))
        .await;
    page.click(&button).await;
    page.wait_for("!document.getElementById('message-menu').hidden")
        .await;
    page.click("#message-menu [data-action=report]").await;
    page.wait_for("document.getElementById('report-dialog').open && document.activeElement.id === 'report-reason'")
        .await;
    assert_eq!(
        page.eval("document.getElementById('report-quote').textContent")
            .await,
        "Buy followers now!!!"
    );
    // No reason: the dialog says so and keeps the focus on the reason.
    page.click("#report-confirm").await;
    page.wait_for("!document.getElementById('report-error').hidden && document.activeElement.id === 'report-reason'")
        .await;
    look(&page, "phone-report-dialog").await;
    page.insert_text("Spam sent to everyone").await;
    page.click("#report-confirm").await;
    page.wait_for("!document.getElementById('report-dialog').open && !document.getElementById('toast').hidden")
        .await;
    let reports = server
        .app()
        .store
        .reports(0, 10)
        .await
        .expect("reports read");
    assert_eq!(reports.len(), 1);
    assert_eq!(reports[0].reporter, "alice");
    assert_eq!(reports[0].reason, "Spam sent to everyone");
    assert_eq!(reports[0].message["body"], "Buy followers now!!!");
    page.assert_no_uncaught();
}
