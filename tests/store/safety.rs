//! Blocks and message requests (PROTOCOL.md, Safety and privacy): a block refuses sends either
//! way and group adds, and is listed; with message requests on, a first contact is a request
//! for its recipient (3 messages, read receipts withheld) until they accept, reply, or share an
//! accepted group with the sender; a decline hides it and refuses the sender until the
//! recipient writes; a group add by someone who could only send a request is a group request.
//! What typing and presence may cross is read here too.

use crate::calls::*;

const CANNOT_MESSAGE: &str = "cannot_message_user";
const CANNOT_ADD: &str = "cannot_add_user";
const PENDING: &str = "request_pending";

async fn a_block_refuses_sends_either_way_until_lifted(store: &dyn Store) {
    let [alice, bob] = users(store, ["alice", "bob"]).await;
    send(store, &alice, &bob, "a1", "hi").await;
    store
        .block(alice.id, bob.id, Timestamp::now())
        .await
        .unwrap();
    store
        .block(alice.id, bob.id, Timestamp::now())
        .await
        .unwrap();
    let blocked = store.blocked_users(alice.id).await.unwrap();
    assert_eq!(
        blocked
            .iter()
            .map(|u| u.username.as_str())
            .collect::<Vec<_>>(),
        ["bob"]
    );
    assert!(store.blocked_users(bob.id).await.unwrap().is_empty());

    assert_eq!(
        refusal_code(try_send(store, &bob, &alice, "b1", "hey").await),
        CANNOT_MESSAGE
    );
    assert_eq!(
        refusal_code(try_send(store, &alice, &bob, "a2", "hey").await),
        CANNOT_MESSAGE
    );
    // A first message to a stranger who blocks you is refused as well.
    let carol = user(store, "carol").await;
    store
        .block(carol.id, alice.id, Timestamp::now())
        .await
        .unwrap();
    assert_eq!(
        refusal_code(try_send(store, &alice, &carol, "a3", "hey").await),
        CANNOT_MESSAGE
    );
    assert_eq!(
        whole_history(store, &bob, &alice).await.len(),
        1,
        "nothing stored"
    );

    store.unblock(alice.id, bob.id).await.unwrap();
    assert!(store.blocked_users(alice.id).await.unwrap().is_empty());
    assert!(try_send(store, &bob, &alice, "b1", "hey").await.is_ok());
}

async fn a_block_refuses_group_adds_and_creations(store: &dyn Store) {
    let [alice, bob, carol] = users(store, ["alice", "bob", "carol"]).await;
    store
        .block(bob.id, alice.id, Timestamp::now())
        .await
        .unwrap();
    let members = [&bob, &carol];
    let created = try_create_group(store, &alice, "g1", "Team", &members, Settings::default());
    assert_eq!(refusal_code(created.await), CANNOT_ADD);
    assert!(
        conversations(store, &carol, 10).await.is_empty(),
        "nothing created"
    );

    let group = group_of(store, &carol, "Team", &[&alice]).await;
    // Carol may add Bob; Alice may not (Bob blocks her), and neither may Bob add Alice.
    let added = change(store, &alice, group, GroupEdit::Add(vec![bob.clone()])).await;
    assert_eq!(refusal_code(added), CANNOT_ADD);
    change(store, &carol, group, GroupEdit::Add(vec![bob.clone()]))
        .await
        .unwrap();
    // Existing memberships stay and the group's messages flow.
    let sent = try_send_to_group(store, &alice, group, "ga", "hello all").await;
    assert!(sent.is_ok());
}

async fn a_first_contact_is_a_request_of_three_messages(store: &dyn Store) {
    let [alice, bob] = users(store, ["alice", "bob"]).await;
    for n in 1..=3 {
        request_send(store, &alice, &bob, &format!("a{n}")).await;
    }
    assert_eq!(listed(store, &bob, "alice").await, Some(true));
    assert_eq!(listed(store, &alice, "bob").await, Some(false));
    assert_eq!(
        refusal_code(try_request_send(store, &alice, &bob, "a4").await),
        PENDING
    );
    let retry = request_send(store, &alice, &bob, "a2").await;
    assert!(!retry.created, "a retry of a stored one is answered");
    assert_eq!(whole_history(store, &bob, &alice).await.len(), 3);

    // The recipient's reply ends it for good.
    request_send(store, &bob, &alice, "b1").await;
    assert_eq!(listed(store, &bob, "alice").await, Some(false));
    for n in 4..=8 {
        request_send(store, &alice, &bob, &format!("a{n}")).await;
    }
}

