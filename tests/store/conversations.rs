//! The conversation list: a user's conversations, newest activity first, at most `limit`; each
//! with the other party, its last message, and an unread count equal to a recount of the
//! messages to the user not yet read (delivered is still unread). A user without messages has
//! an empty list.

use crate::calls::*;

/// Messages to `me` from `other` not yet read, counted from history.
async fn recount_unread(store: &dyn Store, me: &User, other: &User) -> i64 {
    let messages = whole_history(store, me, other).await;
    let unread = messages.iter().filter(|m| {
        m.recipient.as_deref() == Some(me.username.as_str())
            && m.status != Some(MessageStatus::Read)
    });
    unread.count() as i64
}

async fn the_newest_activity_comes_first_with_its_last_message(store: &dyn Store) {
    let [alice, bob, carol, dave] = users(store, ["alice", "bob", "carol", "dave"]).await;
    assert!(conversations(store, &alice, 10).await.is_empty());
    send(store, &alice, &bob, "a1", "to bob").await;
    send(store, &carol, &alice, "c1", "from carol").await;
    send(store, &alice, &dave, "a2", "to dave").await;
    let last = send(store, &bob, &alice, "b1", "bob again").await.message;

    let list = conversations(store, &alice, 10).await;
    let order: Vec<&str> = list.iter().map(with).collect();
    assert_eq!(order, ["bob", "dave", "carol"]);
    assert_eq!(list[0].last_message.as_ref(), Some(&last));
    assert_eq!(
        list[2].last_message.as_ref().map(|m| m.body.as_str()),
        Some("from carol")
    );
    assert_eq!(list[0].with, Some(bob));

    let top: Vec<String> = conversations(store, &alice, 2)
        .await
        .iter()
        .map(|s| with(s).to_owned())
        .collect();
    assert_eq!(top, ["bob", "dave"]);
    let carols: Vec<String> = conversations(store, &carol, 10)
        .await
        .iter()
        .map(|s| with(s).to_owned())
        .collect();
    assert_eq!(carols, ["alice"]);
}

async fn unread_counts_equal_a_recount(store: &dyn Store) {
    let [alice, bob, carol] = users(store, ["alice", "bob", "carol"]).await;
    let mut to_bob = Vec::new();
    for i in 0..4 {
        to_bob.push(
            send(store, &alice, &bob, &format!("a{i}"), "hi")
                .await
                .message
                .id,
        );
    }
    send(store, &bob, &alice, "b1", "hello").await;
    send(store, &carol, &bob, "c1", "hey").await;
    mark(store, &bob, &[to_bob[3]], MessageStatus::Delivered)
        .await
        .expect("delivered");
    read_up_to(store, &bob, &alice, to_bob[1])
        .await
        .expect("read two");

    let expected = [
        (&bob, &alice, 2),
        (&bob, &carol, 1),
        (&alice, &bob, 1),
        (&carol, &bob, 0),
    ];
    for (me, other, unread) in expected {
        let list = conversations(store, me, 10).await;
        let summary = list
            .iter()
            .find(|s| with(s) == other.username)
            .expect("listed");
        assert_eq!(
            summary.unread, unread,
            "{} with {}",
            me.username, other.username
        );
        assert_eq!(summary.unread, recount_unread(store, me, other).await);
    }
}

stories! {
    the_newest_activity_comes_first_with_its_last_message,
    unread_counts_equal_a_recount,
}
