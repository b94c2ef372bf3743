//! Counters under concurrent writers: however sends interleave — one at a time or several per
//! call, both directions of a conversation at once, users shared between conversations — every
//! conversation's seqs are exactly 1..n with ids ascending with seq, and every user's cursors
//! are exactly 1..m with each of their messages in their stream once. Concurrent retries of one
//! `(sender, client_id)` store one message.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use crate::calls::*;
use crate::observe::*;

const PEOPLE: [&str; 5] = ["ana", "ben", "cyd", "dee", "eli"];
const TASKS: usize = 8;
const SENDS_PER_TASK: usize = 25;

/// The (sender, recipient) indexes of task `t`'s sends: pairs overlap, and some conversations
/// are written in both directions by different tasks.
fn pair_of(task: usize) -> (usize, usize) {
    let pairs = [
        (0, 1),
        (1, 0),
        (1, 2),
        (2, 3),
        (3, 0),
        (0, 2),
        (4, 1),
        (2, 0),
    ];
    pairs[task % pairs.len()]
}

async fn concurrent_senders_keep_seqs_and_cursors_gap_free(store: Arc<dyn Store>) {
    let people = Arc::new(users(store.as_ref(), PEOPLE).await);
    let mut tasks = Vec::new();
    for task in 0..TASKS {
        let (store, people) = (store.clone(), people.clone());
        tasks.push(tokio::spawn(async move {
            let (from, to) = pair_of(task);
            let (from, to) = (&people[from], &people[to]);
            let mut stored = Vec::new();
            // Odd tasks send in calls of five, committed together; even tasks one by one.
            let per_call = if task % 2 == 1 { 5 } else { 1 };
            for start in (0..SENDS_PER_TASK).step_by(per_call) {
                let drafts = (start..start + per_call)
                    .map(|i| draft(from, to, &format!("t{task}-{i}"), &format!("{task}/{i}")))
                    .collect();
                for answer in send_all(store.as_ref(), drafts).await {
                    let sent = answer.expect("a concurrent send is stored");
                    assert!(sent.created);
                    stored.push(sent.message);
                }
            }
            stored
        }));
    }
    let mut by_user: BTreeMap<String, BTreeSet<MessageId>> = BTreeMap::new();
    let mut total = 0;
    for task in tasks {
        let stored = task.await.expect("the sending task finished");
        let seqs_in_order = stored
            .windows(2)
            .all(|w| w[0].id < w[1].id && w[0].seq < w[1].seq);
        assert!(seqs_in_order, "one sender's messages keep their order");
        for m in stored {
            by_user.entry(m.sender.clone()).or_default().insert(m.id);
            by_user
                .entry(m.recipient.clone().unwrap_or_default())
                .or_default()
                .insert(m.id);
            total += 1;
        }
    }
    assert_eq!(total, TASKS * SENDS_PER_TASK);

    let store = store.as_ref();
    let mut in_conversations = 0;
    for (i, a) in people.iter().enumerate() {
        for b in &people[i + 1..] {
            let messages = whole_history(store, a, b).await;
            let seqs: Vec<i64> = messages.iter().map(|m| m.seq).collect();
            let expected: Vec<i64> = (1..=messages.len() as i64).collect();
            assert_eq!(
                seqs, expected,
                "{} and {}: seqs 1..n",
                a.username, b.username
            );
            assert!(
                messages.windows(2).all(|w| w[0].id < w[1].id),
                "ids ascend with seq"
            );
            in_conversations += messages.len();
        }
    }
    assert_eq!(
        in_conversations, total,
        "every message in its conversation once"
    );

    for person in people.iter() {
        let events = all_events(store, person).await;
        let expected: Vec<i64> = (1..=events.len() as i64).collect();
        assert_eq!(
            cursors(&events),
            expected,
            "{}: cursors 1..m",
            person.username
        );
        assert_eq!(
            last_cursor(store, person).await,
            Cursor(events.len() as i64)
        );
        let ids = message_ids(&events);
        let distinct: BTreeSet<MessageId> = ids.iter().copied().collect();
        assert_eq!(
            distinct.len(),
            ids.len(),
            "{}: no message twice",
            person.username
        );
        let mine = by_user.remove(&person.username).unwrap_or_default();
        assert_eq!(
            distinct, mine,
            "{}: every message of theirs",
            person.username
        );
    }
}

async fn concurrent_retries_store_one_message(store: Arc<dyn Store>) {
    let [alice, bob] = users(store.as_ref(), ["alice", "bob"]).await;
    let mut tasks = Vec::new();
    for _ in 0..TASKS {
        let (store, alice, bob) = (store.clone(), alice.clone(), bob.clone());
        tasks.push(tokio::spawn(async move {
            let drafts = vec![draft(&alice, &bob, "once", "only once")];
            send_all(store.as_ref(), drafts)
                .await
                .pop()
                .expect("an answer")
        }));
    }
    let mut answers = Vec::new();
    for task in tasks {
        answers.push(
            task.await
                .expect("task")
                .expect("the send or its retry is stored"),
        );
    }
    let created = answers.iter().filter(|s| s.created).count();
    assert_eq!(created, 1, "exactly one call created the message");
    assert!(
        answers.iter().all(|s| s.message == answers[0].message),
        "all see one message"
    );
    let events: usize = answers.iter().map(|s| s.events.len()).sum();
    assert_eq!(
        events, 2,
        "one event per party, from the call that created it"
    );
    let store = store.as_ref();
    assert_eq!(whole_history(store, &alice, &bob).await.len(), 1);
    assert_eq!(cursors(&all_events(store, &bob).await), [1]);
    assert_eq!(cursors(&all_events(store, &alice).await), [1]);
}

stories! {
    concurrent_senders_keep_seqs_and_cursors_gap_free,
    concurrent_retries_store_one_message,
}
