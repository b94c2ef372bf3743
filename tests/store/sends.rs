//! Idempotent send: `(sender, client_id)` names one message. A retry with the same body and
//! recipient returns the stored message unchanged with `created: false` and no events; another
//! body or another recipient is `Conflict` and stores nothing; another sender's equal
//! `client_id` is a message of its own. Several sends in one call are answered in order, a
//! failing one fails alone, and the ones that are stored still get consecutive seqs.

use crate::calls::*;
use crate::observe::*;

async fn a_send_stores_the_message(store: &dyn Store) {
    let [alice, bob] = users(store, ["alice", "bob"]).await;
    let sent = send(store, &alice, &bob, "c1", "hello bob").await;
    assert!(sent.created);
    let m = &sent.message;
    assert_eq!(
        (
            m.seq,
            m.sender.as_str(),
            m.recipient.as_deref().unwrap_or_default()
        ),
        (1, "alice", "bob")
    );
    assert_eq!(
        (m.client_id.as_deref(), m.body.as_str()),
        (Some("c1"), "hello bob")
    );
    assert_eq!(m.status, Some(MessageStatus::Sent));
    assert!(m.id.0 > 0 && m.edited_at.is_none() && !m.deleted);

    let reply = send(store, &bob, &alice, "c1", "hi alice").await.message;
    assert_eq!(
        reply.conversation_id, m.conversation_id,
        "one conversation both ways"
    );
    assert_eq!(reply.seq, 2);
    assert!(reply.id > m.id);

    assert_eq!(sent_message(store, &alice, "c1").await.as_ref(), Some(m));
    assert_eq!(sent_message(store, &bob, "c1").await, Some(reply));
    assert_eq!(sent_message(store, &alice, "c2").await, None);
    assert_eq!(whole_history(store, &bob, &alice).await.len(), 2);
}

async fn a_retry_returns_the_stored_message_and_no_events(store: &dyn Store) {
    let [alice, bob] = users(store, ["alice", "bob"]).await;
    let first = send(store, &alice, &bob, "c1", "hello").await;
    send(store, &bob, &alice, "b1", "between").await;
    let before = snapshot(store, &[&alice, &bob]).await;

    let retry = send(store, &alice, &bob, "c1", "hello").await;
    assert!(!retry.created, "a retry creates nothing");
    assert!(
        retry.events.is_empty(),
        "a retry publishes nothing: {:?}",
        retry.events
    );
    assert_eq!(
        retry.message, first.message,
        "the stored message, as stored"
    );
    assert_eq!(snapshot(store, &[&alice, &bob]).await, before);
    assert_eq!(whole_history(store, &alice, &bob).await.len(), 2);
}

async fn a_retry_with_another_body_or_recipient_is_a_conflict(store: &dyn Store) {
    let [alice, bob, carol] = users(store, ["alice", "bob", "carol"]).await;
    let first = send(store, &alice, &bob, "c1", "hello").await.message;
    let before = snapshot(store, &[&alice, &bob, &carol]).await;

    let other_body = try_send(store, &alice, &bob, "c1", "hello!").await;
    assert!(
        matches!(other_body, Err(StoreError::Conflict(_))),
        "{other_body:?}"
    );
    let other_recipient = try_send(store, &alice, &carol, "c1", "hello").await;
    assert!(
        matches!(other_recipient, Err(StoreError::Conflict(_))),
        "{other_recipient:?}"
    );

    assert_eq!(snapshot(store, &[&alice, &bob, &carol]).await, before);
    assert_eq!(sent_message(store, &alice, "c1").await, Some(first));
}

async fn a_client_id_belongs_to_its_sender(store: &dyn Store) {
    let [alice, bob, carol] = users(store, ["alice", "bob", "carol"]).await;
    let from_alice = send(store, &alice, &carol, "same", "from alice").await;
    let from_bob = send(store, &bob, &carol, "same", "from bob").await;
    assert!(from_alice.created && from_bob.created);
    assert_ne!(from_alice.message.id, from_bob.message.id);
    assert_eq!(
        sent_message(store, &bob, "same").await,
        Some(from_bob.message)
    );
    assert_eq!(sent_message(store, &carol, "same").await, None);
}

