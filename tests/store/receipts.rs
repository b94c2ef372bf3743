//! Receipts: a recipient moves a message's status forward only (sent → delivered → read); a
//! move that is not forward is a no-op (not in `updated`, no event). Each move is one status
//! event per conversation for the sender and the reader, at their next cursors (a receipt
//! spanning conversations gives one per conversation, a repeated id counts once, no ids is a
//! no-op), and history shows the new status. Marking anything the caller did not receive (their own message, a
//! stranger's, an unknown id) is `NotFound` and changes nothing, even for the valid ids beside
//! it. `read_up_to` reads the other party's messages up to and including the id, no later,
//! and is `NotFound` for an id outside the conversation.

use crate::calls::*;
use crate::observe::*;

async fn statuses_move_forward_with_one_event_each_side(store: &dyn Store) {
    let [alice, bob] = users(store, ["alice", "bob"]).await;
    let m1 = send(store, &alice, &bob, "m1", "one").await.message;
    let m2 = send(store, &alice, &bob, "m2", "two").await.message;

    let delivered = mark(store, &bob, &[m2.id, m1.id], MessageStatus::Delivered)
        .await
        .expect("marked");
    assert_eq!(delivered.updated, [m1.id, m2.id]);
    assert_eq!(delivered.events.len(), 2, "{:?}", delivered.events);
    for (who, cursor) in [(&alice, Cursor(3)), (&bob, Cursor(3))] {
        let mine: Vec<&Event> = delivered
            .events
            .iter()
            .filter(|e| e.user == who.id)
            .map(|e| &e.event)
            .collect();
        let [
            Event::Status {
                cursor: c,
                conversation_id,
                message_ids,
                status,
                by,
                ..
            },
        ] = mine[..]
        else {
            panic!("one status event for {}: {mine:?}", who.username);
        };
        assert_eq!((*c, *conversation_id), (cursor, m1.conversation_id));
        assert_eq!(
            (message_ids.as_slice(), *status, by.as_str()),
            ([m1.id, m2.id].as_slice(), MessageStatus::Delivered, "bob")
        );
        assert_eq!(
            all_events(store, who).await.last(),
            Some(mine[0]),
            "stored as returned"
        );
    }
    assert_eq!(
        status_of(store, &alice, &bob, m1.id).await,
        MessageStatus::Delivered
    );

    let read = mark(store, &bob, &[m1.id], MessageStatus::Read)
        .await
        .expect("marked");
    assert_eq!(read.updated, [m1.id]);
    let moves = status_moves(&all_events(store, &alice).await);
    assert_eq!(
        moves.last(),
        Some(&(vec![m1.id], MessageStatus::Read, "bob".to_owned()))
    );
    assert_eq!(
        statuses(store, &bob, &alice).await,
        [
            (m1.id, MessageStatus::Read),
            (m2.id, MessageStatus::Delivered)
        ]
    );
}

async fn a_move_backwards_or_in_place_is_a_no_op(store: &dyn Store) {
    let [alice, bob] = users(store, ["alice", "bob"]).await;
    let m1 = send(store, &alice, &bob, "m1", "one").await.message;
    let m2 = send(store, &alice, &bob, "m2", "two").await.message;
    mark(store, &bob, &[m1.id], MessageStatus::Read)
        .await
        .expect("read");
    let before = snapshot(store, &[&alice, &bob]).await;

    for status in [MessageStatus::Delivered, MessageStatus::Read] {
        let again = mark(store, &bob, &[m1.id], status)
            .await
            .expect("a no-op is no error");
        assert!(
            again.updated.is_empty() && again.events.is_empty(),
            "{status:?}: {again:?}"
        );
    }
    assert_eq!(snapshot(store, &[&alice, &bob]).await, before);

    let mixed = mark(store, &bob, &[m1.id, m2.id], MessageStatus::Delivered)
        .await
        .expect("marked");
    assert_eq!(
        mixed.updated,
        [m2.id],
        "only the message that moves is listed"
    );
    let moves = status_moves(&all_events(store, &bob).await);
    assert_eq!(
        moves.last(),
        Some(&(vec![m2.id], MessageStatus::Delivered, "bob".to_owned()))
    );
    assert_eq!(
        status_of(store, &bob, &alice, m1.id).await,
        MessageStatus::Read
    );
}

async fn marking_what_one_did_not_receive_is_not_found(store: &dyn Store) {
    let [alice, bob, carol] = users(store, ["alice", "bob", "carol"]).await;
    let to_bob = send(store, &alice, &bob, "m1", "for bob").await.message;
    let from_bob = send(store, &bob, &alice, "b1", "from bob").await.message;
    let before = snapshot(store, &[&alice, &bob, &carol]).await;
    let unknown = MessageId(to_bob.id.0.max(from_bob.id.0) + 1000);

    let attempts: [(&User, Vec<MessageId>); 5] = [
        (&bob, vec![from_bob.id]),
        (&alice, vec![to_bob.id]),
        (&carol, vec![to_bob.id]),
        (&bob, vec![to_bob.id, from_bob.id]),
        (&bob, vec![to_bob.id, unknown]),
    ];
    for (who, ids) in attempts {
        for status in [MessageStatus::Delivered, MessageStatus::Read] {
            let answer = mark(store, who, &ids, status).await;
            assert!(
                matches!(answer, Err(StoreError::NotFound)),
                "{} marks {ids:?}: {answer:?}",
                who.username
            );
        }
    }
    assert_eq!(
        snapshot(store, &[&alice, &bob, &carol]).await,
        before,
        "nothing changed"
    );
}

