//! Sessions and bearer tokens, stored by hash: a session reads back (user, CSRF token, expiry)
//! while `now` is before its expiry and not from the moment of expiry on; deleting a session or
//! token ends it alone; an unknown hash is `None`, never an error. Tokens have a public id
//! their owner lists and revokes them by (nobody else can), an optional expiry, and a last use
//! recorded at most once a minute; a password change ends every other session and token of
//! its user and says which; the purge removes exactly what has expired.

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

async fn tokens_are_listed_and_revoked_by_their_owner_only(store: &dyn Store) {
    let [alice, bob] = users(store, ["alice", "bob"]).await;
    let now = Timestamp::now();
    create_token_at(
        store,
        b"a1",
        "id-a1",
        &alice,
        Timestamp(now.0 - 2_000),
        None,
    )
    .await;
    create_token_at(
        store,
        b"a2",
        "id-a2",
        &alice,
        Timestamp(now.0 - 1_000),
        None,
    )
    .await;
    create_token_at(store, b"b1", "id-b1", &bob, now, None).await;

    let listed = tokens(store, &alice, now).await;
    let ids: Vec<&str> = listed.iter().map(|t| t.id.as_str()).collect();
    assert_eq!(ids, ["id-a1", "id-a2"], "alice's only, oldest first");
    assert_eq!(listed[0].created_at, Timestamp(now.0 - 2_000));
    assert_eq!(listed[0].last_used_at, None);
    let found = token_at(store, b"a2", now).await.expect("live");
    assert_eq!((found.user, found.id.as_str()), (alice.clone(), "id-a2"));

    assert_eq!(revoke_token(store, &bob, "id-a1").await, None, "not bob's");
    assert_eq!(revoke_token(store, &alice, "id-zz").await, None, "unknown");
    assert!(token_at(store, b"a1", now).await.is_some(), "still live");
    assert_eq!(
        revoke_token(store, &alice, "id-a1").await,
        Some(b"a1".to_vec())
    );
    assert!(token_at(store, b"a1", now).await.is_none(), "revoked");
    assert_eq!(revoke_token(store, &alice, "id-a1").await, None, "once");
    assert_eq!(tokens(store, &alice, now).await.len(), 1);
    assert_eq!(tokens(store, &bob, now).await.len(), 1, "bob's untouched");
}

async fn a_tokens_last_use_is_recorded_at_most_once_a_minute(store: &dyn Store) {
    let alice = user(store, "alice").await;
    let start = Timestamp::now();
    create_token_at(store, b"a1", "id-a1", &alice, start, None).await;
    touch_token(store, b"a1", start.plus_secs(5)).await;
    let used = |t: Option<TokenRecord>| t.expect("live").last_used_at;
    assert_eq!(
        used(token_at(store, b"a1", start).await),
        Some(start.plus_secs(5))
    );
    touch_token(store, b"a1", start.plus_secs(30)).await;
    assert_eq!(
        used(token_at(store, b"a1", start).await),
        Some(start.plus_secs(5)),
        "within a minute of the last record: unchanged"
    );
    touch_token(store, b"a1", start.plus_secs(70)).await;
    assert_eq!(
        used(token_at(store, b"a1", start).await),
        Some(start.plus_secs(70))
    );
    assert_eq!(
        tokens(store, &alice, start).await[0].last_used_at,
        Some(start.plus_secs(70))
    );
    touch_token(store, b"unknown", start).await;
}

async fn an_expiring_token_ends_at_its_expiry(store: &dyn Store) {
    let alice = user(store, "alice").await;
    let now = Timestamp::now();
    let expiry = now.plus_secs(3600);
    create_token_at(store, b"short", "id-s", &alice, now, Some(expiry)).await;
    create_token_at(store, b"forever", "id-f", &alice, now, None).await;
    let live = token_at(store, b"short", Timestamp(expiry.0 - 1))
        .await
        .expect("live before its expiry");
    assert_eq!(live.expires_at, Some(expiry));
    assert!(token_at(store, b"short", expiry).await.is_none());
    assert!(
        token_at(store, b"forever", expiry.plus_secs(86_400 * 365))
            .await
            .is_some()
    );
    let later: Vec<String> = tokens(store, &alice, expiry)
        .await
        .into_iter()
        .map(|t| t.id)
        .collect();
    assert_eq!(later, ["id-f"], "an expired token is not listed");
}

async fn a_password_change_ends_every_other_credential(store: &dyn Store) {
    let [alice, bob] = users(store, ["alice", "bob"]).await;
    let expiry = Timestamp::now().plus_secs(3600);
    let now = Timestamp::now();
    create_session(store, b"laptop", &alice, "c1", expiry).await;
    create_session(store, b"phone", &alice, "c2", expiry).await;
    create_session(store, b"bob-s", &bob, "c3", expiry).await;
    create_token(store, b"cli", &alice).await;
    create_token(store, b"bob-t", &bob).await;

    let mut ended = change_password(store, &alice, "new-hash", Some(b"laptop")).await;
    ended.sort();
    assert_eq!(ended, [b"cli".to_vec(), b"phone".to_vec()]);
    assert_eq!(credentials(store, "alice").await.unwrap().1, "new-hash");
    assert!(session(store, b"laptop", now).await.is_some(), "kept");
    assert!(session(store, b"phone", now).await.is_none());
    assert!(token_user(store, b"cli").await.is_none());
    assert!(session(store, b"bob-s", now).await.is_some(), "bob's stay");
    assert!(token_user(store, b"bob-t").await.is_some());
    assert_ne!(credentials(store, "bob").await.unwrap().1, "new-hash");

    // Keeping a token works the same; keeping nothing ends everything.
    create_token(store, b"cli2", &alice).await;
    let ended = change_password(store, &alice, "newer", Some(b"cli2")).await;
    assert_eq!(ended, [b"laptop".to_vec()]);
    assert!(token_user(store, b"cli2").await.is_some());
    let ended = change_password(store, &alice, "newest", None).await;
    assert_eq!(ended, [b"cli2".to_vec()]);
}

async fn the_purge_removes_what_has_expired_only(store: &dyn Store) {
    let alice = user(store, "alice").await;
    let now = Timestamp::now();
    create_session(store, b"old", &alice, "c1", now).await;
    create_session(store, b"new", &alice, "c2", now.plus_secs(60)).await;
    create_token_at(store, b"t-old", "id-o", &alice, now, Some(now)).await;
    create_token_at(
        store,
        b"t-new",
        "id-n",
        &alice,
        now,
        Some(now.plus_secs(60)),
    )
    .await;
    create_token_at(store, b"t-ever", "id-e", &alice, now, None).await;

    assert_eq!(purge_expired(store, now).await, 2);
    assert_eq!(purge_expired(store, now).await, 0, "nothing left to purge");
    // Only a lookup back in time would still find a purged row: none does.
    let before = Timestamp(now.0 - 1);
    assert!(session(store, b"old", before).await.is_none(), "gone");
    assert!(session(store, b"new", before).await.is_some());
    assert!(token_at(store, b"t-old", before).await.is_none(), "gone");
    assert!(token_at(store, b"t-new", before).await.is_some());
    assert!(token_at(store, b"t-ever", before).await.is_some());
}

stories! {
    a_session_lives_until_it_expires,
    a_deleted_session_is_gone_alone,
    tokens_are_created_looked_up_and_deleted,
    tokens_are_listed_and_revoked_by_their_owner_only,
    a_tokens_last_use_is_recorded_at_most_once_a_minute,
    an_expiring_token_ends_at_its_expiry,
    a_password_change_ends_every_other_credential,
    the_purge_removes_what_has_expired_only,
}