async fn requests_are_judged_in_order_within_one_batch(store: &dyn Store) {
    let [alice, bob] = users(store, ["alice", "bob"]).await;
    let drafts = (1..=5)
        .map(|n| requesting(draft(&alice, &bob, &format!("a{n}"), "hi")))
        .collect();
    let answers = send_all(store, drafts).await;
    let refused: Vec<bool> = answers.iter().map(Result::is_err).collect();
    assert_eq!(refused, [false, false, false, true, true]);
    assert_eq!(refusal_code(answers.into_iter().nth(3).unwrap()), PENDING);
}

async fn with_requests_off_nothing_is_a_request(store: &dyn Store) {
    let [alice, bob] = users(store, ["alice", "bob"]).await;
    for n in 1..=5 {
        send(store, &alice, &bob, &format!("a{n}"), "hi").await;
    }
    assert_eq!(listed(store, &bob, "alice").await, Some(false));
}

async fn read_receipts_wait_for_the_accept(store: &dyn Store) {
    let [alice, bob] = users(store, ["alice", "bob"]).await;
    let first = request_send(store, &alice, &bob, "a1").await.message;
    let second = request_send(store, &alice, &bob, "a2").await.message;
    let marked = mark(store, &bob, &[second.id], MessageStatus::Read)
        .await
        .unwrap();
    let to_alice: Vec<_> = marked
        .events
        .iter()
        .filter(|e| e.user == alice.id)
        .collect();
    assert_eq!(
        to_alice.len(),
        1,
        "alice hears of delivery only: {to_alice:?}"
    );
    match &to_alice[0].event {
        Event::Status {
            status,
            message_ids,
            ..
        } => {
            assert_eq!(*status, MessageStatus::Delivered);
            assert_eq!(message_ids, &vec![first.id, second.id]);
        }
        other => panic!("a status event, got {other:?}"),
    }
    let seen: Vec<_> = whole_history(store, &alice, &bob)
        .await
        .iter()
        .map(|m| m.status)
        .collect();
    assert_eq!(
        seen,
        [Some(MessageStatus::Delivered); 2],
        "the sender sees at most delivered"
    );
    let info = message_receipts(store, &alice, second.id).await.unwrap();
    assert!(info.read.is_empty() && info.delivered.len() == 1);
    let own: Vec<_> = whole_history(store, &bob, &alice)
        .await
        .iter()
        .map(|m| m.status)
        .collect();
    assert_eq!(
        own,
        [Some(MessageStatus::Read); 2],
        "the reader's own view is theirs"
    );

    let released = store
        .accept_request(&bob, alice.id, Timestamp::now())
        .await
        .unwrap();
    assert_eq!(released.len(), 1);
    assert_eq!(released[0].user, alice.id);
    match &released[0].event {
        Event::Status {
            status,
            message_ids,
            by,
            ..
        } => {
            assert_eq!((*status, by.as_str()), (MessageStatus::Read, "bob"));
            assert_eq!(message_ids, &vec![first.id, second.id]);
        }
        other => panic!("a status event, got {other:?}"),
    }
    let seen: Vec<_> = whole_history(store, &alice, &bob)
        .await
        .iter()
        .map(|m| m.status)
        .collect();
    assert_eq!(seen, [Some(MessageStatus::Read); 2]);
    assert_eq!(listed(store, &bob, "alice").await, Some(false));
    assert!(
        store
            .accept_request(&bob, alice.id, Timestamp::now())
            .await
            .unwrap()
            .is_empty()
    );
    for n in 3..=6 {
        request_send(store, &alice, &bob, &format!("a{n}")).await;
    }
}