async fn read_up_to_reads_the_other_partys_messages_up_to_the_id(store: &dyn Store) {
    let [alice, bob] = users(store, ["alice", "bob"]).await;
    let mut ids = Vec::new();
    for (i, (from, to)) in [
        (&alice, &bob),
        (&alice, &bob),
        (&bob, &alice),
        (&alice, &bob),
        (&alice, &bob),
    ]
    .into_iter()
    .enumerate()
    {
        ids.push(
            send(store, from, to, &format!("m{i}"), "text")
                .await
                .message
                .id,
        );
    }
    mark(store, &bob, &[ids[0]], MessageStatus::Read)
        .await
        .expect("read one");
    mark(store, &bob, &[ids[1]], MessageStatus::Delivered)
        .await
        .expect("delivered one");

    let outcome = read_up_to(store, &bob, &alice, ids[3])
        .await
        .expect("read up to");
    assert_eq!(
        outcome.updated,
        [ids[1], ids[3]],
        "unread ones from alice up to the id"
    );
    let moves = status_moves(
        &outcome
            .events
            .into_iter()
            .map(|e| e.event)
            .collect::<Vec<_>>(),
    );
    assert_eq!(
        moves,
        vec![(vec![ids[1], ids[3]], MessageStatus::Read, "bob".to_owned()); 2]
    );
    let expected = [
        MessageStatus::Read,
        MessageStatus::Read,
        MessageStatus::Sent,
        MessageStatus::Read,
        MessageStatus::Sent,
    ];
    let now: Vec<MessageStatus> = statuses(store, &alice, &bob)
        .await
        .into_iter()
        .map(|(_, s)| s)
        .collect();
    assert_eq!(
        now, expected,
        "bob's own message and the later one untouched"
    );

    let again = read_up_to(store, &bob, &alice, ids[3])
        .await
        .expect("again");
    assert!(
        again.updated.is_empty() && again.events.is_empty(),
        "{again:?}"
    );
    let own = read_up_to(store, &bob, &alice, ids[2])
        .await
        .expect("up to bob's own message");
    assert!(own.updated.is_empty(), "{own:?}");
}

async fn read_up_to_an_id_outside_the_conversation_is_not_found(store: &dyn Store) {
    let [alice, bob, carol] = users(store, ["alice", "bob", "carol"]).await;
    let ours = send(store, &alice, &bob, "m1", "ours").await.message;
    let theirs = send(store, &carol, &bob, "c1", "theirs").await.message;
    send(store, &alice, &carol, "m2", "elsewhere").await;
    let before = snapshot(store, &[&alice, &bob, &carol]).await;

    let attempts = [
        (&bob, &alice, theirs.id),
        (&bob, &carol, ours.id),
        (&bob, &alice, MessageId(theirs.id.0 + 1000)),
        (&carol, &alice, ours.id),
        (&carol, &bob, ours.id),
    ];
    for (reader, other, id) in attempts {
        let answer = read_up_to(store, reader, other, id).await;
        assert!(
            matches!(answer, Err(StoreError::NotFound)),
            "{} with {} up to {id:?}: {answer:?}",
            reader.username,
            other.username
        );
    }
    let dave = user(store, "dave").await;
    let never = read_up_to(store, &dave, &alice, ours.id).await;
    assert!(
        matches!(never, Err(StoreError::NotFound)),
        "no conversation: {never:?}"
    );
    assert_eq!(
        snapshot(store, &[&alice, &bob, &carol]).await,
        before,
        "nothing changed"
    );
}

async fn one_receipt_gives_one_event_per_conversation(store: &dyn Store) {
    let [alice, bob, carol] = users(store, ["alice", "bob", "carol"]).await;
    let from_alice = send(store, &alice, &bob, "a1", "from alice").await.message;
    let from_carol = send(store, &carol, &bob, "c1", "from carol").await.message;
    let also_alice = send(store, &alice, &bob, "a2", "again").await.message;

    let ids = [also_alice.id, from_carol.id, from_alice.id, also_alice.id];
    let outcome = mark(store, &bob, &ids, MessageStatus::Read)
        .await
        .expect("marked");
    assert_eq!(
        outcome.updated,
        [from_alice.id, from_carol.id, also_alice.id],
        "each once"
    );
    let read = |ids: Vec<MessageId>| (ids, MessageStatus::Read, "bob".to_owned());
    let alices = status_moves(&all_events(store, &alice).await);
    assert_eq!(alices, [read(vec![from_alice.id, also_alice.id])]);
    let carols = status_moves(&all_events(store, &carol).await);
    assert_eq!(carols, [read(vec![from_carol.id])]);
    let mut bobs = status_moves(&all_events(store, &bob).await);
    bobs.sort();
    let mut expected = vec![
        read(vec![from_alice.id, also_alice.id]),
        read(vec![from_carol.id]),
    ];
    expected.sort();
    assert_eq!(bobs, expected, "bob gets both conversations' events");
    assert_eq!(
        outcome.events.len(),
        4,
        "two per conversation: {:?}",
        outcome.events
    );
    let nothing = mark(store, &bob, &[], MessageStatus::Read)
        .await
        .expect("no ids, no error");
    assert!(nothing.updated.is_empty() && nothing.events.is_empty());
}

stories! {
    one_receipt_gives_one_event_per_conversation,
    statuses_move_forward_with_one_event_each_side,
    a_move_backwards_or_in_place_is_a_no_op,
    marking_what_one_did_not_receive_is_not_found,
    read_up_to_reads_the_other_partys_messages_up_to_the_id,
    read_up_to_an_id_outside_the_conversation_is_not_found,
}
