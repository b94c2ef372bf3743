//! Up-to receipts: a member's receipt for a message covers every earlier message from others
//! in that conversation (a socket delivers in order), so each member keeps two watermarks that
//! only move forward. A receipt moves, and lists once, exactly the messages between the old
//! mark and the new one; the reader's own messages and system messages are positions, never
//! listed. The sender's view of a direct message is the other party's status, and "message
//! info" tells the sender when a receipt first covered it; only members see it at all.

use crate::calls::*;
use crate::observe::*;

async fn a_receipt_covers_every_earlier_message_from_the_other(store: &dyn Store) {
    let [alice, bob] = users(store, ["alice", "bob"]).await;
    let m1 = send(store, &alice, &bob, "m1", "one").await.message;
    let m2 = send(store, &alice, &bob, "m2", "two").await.message;
    let b1 = send(store, &bob, &alice, "b1", "mine").await.message;
    let m3 = send(store, &alice, &bob, "m3", "three").await.message;

    let delivered = mark(store, &bob, &[m2.id], MessageStatus::Delivered)
        .await
        .expect("marked");
    assert_eq!(delivered.updated, [m1.id, m2.id]);
    assert_eq!(delivered.up_to, Some(m2.id));
    let Some(Event::Status {
        message_ids,
        up_to_id,
        all,
        ..
    }) = all_events(store, &alice).await.pop()
    else {
        panic!("the sender is told");
    };
    assert_eq!(
        (message_ids, up_to_id, all),
        (vec![m1.id, m2.id], m2.id, true)
    );
    assert_eq!(
        statuses(store, &alice, &bob).await,
        [
            (m1.id, MessageStatus::Delivered),
            (m2.id, MessageStatus::Delivered),
            (b1.id, MessageStatus::Sent),
            (m3.id, MessageStatus::Sent),
        ]
    );

    // Read up to the newest: the two delivered ones and the new one move, once each.
    let read = mark(store, &bob, &[m3.id, m1.id], MessageStatus::Read)
        .await
        .expect("marked");
    assert_eq!(read.updated, [m1.id, m2.id, m3.id]);
    assert_eq!(read.up_to, Some(m3.id));
    assert_eq!(
        status_moves(&all_events(store, &bob).await),
        [
            (
                vec![m1.id, m2.id],
                MessageStatus::Delivered,
                "bob".to_owned()
            ),
            (
                vec![m1.id, m2.id, m3.id],
                MessageStatus::Read,
                "bob".to_owned()
            ),
        ]
    );
    assert_eq!(
        statuses(store, &bob, &alice).await,
        [
            (m1.id, MessageStatus::Read),
            (m2.id, MessageStatus::Read),
            (b1.id, MessageStatus::Sent),
            (m3.id, MessageStatus::Read),
        ],
        "bob's own message is alice's to receive"
    );

    // An earlier position afterwards changes nothing.
    let before = snapshot(store, &[&alice, &bob]).await;
    let again = mark(store, &bob, &[m2.id], MessageStatus::Delivered)
        .await
        .expect("a no-op");
    assert!(again.updated.is_empty() && again.events.is_empty());
    assert_eq!(snapshot(store, &[&alice, &bob]).await, before);
}

async fn one_s_own_message_is_a_position_for_read_up_to_only(store: &dyn Store) {
    let [alice, bob] = users(store, ["alice", "bob"]).await;
    let m1 = send(store, &alice, &bob, "m1", "one").await.message;
    let b1 = send(store, &bob, &alice, "b1", "reply").await.message;
    assert!(matches!(
        mark(store, &bob, &[b1.id], MessageStatus::Read).await,
        Err(StoreError::NotFound)
    ));
    let read = read_up_to(store, &bob, &alice, b1.id).await.expect("read");
    assert_eq!(read.updated, [m1.id]);
    assert_eq!(unread_of(store, &bob).await, 0);
}

