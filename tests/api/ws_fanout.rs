//! Fan-out over WebSocket: an HTTP send reaches every socket of both parties, each event with
//! the user's cursor; chat sockets carry their conversation only; receipts sent over a socket
//! reach the sender as `status` events, and a stranger's receipt changes nothing.

use serde_json::{Value, json};

use crate::socket::{Auth, NOTIFICATIONS, Socket, open, session_cookie, token};
use crate::support::{TestApp, assert_ok, id};

/// The next `message` event: asserts it is `message` at `cursor`.
async fn expect_message(socket: &mut Socket, message: &Value, cursor: i64) {
    let event = socket.next_of("message").await;
    assert_eq!(event["message"], *message, "{event}");
    assert_eq!(event["cursor"], cursor, "{event}");
}

#[tokio::test]
async fn an_http_send_reaches_every_socket_of_both_parties_with_cursors() {
    let (app, [alice, bob, carol]) = TestApp::with_token_users(["alice", "bob", "carol"]).await;
    let bob_session = session_cookie(&app.url, "bob").await;
    // Every socket of both parties: bob's two tabs and his chat with alice, alice's two.
    let mut sockets = [
        app.notifications(&bob).await,
        app.cookie_socket(&bob_session, NOTIFICATIONS).await,
        open(&app.url, "/ws/chat/alice/", Auth::Query(token(&bob))).await,
        app.notifications(&alice).await,
        app.socket(&alice, "/ws/chat/bob/").await,
    ];

    let first = alice.send_created("bob", "a1", "hello bob").await;
    for socket in &mut sockets {
        expect_message(socket, &first, 1).await;
    }
    let reply = bob.send_created("alice", "b1", "hi alice").await;
    for socket in &mut sockets {
        expect_message(socket, &reply, 2).await;
    }

    let [
        bob_tab1,
        bob_tab2,
        bob_chat_alice,
        alice_all,
        alice_chat_bob,
    ] = &mut sockets;
    // carol writes to both: the notifications sockets carry it, the alice<->bob chats do not.
    let to_alice = carol
        .send_created("alice", "c1", "hi alice, carol here")
        .await;
    let to_bob = carol.send_created("bob", "c2", "hi bob, carol here").await;
    expect_message(alice_all, &to_alice, 3).await;
    expect_message(bob_tab1, &to_bob, 3).await;
    expect_message(bob_tab2, &to_bob, 3).await;
    let second = alice.send_created("bob", "a2", "still there?").await;
    expect_message(alice_all, &second, 4).await;
    expect_message(bob_tab1, &second, 4).await;
    expect_message(bob_tab2, &second, 4).await;
    // The chat sockets' next message is alice's, not carol's: cursors skip what is out of scope.
    expect_message(alice_chat_bob, &second, 4).await;
    expect_message(bob_chat_alice, &second, 4).await;

    // Nothing was pushed twice or to the wrong socket.
    for socket in &mut sockets {
        socket.assert_quiet().await;
    }
    // The sockets saw what sync says.
    let events = bob.all_events(0).await;
    let ids: Vec<&Value> = events.iter().map(|e| &e["message"]["id"]).collect();
    assert_eq!(
        ids,
        [&first["id"], &reply["id"], &to_bob["id"], &second["id"]]
    );
    app.stop().await;
}

#[tokio::test]
async fn a_send_over_one_socket_reaches_the_senders_other_sockets() {
    let (app, [alice, bob]) = TestApp::with_token_users(["alice", "bob"]).await;
    let mut phone = app.socket(&alice, "/ws/chat/bob/").await;
    let mut laptop = app.notifications(&alice).await;
    let mut bob_ws = app.notifications(&bob).await;

    phone.send_message("p1", "from my phone", None).await;
    let ack = phone.next_of("ack").await;
    assert_eq!(ack["client_id"], "p1");
    assert!(
        ack.get("cursor").is_none(),
        "an ack is not a stored event: {ack}"
    );
    expect_message(&mut laptop, &ack["message"], 1).await;
    expect_message(&mut phone, &ack["message"], 1).await;
    expect_message(&mut bob_ws, &ack["message"], 1).await;
    laptop
        .send_message("l1", "and my laptop", Some("bob"))
        .await;
    let ack = laptop.next_of("ack").await;
    expect_message(&mut phone, &ack["message"], 2).await;
    expect_message(&mut bob_ws, &ack["message"], 2).await;
    assert_eq!(ack["message"]["seq"], 2);
    app.stop().await;
}

