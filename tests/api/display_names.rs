//! Display names hold no control characters, bidirectional controls or invisible spaces
//! (zero-width joiners and non-joiners stay allowed), and are 1–64 characters: a sign-up that
//! breaks the rule is 400 `invalid_display_name` and creates nobody.

use reqwest::StatusCode;
use serde_json::json;

use crate::support::{TestApp, assert_error};

#[tokio::test]
async fn display_names_without_hidden_characters() {
    let app = TestApp::spawn().await;
    let hidden = [
        "\u{202E}gnp.exe",
        "a\u{200B}b",
        "a\u{2066}b",
        "a\u{061C}b",
        "a\u{FEFF}b",
        "a\u{2060}b",
        "a\u{200E}b",
        "a\u{7}b",
    ];
    for (i, name) in hidden.iter().enumerate() {
        let username = format!("mallory{i}");
        let body = json!({"username": username, "password": "password123", "display_name": name});
        let response = app.anonymous().post("/api/auth/signup", body).await;
        assert_error(&response, StatusCode::BAD_REQUEST, "invalid_display_name");
        let login = json!({"username": username, "password": "password123"});
        let response = app.anonymous().post("/api/auth/login", login).await;
        assert_error(&response, StatusCode::UNAUTHORIZED, "invalid_credentials");
    }
    let long = "x".repeat(65);
    let body = json!({"username": "longname", "password": "password123", "display_name": long});
    let response = app.anonymous().post("/api/auth/signup", body).await;
    assert_error(&response, StatusCode::BAD_REQUEST, "invalid_display_name");
    for (username, name) in [("dana", "👩\u{200D}💻 Dana"), ("farid", "فرید\u{200C}ی")] {
        let body = json!({"username": username, "password": "password123", "display_name": name});
        let (status, body) = app.anonymous().post("/api/auth/signup", body).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        assert_eq!(body["user"]["display_name"], name);
    }
    app.stop().await;
}