async fn a_failing_send_in_a_batch_fails_alone(store: &dyn Store) {
    let [alice, bob, carol] = users(store, ["alice", "bob", "carol"]).await;
    let stored = send(store, &alice, &bob, "c1", "first").await.message;

    let answers = send_all(
        store,
        vec![
            draft(&alice, &bob, "c2", "second"),
            draft(&alice, &bob, "c1", "not first"),
            draft(&alice, &carol, "c3", "to carol"),
            draft(&alice, &bob, "c1", "first"),
            draft(&alice, &bob, "c4", "third"),
        ],
    )
    .await;
    assert_eq!(answers.len(), 5, "one answer per send");
    let second = answers[0].as_ref().expect("c2 stored");
    assert!(
        matches!(answers[1], Err(StoreError::Conflict(_))),
        "{:?}",
        answers[1]
    );
    let to_carol = answers[2].as_ref().expect("c3 stored");
    let retry = answers[3].as_ref().expect("c1 retried");
    let third = answers[4].as_ref().expect("c4 stored");

    assert!(second.created && to_carol.created && third.created && !retry.created);
    assert_eq!(retry.message, stored);
    assert_eq!(
        (second.message.seq, third.message.seq),
        (2, 3),
        "no seq for the failure"
    );
    assert_eq!(to_carol.message.seq, 1);
    assert!(stored.id < second.message.id && second.message.id < third.message.id);
    let bodies: Vec<String> = whole_history(store, &bob, &alice)
        .await
        .into_iter()
        .map(|m| m.body)
        .collect();
    assert_eq!(bodies, ["first", "second", "third"]);
}

async fn a_retry_inside_one_batch_returns_the_first(store: &dyn Store) {
    let [alice, bob] = users(store, ["alice", "bob"]).await;
    let answers = send_all(
        store,
        vec![
            draft(&alice, &bob, "c1", "hello"),
            draft(&alice, &bob, "c1", "hello"),
            draft(&alice, &bob, "c1", "changed"),
        ],
    )
    .await;
    let first = answers[0].as_ref().expect("stored");
    let retry = answers[1].as_ref().expect("the retry answered");
    assert!(first.created && !retry.created);
    assert_eq!(retry.message, first.message);
    assert!(retry.events.is_empty());
    assert!(
        matches!(answers[2], Err(StoreError::Conflict(_))),
        "{:?}",
        answers[2]
    );
    assert_eq!(whole_history(store, &alice, &bob).await.len(), 1);
    assert_eq!(
        message_ids(&all_events(store, &bob).await),
        [first.message.id]
    );
}

async fn bodies_round_trip_exactly(store: &dyn Store) {
    let [alice, bob] = users(store, ["alice", "bob"]).await;
    let bodies = [
        "emoji 👍🏽 and ❤️, café, 中文, עברית",
        "line one\nline two\ttab",
        "quotes ' \" and \\ backslash, 100% _under_ $1 ?",
    ];
    for (i, body) in bodies.iter().enumerate() {
        assert_eq!(
            send(store, &alice, &bob, &format!("b{i}"), body)
                .await
                .message
                .body,
            *body
        );
    }
    let stored = whole_history(store, &bob, &alice).await;
    let stored: Vec<&str> = stored.iter().map(|m| m.body.as_str()).collect();
    assert_eq!(stored, bodies);
}

stories! {
    bodies_round_trip_exactly,
    a_send_stores_the_message,
    a_retry_returns_the_stored_message_and_no_events,
    a_retry_with_another_body_or_recipient_is_a_conflict,
    a_client_id_belongs_to_its_sender,
    a_failing_send_in_a_batch_fails_alone,
    a_retry_inside_one_batch_returns_the_first,
}
