//! The group pages and dialogs on a phone and a desktop, in light and dark: the list with a
//! group (unread) and a past group, the group chat (sender names, system lines, ticks, a long
//! unbroken word), the group panel, "Message info" and "New group". Each fits the screen, axe
//! finds nothing serious or critical, and each is saved in `target/screenshots/`.

use crate::cdp::Browser;
use crate::groups::row;
use crate::page::{Page, Screen};
use crate::screens::look;
use crate::support::{ApiUser, TestServer, log_in_on_page, wait_loaded, wait_stored_shown};

/// Ines is in "Design review" with Jon, Kim and Léa, who wrote things she hasn't read; she
/// left "Old project". Returns the two groups' ids.
async fn scene(server: &TestServer) -> (i64, i64) {
    let ines = ApiUser::signup(&server.url, "ines", "Ines Duarte").await;
    let jon = ApiUser::signup(&server.url, "jon", "Jon Park").await;
    let kim = ApiUser::signup(&server.url, "kim", "Kim Oyelaran").await;
    let lea = ApiUser::signup(&server.url, "lea", "Léa Fournier").await;
    ApiUser::signup(&server.url, "max", "Max Weber").await;
    let old = jon
        .create_group("old", "Old project", &["ines", "kim"])
        .await["id"]
        .as_i64()
        .unwrap();
    jon.send_group(old, "o1", "Archiving this one, thanks all")
        .await;
    ines.leave_group(old).await;

    let id = ines
        .create_group("design", "Design review", &["jon", "kim"])
        .await["id"]
        .as_i64()
        .unwrap();
    let talk: [(&ApiUser, &str); 4] = [
        (
            &jon,
            "Mock-ups for the new onboarding are in the shared folder",
        ),
        (&ines, "Great, I'll go through them after lunch"),
        (
            &kim,
            "The contrast on the secondary buttons looks low to me, can we check it against AA?",
        ),
        (
            &jon,
            "Good catch. Updated: https://example.com/design/onboarding-v2",
        ),
    ];
    let mut last = 0;
    for (i, (from, text)) in talk.iter().enumerate() {
        last = from.send_group(id, &format!("d{i}"), text).await["id"]
            .as_i64()
            .unwrap();
    }
    for reader in [&ines, &jon, &kim] {
        reader.read_group_up_to(id, last).await;
    }
    ines.add_members(id, &["lea"]).await;
    let trace = format!("Build log: {}", "a1b2".repeat(40));
    lea.send_group(id, "l1", "Hi all, thanks for adding me!")
        .await;
    lea.send_group(id, "l2", &trace).await;
    (id, old)
}

/// Looks at the list, the group chat, its panel, a message's info and the New group dialog.
/// `stored`: how many messages the group chat shows.
async fn look_at_groups(
    page: &Page,
    server: &TestServer,
    screen: &str,
    (id, old): (i64, i64),
    stored: usize,
) {
    page.goto(&server.page_url("/messages/")).await;
    wait_loaded(page, "/messages/").await;
    page.wait_for(&format!(
        "document.querySelector(\"{} .badge\")?.textContent === '2' && \
         !!document.querySelector(\"{} .row-tag\")",
        row(id),
        row(old)
    ))
    .await;
    look(page, &format!("{screen}-group-list")).await;

    page.click("#new-group").await;
    page.type_into("#new-group-title", "Offsite planning").await;
    crate::groups::pick(page, "#new-group-picker", "k", "kim").await;
    page.type_into("#new-group-search", "j").await;
    page.wait_for(
        "!!document.querySelector('#new-group-picker [data-picker-results] li[data-username=jon]')",
    )
    .await;
    look(page, &format!("{screen}-group-new")).await;
    page.press_escape().await;

    let path = format!("/messages/groups/{id}/");
    page.goto(&server.page_url(&path)).await;
    wait_loaded(page, &path).await;
    wait_stored_shown(page, stored).await;
    page.wait_for(
        "document.querySelector('#message-list .msg.in.first .sender')?.textContent === 'Jon Park'",
    )
    .await;
    look(page, &format!("{screen}-group-chat")).await;

    page.click("#group-info-button").await;
    page.wait_for("document.querySelectorAll('#panel-members li').length === 4")
        .await;
    look(page, &format!("{screen}-group-panel")).await;
    page.press_escape().await;

    page.click("#message-list .msg.out[data-message-id] .info-button")
        .await;
    page.wait_for("document.querySelectorAll('#info-read li.info-person').length === 2")
        .await;
    look(page, &format!("{screen}-group-info")).await;
    page.press_escape().await;

    let past = format!("/messages/groups/{old}/");
    page.goto(&server.page_url(&past)).await;
    wait_loaded(page, &past).await;
    page.wait_for("document.getElementById('group-notice').textContent === 'You left this group. You are no longer a member.'")
        .await;
    look(page, &format!("{screen}-group-past")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn group_pages_fit_phone_and_desktop_screens() {
    let server = TestServer::start().await;
    let groups = scene(&server).await;
    let browser = Browser::launch().await;

    let phone = Page::open(&browser, "ines-phone", Screen::Phone).await;
    log_in_on_page(&phone, &server, "ines", "/messages/").await;
    look_at_groups(&phone, &server, "phone", groups, 8).await;
    phone.assert_clean();

    // Léa writes twice more, so the desktop list has something unread too.
    let lea = ApiUser::login(&server.url, "lea").await;
    lea.send_group(groups.0, "l3", "Also: the icons need alt text")
        .await;
    lea.send_group(groups.0, "l4", "I'll open an issue").await;

    let desktop = Page::open(&browser, "ines-desktop", Screen::Desktop).await;
    log_in_on_page(&desktop, &server, "ines", "/messages/").await;
    look_at_groups(&desktop, &server, "desktop", groups, 10).await;
    desktop.assert_clean();

    // A group no one let her into is the HTML 404, as an id no group has.
    let other = ApiUser::login(&server.url, "jon")
        .await
        .create_group("private", "Jon and Kim", &["kim"])
        .await["id"]
        .as_i64()
        .unwrap();
    desktop
        .goto(&server.page_url(&format!("/messages/groups/{other}/")))
        .await;
    desktop
        .wait_for("document.querySelector('h1')?.textContent === 'Page not found'")
        .await;
}
