//! WebSocket routes and the gate in front of them: every route connects, unknown paths are
//! refused, authentication (bearer header, `access_token`, or a session cookie from an allowed
//! `Origin`), JSON errors for refused upgrades, and the per-user socket cap.

use reqwest::StatusCode;
use serde_json::Value;

use crate::socket::{
    Auth, NOTIFICATIONS, bearer_refusal, connect, open, open_once_freed, refusal, session_cookie,
    token,
};
use crate::support::{TestApp, assert_error};

/// Asserts a JSON error body with `code` and a message for people.
#[track_caller]
fn assert_error_body(body: &Value, code: &str) {
    assert_eq!(body["error"]["code"], code, "body: {body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "body: {body}"
    );
}

#[tokio::test]
async fn every_route_connects_with_a_bearer_header_or_an_access_token() {
    let (app, [alice, _bob]) = TestApp::with_token_users(["alice", "bob"]).await;
    let (status, group) = alice
        .post(
            "/api/groups",
            serde_json::json!({"client_id": "g1", "title": "Team", "members": ["bob"]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{group}");
    let group_path = format!("/ws/groups/{}/", group["id"]);
    let paths = [
        "/ws/notifications/",
        "/ws/chat/bob/",
        "/ws/chat/BOB/",
        "/ws/notifications/?since=0",
        group_path.as_str(),
    ];
    for path in paths {
        for auth in [Auth::Bearer(token(&alice)), Auth::Query(token(&alice))] {
            open(&app.url, path, auth).await.ping().await;
        }
    }
    app.stop().await;
}

#[tokio::test]
async fn unknown_paths_and_unknown_chat_users_are_refused() {
    let (app, [alice, _bob]) = TestApp::with_token_users(["alice", "bob"]).await;
    for path in [
        "/ws/chat/",
        "/ws/notification/",
        "/ws/chat/bob/extra/",
        "/ws/notifications/extra/",
        "/ws/",
    ] {
        let refused = connect(&app.url, path, Auth::Bearer(token(&alice))).await;
        assert_eq!(refused.err(), Some(404), "{path} must not connect");
        let (status, body) = bearer_refusal(&app.url, path, &alice).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}: {body}");
        assert_error_body(&body, "not_found");
    }
    for path in ["/ws/chat/nobody/", "/ws/chat/x/", "/ws/chat/no%20one/"] {
        let (status, body) = bearer_refusal(&app.url, path, &alice).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}: {body}");
        assert_error_body(&body, "user_not_found");
    }
    let response = bearer_refusal(&app.url, "/ws/chat/alice/", &alice).await;
    assert_error(&response, StatusCode::BAD_REQUEST, "cannot_message_self");
    app.stop().await;
}

#[tokio::test]
async fn an_upgrade_without_valid_credentials_is_401() {
    let (app, _) = TestApp::with_users(["alice", "bob"]).await;
    let origin = app.url.clone();
    for path in ["/ws/notifications/", "/ws/chat/bob/"] {
        assert_eq!(
            connect(&app.url, path, Auth::None).await.err(),
            Some(401),
            "{path}"
        );
        assert_eq!(
            connect(&app.url, path, Auth::Bearer("nope")).await.err(),
            Some(401)
        );
        assert_eq!(
            connect(&app.url, path, Auth::Query("nope")).await.err(),
            Some(401)
        );
        let forged = Auth::Cookie {
            session: "forged",
            origin: Some(&origin),
        };
        assert_eq!(connect(&app.url, path, forged).await.err(), Some(401));
        let (status, body) = refusal(&app.url, path, &[]).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
        assert_error_body(&body, "not_authenticated");
    }
    app.stop().await;
}

#[tokio::test]
async fn a_plain_request_on_a_ws_route_gets_a_json_error() {
    let (app, [alice, _bob]) = TestApp::with_token_users(["alice", "bob"]).await;
    for path in [NOTIFICATIONS, "/ws/chat/bob/"] {
        let response = alice.get(path).await;
        assert_error(&response, StatusCode::BAD_REQUEST, "websocket_required");
        let response = app.anonymous().get(path).await;
        assert_error(&response, StatusCode::UNAUTHORIZED, "not_authenticated");
        let response = alice.post(path, serde_json::json!({})).await;
        assert_error(
            &response,
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
        );
    }
    app.stop().await;
}

#[tokio::test]
async fn a_cookie_socket_must_come_from_an_allowed_origin() {
    let (app, _) = TestApp::with_users(["alice", "bob"]).await;
    let session = session_cookie(&app.url, "alice").await;
    let port = app.server.addr().port();
    let same_host_other_port = format!("http://127.0.0.1:{}", port.wrapping_add(1));
    let other_scheme = app.url.replacen("http://", "https://", 1);
    let foreign = [
        "https://evil.example",
        "null",
        same_host_other_port.as_str(),
        other_scheme.as_str(),
    ];
    for path in ["/ws/notifications/", "/ws/chat/bob/"] {
        for origin in foreign {
            let auth = Auth::Cookie {
                session: &session,
                origin: Some(origin),
            };
            assert_eq!(
                connect(&app.url, path, auth).await.err(),
                Some(403),
                "{path} from {origin}"
            );
        }
        let auth = Auth::Cookie {
            session: &session,
            origin: None,
        };
        assert_eq!(
            connect(&app.url, path, auth).await.err(),
            Some(403),
            "{path} without Origin"
        );
        let cookie = format!("linkup_session={session}");
        let (status, body) = refusal(
            &app.url,
            path,
            &[("cookie", &cookie), ("origin", "https://evil.example")],
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
        assert_error_body(&body, "origin_not_allowed");

        let localhost = format!("http://localhost:{port}");
        for origin in [app.url.as_str(), localhost.as_str()] {
            let auth = Auth::Cookie {
                session: &session,
                origin: Some(origin),
            };
            open(&app.url, path, auth).await.ping().await;
        }
    }
    app.stop().await;
}

#[tokio::test]
async fn a_bearer_socket_works_from_any_origin_or_none() {
    let (app, [alice, _bob]) = TestApp::with_token_users(["alice", "bob"]).await;
    for path in [NOTIFICATIONS, "/ws/chat/bob/"] {
        for origin in ["https://evil.example", "null", app.url.as_str()] {
            let auth = Auth::BearerFrom {
                token: token(&alice),
                origin,
            };
            open(&app.url, path, auth).await.ping().await;
        }
        app.socket(&alice, path).await.ping().await;
    }
    app.stop().await;
}

#[tokio::test]
async fn sockets_beyond_the_per_user_cap_are_refused_with_429() {
    let app = TestApp::spawn_with(|c| c.max_sockets_per_user = 2).await;
    let [alice, bob] = app.token_users(["alice", "bob"]).await;
    let path = NOTIFICATIONS;
    let mut first = app.socket(&alice, path).await;
    let mut second = open(&app.url, "/ws/chat/bob/", Auth::Query(token(&alice))).await;
    first.ping().await;
    second.ping().await;
    assert_eq!(
        connect(&app.url, path, Auth::Bearer(token(&alice)))
            .await
            .err(),
        Some(429)
    );
    let response = bearer_refusal(&app.url, path, &alice).await;
    assert_error(
        &response,
        StatusCode::TOO_MANY_REQUESTS,
        "too_many_connections",
    );
    // Another user is not affected by alice's cap.
    let mut other = app.socket(&bob, path).await;
    other.ping().await;

    // Closing one of alice's sockets frees a place (once the server has noticed).
    second.stream.close(None).await.expect("close sent");
    let mut third = open_once_freed(&app.url, path, Auth::Bearer(token(&alice))).await;
    third.ping().await;
    app.stop().await;
}