async fn message_info_tells_the_sender_when_each_receipt_covered_it(store: &dyn Store) {
    let [alice, bob, carol] = users(store, ["alice", "bob", "carol"]).await;
    let m1 = send(store, &alice, &bob, "m1", "one").await.message;
    let m2 = send(store, &alice, &bob, "m2", "two").await.message;
    let m3 = send(store, &alice, &bob, "m3", "three").await.message;
    mark_at(
        store,
        &bob,
        &[m2.id],
        MessageStatus::Delivered,
        Timestamp(5_000),
    )
    .await;
    mark_at(store, &bob, &[m1.id], MessageStatus::Read, Timestamp(7_000)).await;

    let info = |id| message_receipts(store, &alice, id);
    let first = info(m1.id).await.expect("info");
    assert_eq!(first.sender, alice.id);
    let names = |list: &[(User, Timestamp)]| {
        list.iter()
            .map(|(u, at)| (u.username.clone(), *at))
            .collect::<Vec<_>>()
    };
    assert_eq!(names(&first.read), [("bob".to_owned(), Timestamp(7_000))]);
    assert!(first.delivered.is_empty() && first.pending.is_empty());
    let second = info(m2.id).await.expect("info");
    assert_eq!(
        names(&second.delivered),
        [("bob".to_owned(), Timestamp(5_000))]
    );
    assert!(second.read.is_empty());
    let third = info(m3.id).await.expect("info");
    assert_eq!(
        third
            .pending
            .iter()
            .map(|u| u.username.as_str())
            .collect::<Vec<_>>(),
        ["bob"]
    );

    let asked_by_bob = message_receipts(store, &bob, m1.id)
        .await
        .expect("bob sees it");
    assert_eq!(
        asked_by_bob.sender, alice.id,
        "the caller checks who may see it"
    );
    assert!(matches!(
        message_receipts(store, &carol, m1.id).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        message_receipts(store, &alice, MessageId(m3.id.0 + 1_000)).await,
        Err(StoreError::NotFound)
    ));
}

/// The total unread count of `me`'s list.
async fn unread_of(store: &dyn Store, me: &User) -> i64 {
    conversations(store, me, 50)
        .await
        .iter()
        .map(|c| c.unread)
        .sum()
}

/// Receipts of many members arriving together (one writer job on SQLite stores all that
/// waited together) give what the same receipts give one at a time: each reader's marks move
/// and their stream gets one event, the sender hears of each and, once, that every member has
/// the messages; a receipt among them naming what its reader cannot see fails alone.
async fn receipts_arriving_together_each_count_once_and_a_bad_one_fails_alone(store: &dyn Store) {
    let [alice, stranger] = users(store, ["alice", "stranger"]).await;
    let mut readers = Vec::new();
    for n in 0..8 {
        readers.push(user(store, &format!("reader{n}")).await);
    }
    let members: Vec<&User> = readers.iter().collect();
    let group = group_of(store, &alice, "Crowd", &members).await;
    let m1 = try_send_to_group(store, &alice, group, "a1", "one")
        .await
        .expect("sent");
    let m2 = try_send_to_group(store, &alice, group, "a2", "two")
        .await
        .expect("sent");
    let (m1, m2) = (m1.message.id, m2.message.id);
    let (first, second) = ([m1], [m2]);

    let mut receipts = vec![
        mark(store, &stranger, &first, MessageStatus::Delivered),
        mark(store, &alice, &first, MessageStatus::Delivered),
    ];
    for reader in &readers {
        receipts.push(mark(store, reader, &second, MessageStatus::Delivered));
    }
    let outcomes = futures_util::future::join_all(receipts).await;
    assert!(
        matches!(outcomes[0], Err(StoreError::NotFound)),
        "{:?}",
        outcomes[0]
    );
    assert!(
        matches!(outcomes[1], Err(StoreError::NotFound)),
        "{:?}",
        outcomes[1]
    );
    for (reader, outcome) in readers.iter().zip(&outcomes[2..]) {
        let outcome = outcome.as_ref().expect("marked");
        assert_eq!(outcome.updated, [m1, m2], "{}", reader.username);
        let moves = status_moves(&all_events(store, reader).await);
        assert_eq!(
            moves,
            [(
                vec![m1, m2],
                MessageStatus::Delivered,
                reader.username.clone()
            )],
            "one event in {}'s own stream",
            reader.username
        );
    }
    let told: Vec<(Vec<MessageId>, MessageStatus, bool)> = all_events(store, &alice)
        .await
        .into_iter()
        .filter_map(|e| match e {
            Event::Status {
                message_ids,
                status,
                all,
                ..
            } => Some((message_ids, status, all)),
            _ => None,
        })
        .collect();
    let each = (vec![m1, m2], MessageStatus::Delivered, false);
    let every = (vec![m1, m2], MessageStatus::Delivered, true);
    assert_eq!(told.iter().filter(|t| **t == each).count(), 7, "{told:?}");
    assert_eq!(told.iter().filter(|t| **t == every).count(), 1, "{told:?}");
    assert_eq!(told.len(), 8, "{told:?}");
    assert_eq!(
        status_moves(&all_events(store, &stranger).await),
        [],
        "the refused receipt left nothing"
    );
}

stories! {
    a_receipt_covers_every_earlier_message_from_the_other,
    one_s_own_message_is_a_position_for_read_up_to_only,
    message_info_tells_the_sender_when_each_receipt_covered_it,
    receipts_arriving_together_each_count_once_and_a_bad_one_fails_alone,
}
