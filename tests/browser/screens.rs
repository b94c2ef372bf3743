//! The pages on a phone screen and a desktop: nothing scrolls sideways, long text wraps; and
//! the screenshots for the README (conversation list and chat, desktop and phone, light and
//! dark).

use crate::cdp::Browser;
use crate::page::{Page, Screen};
use crate::support::{
    ApiUser, TestServer, log_in_on_page, wait_conversations_shown, wait_loaded, wait_stored_shown,
};

/// A JavaScript expression: the page does not scroll sideways.
const FITS: &str = "document.documentElement.scrollWidth <= window.innerWidth && \
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_fit_phone_and_desktop_screens() {
    let server = TestServer::start().await;
    scene(&server).await;
    let browser = Browser::launch().await;

    let phone = Page::open(&browser, "ines-phone", Screen::Phone).await;
    for path in ["/login", "/signup"] {
        phone.goto(&server.page_url(path)).await;
        phone.wait_for(FITS).await;
        phone
            .screenshot(&format!("phone{}", path.replace('/', "-")))
            .await;
    }
    log_in_on_page(&phone, &server, "ines", "/messages/").await;
    wait_conversations_shown(&phone, 3).await;
    phone.wait_for("document.querySelector('#conversations li[data-username=kim] .badge').textContent === '3'")
        .await;
    phone.wait_for("document.title === '(3) LinkUp'").await;
    phone.wait_for(FITS).await;
    phone.screenshot("phone-conversations").await;

    phone.click("#conversations li[data-username=kim] a").await;
    wait_loaded(&phone, "/messages/chat/kim/").await;
    wait_stored_shown(&phone, 3).await;
    phone.wait_for(FITS).await;
    let bubble_fits = phone
        .eval("[...document.querySelectorAll('.bubble')].every(b => b.getBoundingClientRect().right <= window.innerWidth)")
        .await;
    assert_eq!(bubble_fits, true, "every bubble is within the screen");
    phone.goto(&server.page_url("/messages/chat/jon/")).await;
    wait_stored_shown(&phone, 7).await;
    phone.wait_for(FITS).await;
    phone
        .wait_for("getComputedStyle(document.querySelector('.sidebar')).display === 'none'")
        .await;
    phone.screenshot("phone-chat").await;
    phone.assert_clean();

    let desktop = Page::open(&browser, "ines-desktop", Screen::Desktop).await;
    log_in_on_page(&desktop, &server, "ines", "/messages/").await;
    wait_conversations_shown(&desktop, 3).await;
    desktop.wait_for(FITS).await;
    desktop.screenshot("desktop-conversations").await;
    desktop
        .click("#conversations li[data-username=jon] a")
        .await;
    wait_loaded(&desktop, "/messages/chat/jon/").await;
    wait_stored_shown(&desktop, 7).await;
    wait_conversations_shown(&desktop, 3).await;
    desktop.wait_for(FITS).await;
    desktop.screenshot("desktop-chat").await;
    desktop
        .call(
            "Emulation.setEmulatedMedia",
            serde_json::json!({"features": [{"name": "prefers-color-scheme", "value": "dark"}]}),
        )
        .await;
    desktop.screenshot("desktop-chat-dark").await;
    desktop.assert_clean();
}
