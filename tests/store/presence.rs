//! Presence's audience: a user's contacts are exactly the people they share a conversation
//! with (whoever wrote first, each listed once, never the user), and each contact carries the
//! last-seen time last recorded for them (none before any).

use crate::calls::*;

async fn contacts_are_the_people_one_shares_a_conversation_with(store: &dyn Store) {
    let [alice, bob, carol, dave] = users(store, ["alice", "bob", "carol", "dave"]).await;
    assert!(contacts(store, &alice).await.is_empty());
    send(store, &alice, &bob, "a1", "hi").await;
    send(store, &bob, &alice, "b1", "hi back").await;
    send(store, &carol, &alice, "c1", "hello").await;

    let names = |list: Vec<(String, Option<Timestamp>)>| -> Vec<String> {
        list.into_iter().map(|(name, _)| name).collect()
    };
    assert_eq!(names(contacts(store, &alice).await), ["bob", "carol"]);
    assert_eq!(names(contacts(store, &carol).await), ["alice"]);
    assert!(contacts(store, &dave).await.is_empty());
}

async fn contacts_carry_the_last_seen_time(store: &dyn Store) {
    let [alice, bob] = users(store, ["alice", "bob"]).await;
    send(store, &alice, &bob, "a1", "hi").await;
    assert_eq!(contacts(store, &alice).await, [("bob".to_owned(), None)]);

    let first = Timestamp(1_700_000_000_000);
    set_last_seen(store, &bob, first).await;
    assert_eq!(
        contacts(store, &alice).await,
        [("bob".to_owned(), Some(first))]
    );
    let later = first.plus_secs(90);
    set_last_seen(store, &bob, later).await;
    assert_eq!(
        contacts(store, &alice).await,
        [("bob".to_owned(), Some(later))]
    );
    assert_eq!(contacts(store, &bob).await, [("alice".to_owned(), None)]);
}

stories! {
    contacts_are_the_people_one_shares_a_conversation_with,
    contacts_carry_the_last_seen_time,
}
