//! Accounts: a username is taken once (`Conflict` for the second claim, the first account
//! untouched); an account reads back the same by username, with credentials, and not at all
//! under a name nobody has; user search is by literal prefix (`_` and `%` are not wildcards),
//! excludes the searcher, is alphabetical and stops at the limit.

use crate::calls::*;

async fn a_created_user_reads_back_by_username(store: &dyn Store) {
    let alice = try_create_user(store, "Alice", "Alice Liddell")
        .await
        .expect("created");
    assert_eq!(alice.username, "alice", "usernames are stored lower-case");
    assert_eq!(alice.display_name, "Alice Liddell");
    let bob = user(store, "bob").await;
    assert_ne!(alice.id, bob.id, "each user has an id of their own");

    assert_eq!(user_named(store, "alice").await, Some(alice.clone()));
    assert_eq!(user_named(store, "ALICE").await, Some(alice.clone()));
    let (found, hash) = credentials(store, "alice").await.expect("credentials");
    assert_eq!(found, alice);
    assert_eq!(hash, "hash-of-alice");
    assert_eq!(user_named(store, "carol").await, None);
    assert!(credentials(store, "carol").await.is_none());
}

async fn a_taken_username_is_a_conflict(store: &dyn Store) {
    let first = try_create_user(store, "alice", "First")
        .await
        .expect("created");
    let second = try_create_user(store, "ALICE", "Second").await;
    assert!(
        matches!(second, Err(StoreError::Conflict(_))),
        "a second alice: {second:?}"
    );
    assert_eq!(user_named(store, "alice").await, Some(first));
    let again = try_create_user(store, "alice2", "Other").await;
    assert!(again.is_ok(), "a free name still works after a conflict");
}

async fn search_is_by_prefix_alphabetical_excluding_and_limited(store: &dyn Store) {
    let [me, ..] = users(store, ["anna", "bob", "annie", "ann", "anders", "xann"]).await;
    assert_eq!(search(store, "ann", &me, 10).await, ["ann", "annie"]);
    assert_eq!(
        search(store, "an", &me, 10).await,
        ["anders", "ann", "annie"]
    );
    assert_eq!(search(store, "an", &me, 2).await, ["anders", "ann"]);
    assert_eq!(search(store, "", &me, 3).await, ["anders", "ann", "annie"]);
    assert_eq!(search(store, "zed", &me, 10).await, Vec::<String>::new());
    let bob = user_named(store, "bob").await.expect("bob");
    assert_eq!(
        search(store, "ann", &bob, 10).await,
        ["ann", "anna", "annie"]
    );
}

async fn search_wildcards_match_literally(store: &dyn Store) {
    let [me, ..] = users(store, ["zoe", "a_b", "axb", "a.b", "a-b"]).await;
    assert_eq!(search(store, "a_", &me, 10).await, ["a_b"], "_ is literal");
    assert_eq!(
        search(store, "a%", &me, 10).await,
        Vec::<String>::new(),
        "% is literal"
    );
    assert_eq!(
        search(store, "%", &me, 10).await,
        Vec::<String>::new(),
        "% is literal"
    );
    assert_eq!(
        search(store, "_", &me, 10).await,
        Vec::<String>::new(),
        "_ is literal"
    );
    assert_eq!(
        search(store, "a\\", &me, 10).await,
        Vec::<String>::new(),
        "\\ is literal"
    );
    assert_eq!(
        search(store, "a", &me, 10).await,
        ["a-b", "a.b", "a_b", "axb"]
    );
}

stories! {
    a_created_user_reads_back_by_username,
    a_taken_username_is_a_conflict,
    search_is_by_prefix_alphabetical_excluding_and_limited,
    search_wildcards_match_literally,
}
