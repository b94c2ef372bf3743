//! History and a chat view's re-sync: `history` pages backwards from `before` (or the newest),
//! at most `limit` messages, each page ascending, `has_more` true exactly when older ones
//! remain; both parties read the same conversation, and a pair with no messages reads empty.
//! `conversation_sync` gives the messages after an id (ascending, at most `limit`, `has_more`)
//! and the current statuses of the messages up to it, ascending.

use crate::calls::*;

/// Sends `n` messages alternating between `a` and `b`, starting with `a`; returns their ids.
async fn exchange(store: &dyn Store, a: &User, b: &User, n: usize) -> Vec<MessageId> {
    let mut ids = Vec::with_capacity(n);
    for i in 0..n {
        let (from, to) = if i % 2 == 0 { (a, b) } else { (b, a) };
        let client_id = format!("{}-{}-{i}", a.username, b.username);
        let sent = send(store, from, to, &client_id, &format!("message {i}")).await;
        ids.push(sent.message.id);
    }
    ids
}

fn ids_of(messages: &[Message]) -> Vec<MessageId> {
    messages.iter().map(|m| m.id).collect()
}

async fn history_pages_backwards_each_page_ascending(store: &dyn Store) {
    let [alice, bob, carol] = users(store, ["alice", "bob", "carol"]).await;
    let ids = exchange(store, &alice, &bob, 7).await;
    exchange(store, &alice, &carol, 3).await;

    let mut before = None;
    for (range, more) in [(4..7, true), (1..4, true), (0..1, false)] {
        let page = history(store, &alice, &bob, before, 3).await;
        assert_eq!(
            ids_of(&page.messages),
            ids[range.clone()],
            "before {before:?}"
        );
        assert_eq!(page.has_more, more, "before {before:?}");
        let seqs: Vec<i64> = page.messages.iter().map(|m| m.seq).collect();
        let expected: Vec<i64> = range.map(|i| i as i64 + 1).collect();
        assert_eq!(seqs, expected);
        before = page.messages.first().map(|m| m.id);
    }
    let exact = history(store, &bob, &alice, Some(ids[3]), 3).await;
    assert_eq!(
        ids_of(&exact.messages),
        ids[0..3],
        "bob reads the same conversation"
    );
    assert!(
        !exact.has_more,
        "a page that ends at the first message has no more"
    );
    let whole = history(store, &bob, &alice, None, 7).await;
    assert_eq!(
        (ids_of(&whole.messages), whole.has_more),
        (ids.clone(), false)
    );
    let strangers = history(store, &bob, &carol, None, 10).await;
    assert!(strangers.messages.is_empty() && !strangers.has_more);
}

async fn conversation_sync_gives_messages_after_and_statuses_up_to(store: &dyn Store) {
    let [alice, bob] = users(store, ["alice", "bob"]).await;
    let ids = exchange(store, &alice, &bob, 5).await;
    mark(store, &bob, &[ids[0]], MessageStatus::Read)
        .await
        .expect("read");
    mark(store, &alice, &[ids[1]], MessageStatus::Delivered)
        .await
        .expect("delivered");

    let sync = conversation_sync(store, &bob, &alice, ids[2], 10).await;
    assert_eq!(ids_of(&sync.messages), ids[3..5]);
    assert!(!sync.has_more);
    let expected = [
        (ids[0], MessageStatus::Read),
        (ids[1], MessageStatus::Delivered),
        (ids[2], MessageStatus::Sent),
    ];
    assert_eq!(sync.statuses, expected);

    let short = conversation_sync(store, &alice, &bob, ids[2], 1).await;
    assert_eq!(
        (ids_of(&short.messages), short.has_more),
        (vec![ids[3]], true)
    );
    let from_start = conversation_sync(store, &alice, &bob, MessageId(0), 10).await;
    assert_eq!(ids_of(&from_start.messages), ids);
    assert!(from_start.statuses.is_empty(), "nothing up to id 0");
    let at_end = conversation_sync(store, &alice, &bob, ids[4], 10).await;
    assert!(at_end.messages.is_empty() && !at_end.has_more);
    assert_eq!(at_end.statuses.len(), 5);
}

/// Conversation-first: a read that names a conversation the reader is not a member of (or one
/// that does not exist) is `NotFound`, never someone else's messages; so is a read-up-to.
async fn a_conversation_is_not_found_to_a_non_member(store: &dyn Store) {
    let [alice, bob, carol] = users(store, ["alice", "bob", "carol"]).await;
    let ids = exchange(store, &alice, &bob, 3).await;
    let theirs = direct(store, &alice, &bob)
        .await
        .expect("alice and bob have begun");
    assert_eq!(
        direct(store, &bob, &alice).await,
        Some(theirs),
        "one either way"
    );
    assert_eq!(
        direct(store, &alice, &carol).await,
        None,
        "not before a message"
    );
    let unknown = ConversationId(theirs.0 + 1000);
    for conversation in [theirs, unknown] {
        let history = try_history_of(store, &carol, conversation, None, 50).await;
        assert!(matches!(history, Err(StoreError::NotFound)), "{history:?}");
        let synced = try_conversation_sync_of(store, &carol, conversation, MessageId(0), 50).await;
        assert!(matches!(synced, Err(StoreError::NotFound)), "{synced:?}");
        let read = read_up_to_in(store, &carol, conversation, ids[2]).await;
        assert!(matches!(read, Err(StoreError::NotFound)), "{read:?}");
    }
    let members = try_history_of(store, &bob, theirs, None, 50)
        .await
        .expect("a member reads");
    assert_eq!(ids_of(&members.messages), ids);
    assert!(
        members
            .messages
            .iter()
            .all(|m| m.status == Some(MessageStatus::Sent)),
        "nothing was marked by the stranger"
    );
    let unknown_for_member = try_history_of(store, &bob, unknown, None, 50).await;
    assert!(matches!(unknown_for_member, Err(StoreError::NotFound)));
}

stories! {
    a_conversation_is_not_found_to_a_non_member,
    history_pages_backwards_each_page_ascending,
    conversation_sync_gives_messages_after_and_statuses_up_to,
}
