//! Ephemeral signals: typing reaches only the person typed to, within a conversation both
//! share; presence reaches only people who share a conversation, once per user (first socket
//! opens, last socket closes). What blocks and message requests hold back: `safety_signals`.

use std::time::Duration;

use serde_json::{Value, json};

use crate::socket::{QUIET, Socket};
use crate::support::TestApp;

/// Reads frames until one of `kind`, asserting everything skipped is a presence snapshot.
async fn next_signal(socket: &mut Socket, kind: &str) -> Value {
    let presence_only = |frame: &Value| {
        assert_eq!(
            frame["type"], "presence",
            "unexpected frame while waiting for {kind}: {frame}"
        );
    };
    let frame = socket.next_of_skipping(kind, presence_only).await;
    assert!(
        frame.get("cursor").is_none(),
        "signals carry no cursor: {frame}"
    );
    frame
}

#[tokio::test]
async fn typing_reaches_only_the_person_typed_to() {
    let (app, [alice, bob, carol]) = TestApp::with_token_users(["alice", "bob", "carol"]).await;
    // Typing goes only within a conversation both share.
    alice.send_ok("bob", "a1").await;
    let mut alice_ws = app.notifications(&alice).await;
    let mut bob_ws = app.notifications(&bob).await;
    let mut bob_chat_carol = app.socket(&bob, "/ws/chat/carol/").await;
    let mut carol_ws = app.notifications(&carol).await;

    alice_ws.send_typing(Some("bob"), true).await;
    assert_eq!(
        next_signal(&mut bob_ws, "typing").await,
        json!({"type": "typing", "from": "alice", "active": true})
    );
    alice_ws.send_typing(Some("bob"), false).await;
    assert_eq!(
        next_signal(&mut bob_ws, "typing").await,
        json!({"type": "typing", "from": "alice", "active": false})
    );
    // Not carol, not alice's own socket, not bob's chat with carol.
    carol_ws.assert_quiet().await;
    // Alice hears of bob's presence (they share a conversation), but not her own typing.
    alice_ws.assert_no_more_events().await;
    bob_chat_carol.assert_quiet().await;

    // On a chat socket the addressee is implied; typing stops when the typist disconnects.
    let mut alice_chat = app.socket(&alice, "/ws/chat/bob/").await;
    alice_chat.send_typing(None, true).await;
    assert_eq!(next_signal(&mut bob_ws, "typing").await["active"], true);
    drop(alice_chat);
    let stopped = next_signal(&mut bob_ws, "typing").await;
    assert_eq!(
        stopped,
        json!({"type": "typing", "from": "alice", "active": false})
    );
    carol_ws.assert_quiet().await;
    app.stop().await;
}

#[tokio::test]
async fn a_typing_indicator_not_refreshed_is_withdrawn() {
    let (app, [alice, bob]) = TestApp::with_token_users(["alice", "bob"]).await;
    alice.send_ok("bob", "a1").await;
    let mut alice_ws = app.notifications(&alice).await;
    let mut bob_ws = app.notifications(&bob).await;
    alice_ws.send_typing(Some("bob"), true).await;
    assert_eq!(next_signal(&mut bob_ws, "typing").await["active"], true);
    let started = std::time::Instant::now();
    // alice's socket stays open and quiet: the server withdraws the indicator by itself.
    let withdrawn = bob_ws
        .next_within(Duration::from_secs(12))
        .await
        .expect("the indicator was withdrawn in time")
        .expect("bob's socket stays open");
    assert_eq!(
        withdrawn,
        json!({"type": "typing", "from": "alice", "active": false})
    );
    assert!(
        started.elapsed() >= Duration::from_secs(2),
        "withdrawn after only {:?}",
        started.elapsed()
    );
    alice_ws.ping().await;
    app.stop().await;
}

#[tokio::test]
async fn presence_reaches_people_who_share_a_conversation_only() {
    let (app, [alice, bob, carol]) = TestApp::with_token_users(["alice", "bob", "carol"]).await;
    alice.send_created("bob", "a1", "hi").await;

    let mut alice_ws = app.notifications(&alice).await;
    let snapshot = alice_ws.next_of("presence").await;
    assert_eq!(
        snapshot,
        json!({"type": "presence", "user": "bob", "online": false, "last_seen": null})
    );
    let mut carol_ws = app.notifications(&carol).await;

    let mut bob_ws = app.notifications(&bob).await;
    let online = alice_ws.next_of("presence").await;
    assert_eq!(online["user"], "bob", "{online}");
    assert_eq!(online["online"], true, "{online}");
    let bob_snapshot = bob_ws.next_of("presence").await;
    assert_eq!(
        (bob_snapshot["user"].clone(), bob_snapshot["online"].clone()),
        (json!("alice"), json!(true))
    );

    // A second tab is not news; closing one of two is not either.
    let mut bob_tab2 = app.notifications(&bob).await;
    bob_tab2.ping().await;
    bob_tab2.stream.close(None).await.expect("close sent");
    bob_tab2.closed().await;
    alice_ws.assert_quiet().await;
    carol_ws.assert_quiet().await;

    // The last socket closing is: offline, with when.
    bob_ws.stream.close(None).await.expect("close sent");
    let offline = next_signal(&mut alice_ws, "presence").await;
    assert_eq!(offline["user"], "bob", "{offline}");
    assert_eq!(offline["online"], false, "{offline}");
    assert!(
        offline["last_seen"]
            .as_str()
            .is_some_and(|t| t.ends_with('Z')),
        "{offline}"
    );
    carol_ws.assert_quiet().await;

    // A socket opened later sees bob's last_seen in its snapshot.
    let mut alice_again = app.notifications(&alice).await;
    let snapshot = alice_again.next_of("presence").await;
    assert_eq!(snapshot["online"], false);
    assert_eq!(snapshot["last_seen"], offline["last_seen"]);
    tokio::time::timeout(Duration::from_secs(1), alice_again.ping())
        .await
        .expect("pong in time");
    app.stop().await;
}

#[tokio::test]
async fn a_quick_reconnect_leaves_the_user_online() {
    let (app, [alice, bob]) = TestApp::with_token_users(["alice", "bob"]).await;
    alice.send_created("bob", "a1", "hi").await;
    let mut alice_ws = app.notifications(&alice).await;
    assert_eq!(alice_ws.next_of("presence").await["online"], false);
    let mut bob_ws = app.notifications(&bob).await;
    assert_eq!(alice_ws.next_of("presence").await["online"], true);
    // A page reload, several times: the old socket goes, a new one comes at once. Whatever
    // alice is told on the way, once things settle the last word must be "online".
    let mut bob_online = json!(true);
    for round in 0..12 {
        if round % 2 == 0 {
            drop(bob_ws);
        } else {
            bob_ws.stream.close(None).await.expect("close sent");
        }
        bob_ws = app.notifications(&bob).await;
        bob_ws.ping().await;
        while let Ok(frame) = alice_ws.next_within(QUIET).await {
            let frame = frame.expect("alice's socket stays open");
            assert_eq!(
                (frame["type"].as_str(), frame["user"].as_str()),
                (Some("presence"), Some("bob")),
                "{frame}"
            );
            bob_online = frame["online"].clone();
        }
        assert_eq!(
            bob_online, true,
            "round {round}: bob is online, but alice was last told otherwise"
        );
    }
    let mut fresh = app.notifications(&alice).await;
    assert_eq!(
        fresh.next_of("presence").await["online"],
        true,
        "the snapshot agrees"
    );
    app.stop().await;
}
