//! The pages over plain HTTP: who gets a page and who is sent to log in, `next` kept local,
//! security headers, the CSRF token in the page, escaping, static files and 404s. (What the
//! pages do in a browser is tested in `tests/browser/`.)

use reqwest::StatusCode;
use reqwest::header::{self, HeaderMap};

use crate::support::TestApp;

/// A browser-like client that does not follow redirects, with the session of `csrf` if any.
struct Browser {
    http: reqwest::Client,
    base: String,
}

struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: String,
}

impl Answer {
    fn header(&self, name: header::HeaderName) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    fn location(&self) -> &str {
        self.header(header::LOCATION)
    }
}

impl Browser {
    fn new(app: &TestApp) -> Browser {
        let http = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client");
        Browser {
            http,
            base: app.url.clone(),
        }
    }

    /// Signs `username` up (display name `display_name`); returns the CSRF token.
    async fn signup(&self, username: &str, display_name: &str) -> String {
        let answer: serde_json::Value = self
            .http
            .post(format!("{}/api/auth/signup", self.base))
            .json(&serde_json::json!({"username": username, "password": "password123", "display_name": display_name}))
            .send()
            .await
            .expect("signup")
            .json()
            .await
            .expect("json");
        answer["csrf_token"].as_str().expect("token").to_owned()
    }

    async fn get(&self, path: &str) -> Answer {
        let response = self
            .http
            .get(format!("{}{path}", self.base))
            .header(header::ACCEPT, "text/html,application/xhtml+xml")
            .send()
            .await
            .expect("request");
        Answer {
            status: response.status(),
            headers: response.headers().clone(),
            body: response.text().await.expect("body"),
        }
    }
}

/// The value of `data-{name}` on the page's body.
fn body_data<'a>(page: &'a str, name: &str) -> &'a str {
    let marker = format!(" data-{name}=\"");
    let start = page.find(&marker).expect("attribute") + marker.len();
    &page[start..start + page[start..].find('"').expect("closing quote")]
}

#[tokio::test]
async fn pages_need_a_session_and_send_people_to_log_in_and_back() {
    let app = TestApp::spawn().await;
    let visitor = Browser::new(&app);
    let root = visitor.get("/").await;
    assert_eq!(
        (root.status, root.location()),
        (StatusCode::SEE_OTHER, "/messages/")
    );
    for (path, login) in [
        ("/messages/", "/login?next=/messages/"),
        ("/messages/chat/bob/", "/login?next=/messages/chat/bob/"),
        (
            "/messages/chat/bob/?x=1&y",
            "/login?next=/messages/chat/bob/%3Fx%3D1%26y",
        ),
    ] {
        let answer = visitor.get(path).await;
        assert_eq!(answer.status, StatusCode::SEE_OTHER, "{path}");
        assert_eq!(answer.location(), login, "{path}");
    }
    for (next, kept) in [
        ("/messages/chat/bob/", "/messages/chat/bob/"),
        ("https://evil.example/", "/messages/"),
        ("//evil.example/", "/messages/"),
        ("/%5Cevil.example", "/messages/"),
        ("javascript:alert(1)", "/messages/"),
    ] {
        let page = visitor.get(&format!("/login?next={next}")).await;
        assert_eq!(page.status, StatusCode::OK);
        assert_eq!(body_data(&page.body, "next"), kept, "next={next}");
    }

    visitor.signup("alice", "Alice").await;
    let page = visitor.get("/messages/").await;
    assert_eq!(page.status, StatusCode::OK);
    // Someone logged in skips the login page, to a local `next` only.
    for (next, to) in [
        ("/messages/chat/bob/", "/messages/chat/bob/"),
        ("//evil.example/", "/messages/"),
    ] {
        let answer = visitor.get(&format!("/login?next={next}")).await;
        assert_eq!(
            (answer.status, answer.location()),
            (StatusCode::SEE_OTHER, to)
        );
    }
    app.stop().await;
}

