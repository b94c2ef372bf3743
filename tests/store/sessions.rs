//! Sessions and bearer tokens, stored by hash: a session reads back (user, CSRF token, expiry)
//! while `now` is before its expiry and not from the moment of expiry on; deleting a session or
//! token ends it alone; an unknown hash is `None`, never an error.

use crate::calls::*;

async fn a_session_lives_until_it_expires(store: &dyn Store) {
    let [alice, bob] = users(store, ["alice", "bob"]).await;
    let expiry = Timestamp::now().plus_secs(3600);
    create_session(store, b"alice-session", &alice, "csrf-a", expiry).await;
    create_session(store, b"bob-session", &bob, "csrf-b", expiry.plus_secs(1)).await;

    let before = Timestamp(expiry.0 - 1);
    let live = session(store, b"alice-session", before)
        .await
        .expect("live");
    assert_eq!(live.user, alice);
    assert_eq!(live.csrf_token, "csrf-a");
    assert_eq!(live.expires_at, expiry);
    assert!(
        session(store, b"alice-session", expiry).await.is_none(),
        "expired at expiry"
    );
    let later = expiry.plus_secs(1);
    assert!(session(store, b"alice-session", later).await.is_none());
    let other = session(store, b"bob-session", expiry)
        .await
        .expect("bob's still live");
    assert_eq!(other.user, bob);
    assert!(session(store, b"nobody", before).await.is_none());
}

async fn a_deleted_session_is_gone_alone(store: &dyn Store) {
    let alice = user(store, "alice").await;
    let expiry = Timestamp::now().plus_secs(3600);
    create_session(store, b"phone", &alice, "csrf-1", expiry).await;
    create_session(store, b"laptop", &alice, "csrf-2", expiry).await;
    let now = Timestamp::now();

    delete_session(store, b"phone").await;
    assert!(session(store, b"phone", now).await.is_none());
    let kept = session(store, b"laptop", now)
        .await
        .expect("the other session stays");
    assert_eq!(kept.csrf_token, "csrf-2");
    delete_session(store, b"phone").await;
    delete_session(store, b"never-existed").await;
}

async fn tokens_are_created_looked_up_and_deleted(store: &dyn Store) {
    let [alice, bob] = users(store, ["alice", "bob"]).await;
    create_token(store, b"token-a1", &alice).await;
    create_token(store, b"token-a2", &alice).await;
    create_token(store, b"token-b", &bob).await;

    assert_eq!(token_user(store, b"token-a1").await, Some(alice.clone()));
    assert_eq!(token_user(store, b"token-b").await, Some(bob));
    assert_eq!(token_user(store, b"unknown").await, None);

    delete_token(store, b"token-a1").await;
    assert_eq!(token_user(store, b"token-a1").await, None);
    assert_eq!(
        token_user(store, b"token-a2").await,
        Some(alice),
        "deleted alone"
    );
    delete_token(store, b"unknown").await;
}

stories! {
    a_session_lives_until_it_expires,
    a_deleted_session_is_gone_alone,
    tokens_are_created_looked_up_and_deleted,
}