async fn a_decline_hides_and_refuses_until_the_recipient_writes(store: &dyn Store) {
    let [alice, bob, carol] = users(store, ["alice", "bob", "carol"]).await;
    request_send(store, &alice, &bob, "a1").await;
    store.decline_request(bob.id, alice.id).await.unwrap();
    assert_eq!(listed(store, &bob, "alice").await, None, "hidden from bob");
    assert_eq!(listed(store, &alice, "bob").await, Some(false));
    assert_eq!(
        refusal_code(try_request_send(store, &alice, &bob, "a2").await),
        CANNOT_MESSAGE
    );
    // Accepting is for pending requests: it does not lift a decline.
    let accepted = store
        .accept_request(&bob, alice.id, Timestamp::now())
        .await
        .unwrap();
    assert!(accepted.is_empty());
    assert_eq!(listed(store, &bob, "alice").await, None);
    // A later shared group does not lift it.
    let group = create_group_requesting(store, &carol, "g1", &[&alice, &bob])
        .await
        .unwrap();
    let group = group.group.unwrap().id;
    store.accept_group(bob.id, group).await.unwrap();
    store.accept_group(alice.id, group).await.unwrap();
    assert_eq!(
        refusal_code(try_request_send(store, &alice, &bob, "a2").await),
        CANNOT_MESSAGE
    );
    // Until bob writes to alice.
    request_send(store, &bob, &alice, "b1").await;
    assert_eq!(listed(store, &bob, "alice").await, Some(false));
    request_send(store, &alice, &bob, "a2").await;
}

async fn a_shared_accepted_group_makes_no_request(store: &dyn Store) {
    let [alice, bob, carol] = users(store, ["alice", "bob", "carol"]).await;
    // Carol knows both (each wrote to her), so her group is a request for neither.
    send(store, &alice, &carol, "a0", "hi").await;
    send(store, &bob, &carol, "b0", "hi").await;
    let made = create_group_requesting(store, &carol, "g1", &[&alice, &bob])
        .await
        .unwrap();
    assert_eq!(listed(store, &alice, "Team").await, Some(false));
    request_send(store, &alice, &bob, "a1").await;
    assert_eq!(listed(store, &bob, "alice").await, Some(false));
    let _ = made;
}

async fn a_common_accepted_group_ends_a_pending_request(store: &dyn Store) {
    let [alice, bob, carol] = users(store, ["alice", "bob", "carol"]).await;
    request_send(store, &alice, &bob, "a1").await;
    assert_eq!(listed(store, &bob, "alice").await, Some(true));
    send(store, &alice, &carol, "a0", "hi").await;
    send(store, &bob, &carol, "b0", "hi").await;
    create_group_requesting(store, &carol, "g1", &[&alice, &bob])
        .await
        .unwrap();
    assert_eq!(
        listed(store, &bob, "alice").await,
        Some(false),
        "lifted for good"
    );
}

