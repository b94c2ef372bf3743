//! Events: a new message gives exactly one `message` event to its sender and one to its
//! recipient, each at that user's next cursor, returned by the send and stored alike;
//! `events_since` answers the events after a cursor in cursor order, at most `limit`, with
//! `has_more` telling whether more follow; `last_cursor` is the newest cursor (0 before any).

use crate::calls::*;
use crate::observe::*;

async fn a_send_gives_each_party_one_message_event_at_their_next_cursor(store: &dyn Store) {
    let [alice, bob, carol] = users(store, ["alice", "bob", "carol"]).await;
    send(store, &alice, &carol, "a1", "warm-up").await;
    send(store, &carol, &alice, "c1", "warm-up").await;
    let (alice_before, bob_before) = (
        last_cursor(store, &alice).await,
        last_cursor(store, &bob).await,
    );
    assert_eq!((alice_before, bob_before), (Cursor(2), Cursor(0)));

    let sent = send(store, &alice, &bob, "a2", "hello").await;
    assert_eq!(
        sent.events.len(),
        2,
        "one event per party: {:?}",
        sent.events
    );
    for (who, next) in [(&alice, Cursor(3)), (&bob, Cursor(1))] {
        let returned: Vec<&Event> = sent
            .events
            .iter()
            .filter(|e| e.user == who.id)
            .map(|e| &e.event)
            .collect();
        let expected = Event::Message {
            cursor: next,
            message: sent.message.clone(),
        };
        assert_eq!(returned, [&expected], "{}'s returned event", who.username);
        let page = events_since(store, who, Cursor(next.0 - 1), 100).await;
        assert_eq!(page.events, [expected], "{}'s stored event", who.username);
        assert!(!page.has_more);
        assert_eq!(last_cursor(store, who).await, next);
    }
    assert_eq!(
        last_cursor(store, &carol).await,
        Cursor(2),
        "carol is not concerned"
    );
}

async fn events_page_in_cursor_order(store: &dyn Store) {
    let [alice, bob] = users(store, ["alice", "bob"]).await;
    assert_eq!(last_cursor(store, &alice).await, Cursor(0));
    let empty = events_since(store, &alice, Cursor(0), 10).await;
    assert!(empty.events.is_empty() && !empty.has_more);

    let mut sent = Vec::new();
    for i in 1..=5 {
        let (from, to) = if i % 2 == 0 {
            (&bob, &alice)
        } else {
            (&alice, &bob)
        };
        sent.push(
            send(store, from, to, &format!("m{i}"), &format!("body {i}"))
                .await
                .message
                .id,
        );
    }
    let mut seen = Vec::new();
    let mut since = Cursor(0);
    for (expected_cursors, more) in [(vec![1, 2], true), (vec![3, 4], true), (vec![5], false)] {
        let page = events_since(store, &alice, since, 2).await;
        assert_eq!(cursors(&page.events), expected_cursors, "after {since:?}");
        assert_eq!(page.has_more, more, "after {since:?}");
        seen.extend(message_ids(&page.events));
        since = page.events.last().expect("a page").cursor();
    }
    assert_eq!(seen, sent, "events in the order of the sends");
    let exact = events_since(store, &alice, Cursor(0), 5).await;
    assert!(
        !exact.has_more,
        "a page that ends at the last event has no more"
    );
    let after_all = events_since(store, &alice, Cursor(5), 2).await;
    assert!(after_all.events.is_empty() && !after_all.has_more);
    assert_eq!(last_cursor(store, &alice).await, Cursor(5));
    assert_eq!(cursors(&all_events(store, &bob).await), [1, 2, 3, 4, 5]);
}

stories! {
    a_send_gives_each_party_one_message_event_at_their_next_cursor,
    events_page_in_cursor_order,
}
