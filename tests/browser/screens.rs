//! Every page on a phone screen and a desktop, in light and dark: nothing scrolls sideways,
//! long text wraps, axe-core finds no serious or critical violation; and the screenshots (the
//! README's four among them: conversation list and chat, desktop and phone).

use crate::axe;
use crate::cdp::Browser;
use crate::page::{Page, Screen};
use crate::support::{
    ApiUser, TestServer, log_in_on_page, sign_up_on_page, wait_conversations_shown, wait_loaded,
    wait_stored_shown,
};

/// A JavaScript expression: the page does not scroll sideways.
pub const FITS: &str = "document.documentElement.scrollWidth <= window.innerWidth && \
    document.body.scrollWidth <= window.innerWidth";

/// Sets the scene: Ines talks with three colleagues; two of them wrote things she hasn't read.
async fn scene(server: &TestServer) {
    let ines = ApiUser::signup(&server.url, "ines", "Ines Duarte").await;
    let jon = ApiUser::signup(&server.url, "jon", "Jon Park").await;
    let kim = ApiUser::signup(&server.url, "kim", "Kim Oyelaran").await;
    let lea = ApiUser::signup(&server.url, "lea", "Léa Fournier").await;
    lea.send("ines", "l1", "Thanks for the review!").await;
    let last = ines.send("lea", "l2", "Anytime!").await;
    ines.read_up_to("lea", last["id"].as_i64().unwrap()).await;
    let talk: [(bool, &str); 7] = [
        (false, "Morning! Did you see the launch numbers?"),
        (true, "Just now. Sign-ups doubled overnight"),
        (
            false,
            "The retry fix really paid off: zero duplicate messages since Tuesday.",
        ),
        (
            true,
            "Let's write it up for the team. Draft here: https://example.com/notes/launch-review",
        ),
        (false, "On it. Can we sync at 3?"),
        (true, "3 works. I'll book the small room."),
        (false, "Perfect, see you there"),
    ];
    let mut last = 0;
    for (i, (mine, text)) in talk.iter().enumerate() {
        let (from, to) = if *mine {
            (&ines, "jon")
        } else {
            (&jon, "ines")
        };
        last = from.send(to, &format!("t{i}"), text).await["id"]
            .as_i64()
            .unwrap();
    }
    ines.read_up_to("jon", last).await;
    jon.read_up_to("ines", last).await;
    // One unbroken 300-character token: it must wrap, not widen the page.
    let trace = format!("The failing request id was {}", "9f3a".repeat(75));
    kim.send("ines", "k1", "Quick question about the API limits")
        .await;
    kim.send("ines", "k2", &trace).await;
    kim.send("ines", "k3", "Is 4096 characters per message the hard cap?")
        .await;
}

/// Looks at the page as it is now: it fits the screen, axe finds nothing serious or critical
/// in light or dark, and its screenshots are `{name}.png` and `{name}-dark.png`.
pub async fn look(page: &Page, name: &str) {
    page.wait_for(FITS).await;
    axe::check(page, name).await;
    page.screenshot(name).await;
    axe::set_color_scheme(page, "dark").await;
    page.screenshot(&format!("{name}-dark")).await;
    axe::set_color_scheme(page, "light").await;
}

/// Looks at the pages at `paths`, naming the screenshots `{screen}-{path}`.
async fn look_at(page: &Page, server: &TestServer, screen: &str, paths: &[&str]) {
    for path in paths {
        page.goto(&server.page_url(path)).await;
        let name = path.trim_matches('/').replace('/', "-");
        look(page, &format!("{screen}-{name}")).await;
    }
}

/// The 404 pages, looked at last: the browser logs their status as an error.
const NOT_FOUND: [&str; 2] = ["/no-such-page", "/messages/chat/nobody/"];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_fit_phone_and_desktop_screens() {
    let server = TestServer::start().await;
    scene(&server).await;
    let browser = Browser::launch().await;

    let phone = Page::open(&browser, "ines-phone", Screen::Phone).await;
    look_at(&phone, &server, "phone", &["/login", "/signup"]).await;
    // Someone new: no conversations yet. Then they log out, and Ines logs in.
    sign_up_on_page(&phone, &server, "max", "Max Weber").await;
    phone
        .wait_for("!document.getElementById('no-conversations').hidden")
        .await;
    look(&phone, "phone-conversations-empty").await;
    phone.click("#logout").await;
    wait_loaded(&phone, "/login").await;
    log_in_on_page(&phone, &server, "ines", "/messages/").await;
    wait_conversations_shown(&phone, 3).await;
    phone.wait_for("document.querySelector('#conversations li[data-username=kim] .badge').textContent === '3'")
        .await;
    phone.wait_for("document.title === '(3) LinkUp'").await;
    look(&phone, "phone-conversations").await;

    phone.click("#conversations li[data-username=kim] a").await;
    wait_loaded(&phone, "/messages/chat/kim/").await;
    wait_stored_shown(&phone, 3).await;
    let bubble_fits = phone
        .eval("[...document.querySelectorAll('.bubble')].every(b => b.getBoundingClientRect().right <= window.innerWidth)")
        .await;
    assert_eq!(bubble_fits, true, "every bubble is within the screen");
    look(&phone, "phone-chat-long").await;
    phone.goto(&server.page_url("/messages/chat/jon/")).await;
    wait_stored_shown(&phone, 7).await;
    phone
        .wait_for("getComputedStyle(document.querySelector('.sidebar')).display === 'none'")
        .await;
    look(&phone, "phone-chat").await;
    phone.assert_clean();
    look_at(&phone, &server, "phone", &NOT_FOUND).await;

    let desktop = Page::open(&browser, "ines-desktop", Screen::Desktop).await;
    look_at(&desktop, &server, "desktop", &["/login", "/signup"]).await;
    log_in_on_page(&desktop, &server, "ines", "/messages/").await;
    wait_conversations_shown(&desktop, 3).await;
    look(&desktop, "desktop-conversations").await;
    desktop
        .click("#conversations li[data-username=jon] a")
        .await;
    wait_loaded(&desktop, "/messages/chat/jon/").await;
    wait_stored_shown(&desktop, 7).await;
    wait_conversations_shown(&desktop, 3).await;
    look(&desktop, "desktop-chat").await;
    // Her last message to Léa is only sent (Léa has not been online since).
    desktop
        .click("#conversations li[data-username=lea] a")
        .await;
    wait_loaded(&desktop, "/messages/chat/lea/").await;
    wait_stored_shown(&desktop, 2).await;
    look(&desktop, "desktop-chat-sent").await;
    desktop.assert_clean();
    look_at(&desktop, &server, "desktop", &NOT_FOUND).await;
}
