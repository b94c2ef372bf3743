//! The group panel: the owner adds someone with the picker, makes a member admin, renames the
//! group and removes someone, and each change shows on the others' open pages (the removed
//! person's page says so and closes its composer); an admin sees only what admins may do;
//! leaving asks first. The panel is a dialog: it traps the keyboard and closes on Escape.

use crate::axe;
use crate::cdp::Browser;
use crate::groups::pick;
use crate::page::{Page, Screen};
use crate::support::{ApiUser, TestServer, log_in_on_page};

/// A JavaScript expression: the text of the last system line shown.
const LAST_SYSTEM: &str =
    "[...document.querySelectorAll('#message-list .system-text')].at(-1)?.textContent";

/// The CSS selector of the panel's row for `username`.
fn member(username: &str) -> String {
    format!("#panel-members li[data-username={username}]")
}

async fn wait_last_system(page: &Page, text: &str) {
    page.wait_for(&format!("{LAST_SYSTEM} === {text:?}")).await;
}

async fn open_panel(page: &Page) {
    page.click("#group-info-button").await;
    page.wait_for("document.getElementById('group-panel').open && document.querySelectorAll('#panel-members li').length > 0")
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_owner_manages_members_and_the_removed_page_says_so() {
    let server = TestServer::start().await;
    let olga = ApiUser::signup(&server.url, "olga", "Olga Berg").await;
    ApiUser::signup(&server.url, "pete", "Pete Lund").await;
    ApiUser::signup(&server.url, "quinn", "Quinn Ade").await;
    ApiUser::signup(&server.url, "rita", "Rita Moss").await;
    let group = olga
        .create_group("book-1", "Book club", &["pete", "quinn"])
        .await;
    let id = group["id"].as_i64().expect("group id");
    let path = format!("/messages/groups/{id}/");

    let browser = Browser::launch().await;
    let olga_page = Page::open(&browser, "olga", Screen::Desktop).await;
    let pete_page = Page::open(&browser, "pete", Screen::Desktop).await;
    let quinn_page = Page::open(&browser, "quinn", Screen::Phone).await;
    for (page, name) in [
        (&olga_page, "olga"),
        (&pete_page, "pete"),
        (&quinn_page, "quinn"),
    ] {
        log_in_on_page(page, &server, name, &path).await;
    }

    // The panel opens from the header as a dialog: the owner first, with her role.
    open_panel(&olga_page).await;
    olga_page
        .wait_for(&format!(
            "document.querySelector('{} .role-tag')?.textContent === 'Owner'",
            member("olga")
        ))
        .await;
    olga_page
        .wait_for("document.getElementById('panel-members-title').textContent === '3 members'")
        .await;
    axe::check(&olga_page, "the group panel, as its owner").await;
    // Tab stays inside the dialog.
    for _ in 0..40 {
        olga_page.press_tab(false).await;
    }
    assert_eq!(
        olga_page
            .eval("document.getElementById('group-panel').contains(document.activeElement)")
            .await,
        true,
        "the keyboard stays in the panel"
    );

    // She adds Rita with the picker.
    pick(&olga_page, "#panel-add-picker", "ri", "rita").await;
    olga_page.click("#panel-add-button").await;
    olga_page
        .wait_for(&format!("!!document.querySelector('{}')", member("rita")))
        .await;
    olga_page
        .wait_for("document.getElementById('panel-members-title').textContent === '4 members'")
        .await;
    wait_last_system(&olga_page, "You added Rita Moss").await;
    wait_last_system(&pete_page, "Olga Berg added Rita Moss").await;

    // She makes Pete an admin: his page says so.
    olga_page
        .click(&format!("{} button[data-action=admin]", member("pete")))
        .await;
    olga_page
        .wait_for(&format!(
            "document.querySelector('{}').dataset.role === 'admin'",
            member("pete")
        ))
        .await;
    olga_page
        .wait_for(&format!(
            "!!document.querySelector('{} button[data-action=member]')",
            member("pete")
        ))
        .await;
    wait_last_system(&pete_page, "Olga Berg made you an admin").await;

    // She renames the group: the others' headers and tab titles follow.
    // Focused first: a live repaint of the panel (the role change above) keeps a field being
    // edited as it is, but refills one that is not.
    olga_page.click("#panel-title").await;
    olga_page
        .eval("document.getElementById('panel-title').value = ''")
        .await;
    olga_page.type_into("#panel-title", "Reading circle").await;
    olga_page.click("#panel-title-save").await;
    for page in [&olga_page, &pete_page, &quinn_page] {
        page.wait_for("document.getElementById('group-name').textContent === 'Reading circle'")
            .await;
        page.wait_for("document.title === 'Reading circle · LinkUp'")
            .await;
    }
    wait_last_system(
        &pete_page,
        "Olga Berg renamed the group to “Reading circle”",
    )
    .await;

    // She removes Quinn: Quinn's open page says she was removed, and she cannot write.
    olga_page
        .click(&format!("{} button[data-action=remove]", member("quinn")))
        .await;
    olga_page
        .wait_for(&format!("!document.querySelector('{}')", member("quinn")))
        .await;
    quinn_page
        .wait_for("!document.getElementById('group-notice').hidden && document.getElementById('group-notice').textContent === 'You were removed from this group by Olga Berg. You are no longer a member.'")
        .await;
    quinn_page
        .wait_for("document.getElementById('message-input').disabled && document.getElementById('send').disabled")
        .await;
    wait_last_system(&quinn_page, "Olga Berg removed you").await;
    axe::check(&quinn_page, "a group chat after being removed").await;
    // Reloaded, her page still knows.
    quinn_page.goto(&server.page_url(&path)).await;
    quinn_page
        .wait_for("document.getElementById('group-notice').textContent.startsWith('You were removed from this group by Olga Berg')")
        .await;
    quinn_page
        .wait_for("document.getElementById('message-input').disabled")
        .await;

    // Escape closes the panel and gives the keyboard back to the button that opened it.
    olga_page.press_escape().await;
    olga_page
        .wait_for("!document.getElementById('group-panel').open && document.activeElement.id === 'group-info-button'")
        .await;

    // Pete, an admin but not the owner: he may make Rita admin or remove her, but nobody
    // may touch the owner, and no one's admin role is his to take away.
    open_panel(&pete_page).await;
    pete_page
        .wait_for(&format!(
            "document.querySelectorAll('{} button').length === 2",
            member("rita")
        ))
        .await;
    assert_eq!(
        pete_page
            .eval(&format!(
                "document.querySelectorAll('{} button').length",
                member("olga")
            ))
            .await,
        0,
        "nobody removes the owner"
    );
    axe::check(&pete_page, "the group panel, as an admin").await;
    // He leaves, after saying yes.
    pete_page.click("#leave-group").await;
    pete_page
        .wait_for("!document.getElementById('leave-confirm-box').hidden && document.activeElement.id === 'leave-cancel'")
        .await;
    pete_page.click("#leave-confirm").await;
    pete_page
        .wait_for("!document.getElementById('group-panel').open")
        .await;
    pete_page
        .wait_for("document.getElementById('group-notice').textContent === 'You left this group. You are no longer a member.'")
        .await;
    wait_last_system(&olga_page, "Pete Lund left").await;
    for page in [&olga_page, &pete_page] {
        page.assert_clean();
    }
}