#[tokio::test]
async fn receipts_over_a_socket_reach_the_sender_as_status_events() {
    let (app, [alice, bob, carol]) = TestApp::with_token_users(["alice", "bob", "carol"]).await;
    let mut alice_ws = app.socket(&alice, "/ws/chat/bob/").await;
    let mut bob_ws = app.notifications(&bob).await;
    let m1 = alice.send_created("bob", "a1", "one").await;
    let m2 = alice.send_created("bob", "a2", "two").await;
    for cursor in [1, 2] {
        assert_eq!(bob_ws.next_of("message").await["cursor"], cursor);
        assert_eq!(alice_ws.next_of("message").await["cursor"], cursor);
    }

    bob_ws
        .send_receipt("delivered", json!([m1["id"], m2["id"]]))
        .await;
    let status = alice_ws.next_of("status").await;
    assert_eq!(status["cursor"], 3, "{status}");
    assert_eq!(status["status"], "delivered");
    assert_eq!(status["by"], "bob");
    assert_eq!(status["message_ids"], json!([m1["id"], m2["id"]]));
    assert!(
        status["at"].as_str().is_some_and(|at| at.ends_with('Z')),
        "{status}"
    );
    assert_eq!(
        bob_ws.next_of("status").await["cursor"],
        3,
        "the reader's own devices learn it too"
    );

    bob_ws.send_receipt("read", json!([m1["id"]])).await;
    let status = alice_ws.next_of("status").await;
    assert_eq!(
        (status["cursor"].clone(), status["status"].clone()),
        (json!(4), json!("read"))
    );
    assert_eq!(status["message_ids"], json!([m1["id"]]));
    assert_eq!(bob_ws.next_of("status").await["cursor"], 4);

    // Backwards is a no-op: no event, no error.
    bob_ws.send_receipt("delivered", json!([m1["id"]])).await;
    bob_ws.assert_quiet().await;
    alice_ws.assert_quiet().await;

    // A stranger, the sender herself, and a list mixing bob's message with carol's: each is
    // message_not_found, and nothing changes.
    let other = carol.send_created("alice", "c1", "carol to alice").await;
    let mut carol_ws = app.notifications(&carol).await;
    let attempts = [
        ("carol", json!([m2["id"]])),
        ("alice", json!([m2["id"]])),
        ("bob", json!([m2["id"], other["id"]])),
        ("bob", json!([999_999])),
    ];
    for (who, ids) in attempts {
        let socket = match who {
            "carol" => &mut carol_ws,
            "alice" => &mut alice_ws,
            _ => &mut bob_ws,
        };
        socket.send_receipt("read", ids).await;
        let error = socket.next_of("error").await;
        assert_eq!(error["code"], "message_not_found", "{who}: {error}");
        assert!(error["message"].as_str().is_some_and(|m| !m.is_empty()));
        assert!(
            socket.ping().await.is_empty(),
            "{who}: the socket stays open, nothing else arrives"
        );
    }
    alice_ws.assert_quiet().await;

    let statuses: Vec<String> = alice
        .statuses("bob")
        .await
        .into_iter()
        .map(|s| s.1)
        .collect();
    assert_eq!(statuses, ["read", "delivered"]);
    assert_eq!(carol.statuses("alice").await[0].1, "sent");
    assert_eq!(
        alice.all_events(0).await.len(),
        5,
        "2 sent, 2 status, 1 from carol"
    );
    app.stop().await;
}

#[tokio::test]
async fn a_chat_socket_opened_after_the_messages_still_gets_their_receipts() {
    let (app, [alice, bob, carol]) = TestApp::with_token_users(["alice", "bob", "carol"]).await;
    let m1 = alice
        .send_created("bob", "a1", "sent before the chat was opened")
        .await;
    let to_carol = alice
        .send_created("carol", "a2", "another conversation")
        .await;
    // The chat view opens now, live, and then again replaying from after the messages.
    let mut live = app.socket(&alice, "/ws/chat/bob/").await;
    let mut replay = app.socket(&alice, "/ws/chat/bob/?since=2").await;
    assert_ok(&carol.mark(&[id(&to_carol)], "read").await);
    assert_ok(&bob.mark(&[id(&m1)], "read").await);
    for socket in [&mut live, &mut replay] {
        let status = socket.next_of("status").await;
        assert_eq!(
            status["message_ids"],
            json!([m1["id"]]),
            "carol's receipt is not for this chat: {status}"
        );
        assert_eq!(
            (status["cursor"].clone(), status["by"].clone()),
            (json!(4), json!("bob"))
        );
    }
    app.stop().await;
}