async fn an_add_by_a_stranger_is_a_group_request(store: &dyn Store) {
    let [alice, bob, dave] = users(store, ["alice", "bob", "dave"]).await;
    let group = create_group_requesting(store, &alice, "g1", &[&bob])
        .await
        .unwrap();
    let group = group.group.unwrap().id;
    assert_eq!(listed(store, &bob, "Team").await, Some(true));
    assert_eq!(listed(store, &alice, "Team").await, Some(false));
    // Not shared yet: alice's first message to bob is still a request.
    request_send(store, &alice, &bob, "a1").await;
    assert_eq!(listed(store, &bob, "alice").await, Some(true));
    // Accepting the group makes it shared, which ends the direct request.
    store.accept_group(bob.id, group).await.unwrap();
    assert_eq!(listed(store, &bob, "Team").await, Some(false));
    assert_eq!(listed(store, &bob, "alice").await, Some(false));
    store.accept_group(bob.id, group).await.unwrap();
    assert!(matches!(
        store.accept_group(dave.id, group).await,
        Err(StoreError::NotFound)
    ));

    // A send in a group request accepts it; leaving one declines it (it leaves the list).
    let other = create_group_requesting(store, &dave, "g2", &[&alice, &bob])
        .await
        .unwrap();
    let other = other.group.unwrap().id;
    let request_for =
        |items: Vec<ConversationSummary>| items.iter().find(|c| c.id == other).map(|c| c.request);
    assert_eq!(
        request_for(conversations(store, &alice, 10).await),
        Some(true)
    );
    try_send_to_group(store, &alice, other, "ga", "hello")
        .await
        .unwrap();
    assert_eq!(
        request_for(conversations(store, &alice, 10).await),
        Some(false)
    );
    let items = conversations(store, &alice, 10).await;
    assert!(
        items
            .iter()
            .filter(|c| c.group.is_some())
            .all(|c| !c.request)
    );
    // Bob's list still shows alice's group accepted and dave's as a request.
    add_requesting(store, &alice, group, &[&dave])
        .await
        .unwrap();
    change(store, &bob, other, GroupEdit::Leave).await.unwrap();
    let bobs = conversations(store, &bob, 10).await;
    assert!(
        bobs.iter().all(|c| c.id != other),
        "a declined group leaves the list"
    );
}

async fn a_pending_request_from_someone_blocked_leaves_the_list(store: &dyn Store) {
    let [alice, bob] = users(store, ["alice", "bob"]).await;
    request_send(store, &alice, &bob, "a1").await;
    store
        .block(bob.id, alice.id, Timestamp::now())
        .await
        .unwrap();
    assert_eq!(listed(store, &bob, "alice").await, None);
    store.unblock(bob.id, alice.id).await.unwrap();
    assert_eq!(listed(store, &bob, "alice").await, Some(true));
}

async fn typing_and_presence_cross_only_what_is_shared(store: &dyn Store) {
    let [alice, bob, carol, dave] = users(store, ["alice", "bob", "carol", "dave"]).await;
    assert!(
        !store.typing_allowed(alice.id, bob.id).await.unwrap(),
        "strangers"
    );
    request_send(store, &alice, &bob, "a1").await;
    assert!(
        store.typing_allowed(alice.id, bob.id).await.unwrap(),
        "the sender types"
    );
    assert!(
        !store.typing_allowed(bob.id, alice.id).await.unwrap(),
        "the recipient does not"
    );
    assert_eq!(
        presence_contacts(store, &bob).await,
        [("alice".into(), false, true)]
    );
    assert_eq!(
        presence_contacts(store, &alice).await,
        [("bob".into(), true, false)]
    );

    send(store, &carol, &dave, "c1", "hi").await;
    send(store, &dave, &carol, "d1", "hi").await;
    assert!(store.typing_allowed(dave.id, carol.id).await.unwrap());
    store
        .block(carol.id, dave.id, Timestamp::now())
        .await
        .unwrap();
    assert!(!store.typing_allowed(dave.id, carol.id).await.unwrap());
    assert!(!store.typing_allowed(carol.id, dave.id).await.unwrap());
    assert!(presence_contacts(store, &dave).await.is_empty());
    assert_eq!(store.block_peers(dave.id).await.unwrap(), [carol.id]);

    store.decline_request(bob.id, alice.id).await.unwrap();
    assert!(!store.typing_allowed(alice.id, bob.id).await.unwrap());
    assert_eq!(
        presence_contacts(store, &alice).await,
        [("bob".into(), false, false)]
    );
}

stories!(
    a_block_refuses_sends_either_way_until_lifted,
    a_block_refuses_group_adds_and_creations,
    a_first_contact_is_a_request_of_three_messages,
    requests_are_judged_in_order_within_one_batch,
    with_requests_off_nothing_is_a_request,
    read_receipts_wait_for_the_accept,
    a_decline_hides_and_refuses_until_the_recipient_writes,
    a_shared_accepted_group_makes_no_request,
    a_common_accepted_group_ends_a_pending_request,
    an_add_by_a_stranger_is_a_group_request,
    a_pending_request_from_someone_blocked_leaves_the_list,
    typing_and_presence_cross_only_what_is_shared,
);
