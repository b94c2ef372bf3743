//! Hostile text stays text; links are clickable but safe; logging in from a deep link lands
//! there; a stale CSRF token is recovered by the fetch wrapper.

use crate::cdp::Browser;
use crate::page::{Page, Screen};
use crate::support::{
    ApiUser, TestServer, log_in_on_page, send_on_page, wait_loaded, wait_stored_shown,
    wait_text_shown,
};

const PAYLOADS: [&str; 4] = [
    "<img src=x onerror=alert(1)>",
    "<script>alert(2)</script>",
    "<a href=\"javascript:alert(3)\">click me</a> javascript:alert(4)",
    "&lt;b&gt;not bold&lt;/b&gt; {{csrf_token}}",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_text_is_shown_as_text_and_links_are_safe() {
    let server = TestServer::start().await;
    let carol = ApiUser::signup(&server.url, "carol", "Carol <b>Evil</b>").await;
    ApiUser::signup(&server.url, "dave", "Dave").await;
    for (i, payload) in PAYLOADS.iter().enumerate() {
        carol.send("dave", &format!("x{i}"), payload).await;
    }
    carol
        .send(
            "dave",
            "link",
            "See https://example.com/a?b=1&c=2. Or http://example.org!",
        )
        .await;

    let browser = Browser::launch().await;
    let dave = Page::open(&browser, "dave", Screen::Desktop).await;
    // A deep link while logged out goes to the login page, and back after logging in.
    dave.goto(&server.page_url("/messages/chat/carol/")).await;
    dave.wait_for("location.pathname === '/login' && new URLSearchParams(location.search).get('next') === '/messages/chat/carol/'")
        .await;
    log_in_on_page(&dave, &server, "dave", "/messages/chat/carol/").await;
    wait_stored_shown(&dave, 5).await;

    for payload in PAYLOADS {
        wait_text_shown(&dave, payload, 1).await;
    }
    let injected = dave
        .eval("document.querySelectorAll('#message-list img, #message-list script, #message-list b, #message-list a[href^=javascript]').length")
        .await;
    assert_eq!(injected, 0, "markup from a message body was interpreted");
    assert_eq!(
        dave.eval("document.querySelector('.peer-name').textContent")
            .await,
        "Carol <b>Evil</b>"
    );
    let links = dave
        .eval("[...document.querySelectorAll('#message-list a')].map(a => [a.href, a.textContent, a.rel, a.target])")
        .await;
    assert_eq!(
        links,
        serde_json::json!([
            [
                "https://example.com/a?b=1&c=2",
                "https://example.com/a?b=1&c=2",
                "noopener noreferrer",
                "_blank"
            ],
            [
                "http://example.org/",
                "http://example.org",
                "noopener noreferrer",
                "_blank"
            ],
        ])
    );

    // Dave sends one back from the page: shown as text at once and after the ack.
    send_on_page(&dave, PAYLOADS[0]).await;
    wait_stored_shown(&dave, 6).await;
    wait_text_shown(&dave, PAYLOADS[0], 2).await;
    let stored = carol.get("/api/conversations/dave/messages").await;
    assert_eq!(stored["messages"][5]["body"], PAYLOADS[0]);

    dave.screenshot("desktop-chat-hostile-text").await;
    dave.assert_clean();

    // A stale CSRF token: the wrapper refreshes it from /api/me once and retries, so logging
    // out still works.
    dave.eval("document.querySelector('meta[name=csrf-token]').content = 'stale-token'")
        .await;
    dave.click("#logout").await;
    wait_loaded(&dave, "/login").await;
    let requests = dave.requests();
    let count = |path: &str| requests.iter().filter(|u| u.ends_with(path)).count();
    assert_eq!(
        (count("/api/auth/logout"), count("/api/me")),
        (2, 1),
        "{requests:?}"
    );
    dave.goto(&server.page_url("/messages/")).await;
    dave.wait_for("location.pathname === '/login'").await;
    dave.assert_no_uncaught();
    // The browser reports the refused first attempt; that is the only error.
    let errors = dave.errors();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(errors[0].contains("403"), "{errors:?}");
}
