//! Events are the truth a client rebuilds from (zulip's `verify_action`): while both parties
//! send and move statuses concurrently, every write returns exactly the events it stored (same
//! users, cursors and content), each stream stays gap-free, no status event repeats a move a
//! message already made, and applying a user's events in order — statuses forward only — gives
//! the statuses a fresh read of the conversation shows.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::calls::*;
use crate::observe::*;

const ROUNDS: usize = 12;

/// An event with a message reduced to its id: a stored message event carries the message as it
/// is now, the returned one as it was, and both name the same message.
fn essence(event: &Event) -> (Cursor, Option<MessageId>, Option<StatusMove>) {
    let moved = status_moves(std::slice::from_ref(event)).pop();
    (
        event.cursor(),
        message_ids(std::slice::from_ref(event)).pop(),
        moved,
    )
}

/// Sends `ROUNDS` calls of three messages from `from` to `to`; returns the events they returned.
async fn keep_sending(store: Arc<dyn Store>, from: User, to: User) -> Vec<UserEvent> {
    let mut returned = Vec::new();
    for round in 0..ROUNDS {
        let drafts = (0..3)
            .map(|i| {
                draft(
                    &from,
                    &to,
                    &format!("{}-{round}-{i}", from.username),
                    "text",
                )
            })
            .collect();
        for answer in send_all(store.as_ref(), drafts).await {
            returned.extend(answer.expect("stored").events);
        }
    }
    returned
}

/// `reader` marks what it has received so far delivered, then reads up to its middle, `ROUNDS`
/// times; returns the events those moves returned.
async fn keep_reading(store: Arc<dyn Store>, reader: User, other: User) -> Vec<UserEvent> {
    let mut returned = Vec::new();
    for _ in 0..ROUNDS {
        let received: Vec<MessageId> = whole_history(store.as_ref(), &reader, &other)
            .await
            .into_iter()
            .filter(|m| m.recipient.as_deref() == Some(reader.username.as_str()))
            .map(|m| m.id)
            .collect();
        if received.is_empty() {
            tokio::task::yield_now().await;
            continue;
        }
        let delivered = mark(store.as_ref(), &reader, &received, MessageStatus::Delivered).await;
        returned.extend(delivered.expect("delivered").events);
        let middle = received[received.len() / 2];
        let read = read_up_to(store.as_ref(), &reader, &other, middle).await;
        returned.extend(read.expect("read up to").events);
    }
    returned
}

async fn applying_the_events_gives_what_a_fresh_read_shows(store: Arc<dyn Store>) {
    let [alice, bob] = users(store.as_ref(), ["alice", "bob"]).await;
    let tasks = [
        tokio::spawn(keep_sending(store.clone(), alice.clone(), bob.clone())),
        tokio::spawn(keep_sending(store.clone(), bob.clone(), alice.clone())),
        tokio::spawn(keep_reading(store.clone(), bob.clone(), alice.clone())),
        tokio::spawn(keep_reading(store.clone(), alice.clone(), bob.clone())),
    ];
    let mut returned: BTreeMap<i64, Vec<UserEvent>> = BTreeMap::new();
    for task in tasks {
        for event in task.await.expect("the task finished") {
            returned.entry(event.user.0).or_default().push(event);
        }
    }

    let store = store.as_ref();
    let fresh: BTreeMap<MessageId, MessageStatus> =
        statuses(store, &alice, &bob).await.into_iter().collect();
    assert_eq!(fresh.len(), 2 * ROUNDS * 3);
    for me in [&alice, &bob] {
        let stored = all_events(store, me).await;
        let expected: Vec<i64> = (1..=stored.len() as i64).collect();
        assert_eq!(cursors(&stored), expected, "{}: cursors 1..m", me.username);

        let mut mine = returned.remove(&me.id.0).unwrap_or_default();
        mine.sort_by_key(|e| e.event.cursor());
        let returned_essence: Vec<_> = mine.iter().map(|e| essence(&e.event)).collect();
        let stored_essence: Vec<_> = stored.iter().map(essence).collect();
        assert_eq!(
            returned_essence, stored_essence,
            "{}: returned = stored",
            me.username
        );

        let mut moves: BTreeMap<(MessageId, MessageStatus), usize> = BTreeMap::new();
        let mut applied: BTreeMap<MessageId, MessageStatus> = BTreeMap::new();
        for event in &stored {
            if let Event::Message { message, .. } = event {
                applied.insert(message.id, message.status.expect("a text message"));
            }
            for (ids, status, _) in status_moves(std::slice::from_ref(event)) {
                assert!(!ids.is_empty(), "a status event moves something");
                for id in ids {
                    *moves.entry((id, status)).or_default() += 1;
                    let now = applied
                        .get_mut(&id)
                        .expect("a status event after its message");
                    *now = (*now).max(status);
                }
            }
        }
        let repeated: Vec<_> = moves.iter().filter(|(_, n)| **n > 1).collect();
        assert!(
            repeated.is_empty(),
            "{}: moves made twice: {repeated:?}",
            me.username
        );
        assert_eq!(
            applied, fresh,
            "{}: events applied = fresh read",
            me.username
        );
    }
}

stories! {
    applying_the_events_gives_what_a_fresh_read_shows,
}
