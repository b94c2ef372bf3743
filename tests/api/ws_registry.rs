//! The per-process registry of sockets does not leak: thousands of connect/disconnect cycles,
//! ended every way a client can end them (close handshake, dropped TCP, mid-frame, refused
//! upgrades), leave no subscription, no user and no open-socket gauge behind.

use std::time::{Duration, Instant};

use futures_util::SinkExt;
use serde_json::json;
use tokio::io::AsyncWriteExt;
use tokio_tungstenite::tungstenite::Message;

use crate::socket::{Auth, connect, session_cookie, token};
use crate::support::TestApp;

const CYCLES: usize = 2_000;
const WORKERS: usize = 8;

/// One worker's share of the cycles, as `user`, ending each socket a different way.
async fn cycles(url: String, user: String, bearer: String, session: String, worker: usize) {
    let peer = if user == "user0" { "user1" } else { "user0" };
    let chat = format!("/ws/chat/{peer}/");
    for i in (worker..CYCLES).step_by(WORKERS) {
        let auth = match i % 3 {
            0 => Auth::Bearer(&bearer),
            1 => Auth::Query(&bearer),
            _ => Auth::Cookie {
                session: &session,
                origin: Some(&url),
            },
        };
        let path = if i % 2 == 0 {
            "/ws/notifications/"
        } else {
            chat.as_str()
        };
        if i % 50 == 7 {
            // Refused upgrades must not register anything either.
            let refused = connect(&url, "/ws/notifications/?since=999", auth).await;
            assert_eq!(refused.err(), Some(400));
            continue;
        }
        let mut socket = match connect(&url, path, auth).await {
            Ok(socket) => socket,
            Err(status) => panic!("cycle {i}: refused with {status}"),
        };
        match i % 5 {
            // The close handshake, waiting for the server's answer.
            0 => {
                socket.stream.close(None).await.expect("close sent");
                socket.closed().await;
            }
            // The TCP connection just goes away.
            1 => drop(socket),
            // A round trip first, then gone.
            2 => {
                socket.ping().await;
                drop(socket);
            }
            // A frame the server is still working on when the peer vanishes.
            3 => {
                let send = json!({"type": "send", "client_id": format!("x{i}"), "body": "bye", "to": peer});
                let _ = socket
                    .stream
                    .send(Message::Text(send.to_string().into()))
                    .await;
                drop(socket);
            }
            // Half a frame: a masked text frame header promising 100 bytes, then 10 and EOF.
            _ => {
                let mut partial = vec![0x81, 0x80 | 100, 1, 2, 3, 4];
                partial.extend_from_slice(b"{\"type\":\"p");
                let _ = socket.stream.get_mut().write_all(&partial).await;
                drop(socket);
            }
        }
    }
}

#[tokio::test]
async fn connect_disconnect_cycles_leave_the_registry_at_baseline() {
    let app = TestApp::spawn_with(|c| c.max_sockets_per_user = 64).await;
    let mut workers = Vec::new();
    for w in 0..WORKERS {
        let user = format!("user{}", w % 4);
        if w < 4 {
            app.signup(&user).await;
        }
        let bearer = token(&app.token_client(&user).await).to_owned();
        let session = session_cookie(&app.url, &user).await;
        workers.push((user, bearer, session));
    }
    let hub = app.server.state().hub.clone();
    assert_eq!((hub.subscriptions(), hub.users()), (0, 0));

    let started = Instant::now();
    let tasks: Vec<_> = workers
        .into_iter()
        .enumerate()
        .map(|(w, (user, bearer, session))| {
            tokio::spawn(cycles(app.url.clone(), user, bearer, session, w))
        })
        .collect();
    for task in tasks {
        task.await.expect("worker");
    }
    let cycled = started.elapsed();

    let state = app.server.state().clone();
    let at_baseline = || {
        (
            hub.subscriptions(),
            hub.users(),
            state.metrics.open_sockets.get(),
        ) == (0, 0, 0)
    };
    let settling = Instant::now();
    while !at_baseline() {
        assert!(
            settling.elapsed() < Duration::from_secs(10),
            "registry not at baseline: {} subscriptions, {} users, {} open sockets",
            hub.subscriptions(),
            hub.users(),
            state.metrics.open_sockets.get()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    eprintln!(
        "{CYCLES} cycles in {cycled:?}; at baseline {:?} later",
        settling.elapsed()
    );
    let (status, metrics) = app.anonymous().get("/metrics").await;
    assert_eq!(status, reqwest::StatusCode::OK);
    let metrics = metrics.as_str().expect("metrics text").to_owned();
    let open = metrics.lines().find(|l| {
        l.split(' ')
            .next()
            .is_some_and(|n| n.ends_with("open_sockets"))
    });
    assert_eq!(
        open.and_then(|l| l.rsplit(' ').next()),
        Some("0"),
        "{metrics}"
    );
    drop(state);
    app.stop().await;
}