#[tokio::test]
async fn pages_carry_the_policy_headers_and_the_session_token() {
    let app = TestApp::spawn().await;
    let alice = Browser::new(&app);
    let token = alice.signup("alice", "Alice").await;
    Browser::new(&app).signup("bob", "Bob").await;
    for path in ["/messages/", "/messages/chat/bob/", "/login", "/signup"] {
        let page = alice.get(path).await;
        if path.starts_with("/messages/") {
            assert_eq!(page.status, StatusCode::OK, "{path}");
            assert!(
                page.body
                    .contains(&format!("<meta name=\"csrf-token\" content=\"{token}\">"))
            );
            assert_eq!(body_data(&page.body, "me"), "alice");
            assert!(body_data(&page.body, "cursor").parse::<u64>().is_ok());
        } else {
            assert_eq!(page.status, StatusCode::SEE_OTHER, "{path}: logged in");
        }
        let csp = page.header(header::CONTENT_SECURITY_POLICY);
        assert!(csp.contains("script-src 'self'"), "{path}: {csp}");
        assert!(!csp.contains("unsafe-inline"), "{path}: {csp}");
        assert!(csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
        assert_eq!(page.header(header::REFERRER_POLICY), "same-origin");
        assert_eq!(page.header(header::X_CONTENT_TYPE_OPTIONS), "nosniff");
        assert_eq!(page.header(header::CACHE_CONTROL), "no-store");
    }
    let page = alice.get("/messages/chat/bob/").await;
    assert_eq!(
        page.header(header::CONTENT_TYPE),
        "text/html; charset=utf-8"
    );
    assert_eq!(body_data(&page.body, "peer"), "bob");
    for script in page.body.split("<script").skip(1) {
        assert!(
            script
                .trim_start()
                .starts_with("type=\"module\" src=\"/static/"),
            "inline script: {script}"
        );
    }
    app.stop().await;
}

#[tokio::test]
async fn names_in_pages_are_escaped() {
    let app = TestApp::spawn().await;
    let alice = Browser::new(&app);
    alice.signup("alice", "Alice").await;
    Browser::new(&app)
        .signup("mallory", "\"><script>alert(1)</script>")
        .await;
    let page = alice.get("/messages/chat/mallory/").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(!page.body.contains("<script>alert"), "{}", page.body);
    assert!(
        page.body
            .contains("&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;")
    );
    app.stop().await;
}

#[tokio::test]
async fn chat_urls_are_canonical_and_unknown_people_get_a_404_page() {
    let app = TestApp::spawn().await;
    let alice = Browser::new(&app);
    alice.signup("alice", "Alice").await;
    Browser::new(&app).signup("bob", "Bob").await;
    for (path, to) in [
        ("/messages/chat/Bob/", "/messages/chat/bob/"),
        ("/messages/chat/bob", "/messages/chat/bob/"),
        ("/messages/chat/alice/", "/messages/"),
        ("/messages", "/messages/"),
    ] {
        let answer = alice.get(path).await;
        assert_eq!(
            (answer.status, answer.location()),
            (StatusCode::SEE_OTHER, to),
            "{path}"
        );
    }
    let missing = alice.get("/messages/chat/nobody/").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert!(missing.body.contains("No one on LinkUp is called “nobody”"));
    assert!(!missing.header(header::CONTENT_SECURITY_POLICY).is_empty());
    app.stop().await;
}

#[tokio::test]
async fn static_files_are_typed_and_cached_by_version() {
    let app = TestApp::spawn().await;
    let visitor = Browser::new(&app);
    let page = visitor.get("/login").await;
    let start = page.body.find("/static/").expect("a static link") + "/static/".len();
    let version = &page.body[start..start + page.body[start..].find('/').expect("version")];
    for (file, kind) in [
        ("js/app.js", "text/javascript; charset=utf-8"),
        ("js/api.js", "text/javascript; charset=utf-8"),
        ("css/base.css", "text/css; charset=utf-8"),
        ("icon.svg", "image/svg+xml"),
    ] {
        let answer = visitor.get(&format!("/static/{version}/{file}")).await;
        assert_eq!(answer.status, StatusCode::OK, "{file}");
        assert_eq!(answer.header(header::CONTENT_TYPE), kind, "{file}");
        assert_eq!(
            answer.header(header::CACHE_CONTROL),
            "public, max-age=31536000, immutable"
        );
        assert_eq!(answer.header(header::X_CONTENT_TYPE_OPTIONS), "nosniff");
    }
    let old = visitor.get("/static/0123456789ab/js/app.js").await;
    assert_eq!(old.status, StatusCode::OK);
    assert_eq!(old.header(header::CACHE_CONTROL), "no-cache");
    let missing = visitor.get(&format!("/static/{version}/js/nope.js")).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    app.stop().await;
}

#[tokio::test]
async fn unknown_paths_get_a_page_for_browsers_and_json_for_the_api() {
    let app = TestApp::spawn().await;
    let visitor = Browser::new(&app);
    let page = visitor.get("/no/such/page").await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    assert_eq!(
        page.header(header::CONTENT_TYPE),
        "text/html; charset=utf-8"
    );
    assert!(page.body.contains("Page not found"));
    for path in ["/api/nope", "/ws/nope/"] {
        let answer = visitor.get(path).await;
        assert_eq!(answer.status, StatusCode::NOT_FOUND);
        assert_eq!(answer.header(header::CONTENT_TYPE), "application/json");
        assert!(
            answer.body.contains("\"not_found\""),
            "{path}: {}",
            answer.body
        );
    }
    let (status, body) = app.anonymous().get("/no/such/page").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error"]["code"], "not_found");
    app.stop().await;
}
