//! Groups: creation (idempotent on the creator's `client_id`, a `created` system message at
//! seq 1 for every member), roles and who may change what, visible ranges (whole history under
//! `shared`, from one's add under `joined`, up to one's exit after leaving or removal), one
//! event per message inside a member's range and none outside it, the owner's hand-over, and
//! per-member receipts: the sender's aggregate and counts, the events each receipt and exit
//! sends, and "message info".

use std::collections::BTreeSet;
use std::sync::Arc;

use crate::calls::*;
use crate::observe::*;

fn refused(result: Result<GroupWrite, StoreError>) -> Option<Refusal> {
    match result {
        Err(StoreError::Refused(refusal, _)) => Some(refusal),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

/// The whole conversation as `member` sees it, ascending.
async fn group_history(store: &dyn Store, member: &User, group: ConversationId) -> Vec<Message> {
    try_history_of(store, member, group, None, 10_000)
        .await
        .expect("history")
        .messages
}

async fn a_group_starts_with_its_created_message_and_retries_create_nothing(store: &dyn Store) {
    let [alice, bob, carol] = users(store, ["alice", "bob", "carol"]).await;
    let made = try_create_group(
        store,
        &alice,
        "g1",
        "Team",
        &[&bob, &carol],
        Settings::default(),
    )
    .await
    .expect("created");
    assert!(made.created);
    let group = made.group.clone().expect("group");
    assert_eq!(
        (group.title.as_str(), group.member_count, group.role),
        ("Team", 3, Some(Role::Owner))
    );
    let [created] = &made.messages[..] else {
        panic!("one system message: {:?}", made.messages);
    };
    assert_eq!((created.seq, created.status), (1, None));
    let system = created.system.as_ref().expect("a system record");
    assert_eq!(
        (system.event.as_str(), system.targets.clone()),
        ("created", vec!["bob".to_owned(), "carol".to_owned()])
    );
    let told: BTreeSet<i64> = made.events.iter().map(|e| e.user.0).collect();
    assert_eq!(told, [alice.id.0, bob.id.0, carol.id.0].into());

    let again = try_create_group(
        store,
        &alice,
        "g1",
        "Team",
        &[&carol, &bob],
        Settings::default(),
    )
    .await
    .expect("a retry");
    assert!(!again.created && again.events.is_empty());
    assert_eq!(again.group.map(|g| g.id), Some(group.id));
    assert!(matches!(
        try_create_group(
            store,
            &alice,
            "g1",
            "Other",
            &[&bob, &carol],
            Settings::default()
        )
        .await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(group_history(store, &bob, group.id).await.len(), 1);
}

async fn roles_decide_who_may_change_what(store: &dyn Store) {
    let [alice, bob, carol, dan] = users(store, ["alice", "bob", "carol", "dan"]).await;
    let group = group_of(store, &alice, "Team", &[&bob, &carol, &dan]).await;
    let forbidden = |code| Some(Refusal::Forbidden(code));
    assert_eq!(
        refused(change(store, &bob, group, GroupEdit::Remove(carol.clone())).await),
        forbidden("admin_required")
    );
    change(
        store,
        &alice,
        group,
        GroupEdit::SetRole(bob.clone(), Role::Admin),
    )
    .await
    .expect("the owner makes an admin");
    change(
        store,
        &bob,
        group,
        GroupEdit::SetRole(carol.clone(), Role::Admin),
    )
    .await
    .expect("an admin makes an admin");
    assert_eq!(
        refused(
            change(
                store,
                &bob,
                group,
                GroupEdit::SetRole(carol.clone(), Role::Member)
            )
            .await
        ),
        forbidden("owner_required")
    );
    assert_eq!(
        refused(change(store, &bob, group, GroupEdit::Remove(alice.clone())).await),
        forbidden("owner_required")
    );
    let same = change(
        store,
        &alice,
        group,
        GroupEdit::SetRole(carol.clone(), Role::Admin),
    )
    .await
    .expect("the same role");
    assert!(
        same.messages.is_empty() && same.events.is_empty(),
        "a no-op"
    );
    assert_eq!(same.member.map(|m| m.role), Some(Role::Admin));
    let roles: Vec<(String, Role)> = group_members(store, &dan, group)
        .await
        .expect("members")
        .into_iter()
        .map(|m| (m.user.username, m.role))
        .collect();
    assert_eq!(
        roles,
        [
            ("alice".to_owned(), Role::Owner),
            ("bob".to_owned(), Role::Admin),
            ("carol".to_owned(), Role::Admin),
            ("dan".to_owned(), Role::Member),
        ]
    );
    // Settings are admins' only; info is everyone's until `only_admins_edit_info`.
    let patch = SettingsPatch {
        only_admins_edit_info: Some(true),
        ..SettingsPatch::default()
    };
    let info = |settings| GroupEdit::Info {
        title: None,
        description: None,
        settings,
    };
    assert_eq!(
        refused(change(store, &dan, group, info(Some(patch))).await),
        forbidden("admin_required")
    );
    let changed = change(store, &bob, group, info(Some(patch)))
        .await
        .expect("set");
    assert_eq!(changed.messages.len(), 1);
    assert!(
        change(store, &bob, group, info(Some(patch)))
            .await
            .expect("again")
            .messages
            .is_empty()
    );
    let stranger = user(store, "eve").await;
    assert!(matches!(
        change(store, &stranger, group, GroupEdit::Leave).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        group_view(store, &stranger, group).await,
        Err(StoreError::NotFound)
    ));
}

async fn visible_ranges_bound_what_each_member_reads(store: &dyn Store) {
    let [alice, bob, carol, dan] = users(store, ["alice", "bob", "carol", "dan"]).await;
    let group = group_of(store, &alice, "Team", &[&bob]).await;
    let early = try_send_to_group(store, &alice, group, "a1", "before anyone joined")
        .await
        .expect("sent")
        .message;
    // Carol joins under `shared` and sees everything; dan joins under `joined`.
    change(store, &alice, group, GroupEdit::Add(vec![carol.clone()]))
        .await
        .expect("added");
    let joined = SettingsPatch {
        history: Some(History::Joined),
        ..SettingsPatch::default()
    };
    change(
        store,
        &alice,
        group,
        GroupEdit::Info {
            title: None,
            description: None,
            settings: Some(joined),
        },
    )
    .await
    .expect("settings");
    let added = change(store, &alice, group, GroupEdit::Add(vec![dan.clone()]))
        .await
        .expect("added");
    let dan_start = added.messages[0].id;
    assert!(
        group_history(store, &carol, group)
            .await
            .iter()
            .any(|m| m.id == early.id)
    );
    let dans: Vec<MessageId> = group_history(store, &dan, group)
        .await
        .iter()
        .map(|m| m.id)
        .collect();
    assert_eq!(dans, [dan_start], "dan starts at his own add");

    // Bob is removed: the removal is his last message and his last event of the group.
    let removal = change(store, &alice, group, GroupEdit::Remove(bob.clone()))
        .await
        .expect("removed")
        .messages[0]
        .clone();
    let after = try_send_to_group(store, &alice, group, "a2", "after bob")
        .await
        .expect("sent")
        .message;
    let bobs = group_history(store, &bob, group).await;
    assert_eq!(bobs.last().map(|m| m.id), Some(removal.id));
    assert!(bobs.iter().all(|m| m.id != after.id));
    assert_eq!(
        message_ids(&all_events(store, &bob).await).last(),
        Some(&removal.id)
    );
    assert!(matches!(
        try_send_to_group(store, &bob, group, "b1", "let me back").await,
        Err(StoreError::Refused(Refusal::Forbidden("not_a_member"), _))
    ));
    let past = group_view(store, &bob, group)
        .await
        .expect("a past member sees the group");
    assert_eq!((past.role, past.member_count), (None, 3));
    assert!(matches!(
        group_members(store, &bob, group).await,
        Err(StoreError::Refused(Refusal::Forbidden("not_a_member"), _))
    ));
    // Every member's stream holds, once each, every message of their range from the one that
    // made them a member on (older history is read, not streamed), and nothing else.
    for member in [&alice, &carol, &dan] {
        let seen: Vec<MessageId> = group_history(store, member, group)
            .await
            .iter()
            .map(|m| m.id)
            .collect();
        let streamed: Vec<MessageId> = message_ids(&all_events(store, member).await);
        let from = streamed.first().copied().expect("told of their add");
        let expected: Vec<MessageId> = seen.into_iter().filter(|id| *id >= from).collect();
        assert_eq!(streamed, expected, "{}", member.username);
    }
}

async fn an_owner_who_leaves_hands_the_group_on(store: &dyn Store) {
    let [alice, bob, carol] = users(store, ["alice", "bob", "carol"]).await;
    let group = group_of(store, &alice, "Team", &[&bob, &carol]).await;
    change(
        store,
        &alice,
        group,
        GroupEdit::SetRole(carol.clone(), Role::Admin),
    )
    .await
    .expect("admin");
    let left = change(store, &alice, group, GroupEdit::Leave)
        .await
        .expect("left");
    let system = left.messages[0].system.clone().expect("record");
    assert_eq!(system.event, "member_left");
    assert_eq!(
        system.details.get("new_owner").and_then(|v| v.as_str()),
        Some("carol")
    );
    assert_eq!(
        group_view(store, &carol, group).await.expect("group").role,
        Some(Role::Owner)
    );
    assert!(matches!(
        change(store, &alice, group, GroupEdit::Leave).await,
        Err(StoreError::Refused(Refusal::MemberNotFound, _))
    ));
    // Without an admin, the longest-serving member takes over.
    change(store, &carol, group, GroupEdit::Leave)
        .await
        .expect("left");
    assert_eq!(
        group_view(store, &bob, group).await.expect("group").role,
        Some(Role::Owner)
    );
}

async fn a_sender_sees_the_aggregate_and_hears_each_receipt(store: &dyn Store) {
    let [alice, bob, carol, dan] = users(store, ["alice", "bob", "carol", "dan"]).await;
    let group = group_of(store, &alice, "Team", &[&bob, &carol, &dan]).await;
    let sent = try_send_to_group(store, &alice, group, "a1", "hello")
        .await
        .expect("sent");
    let m = sent.message;
    assert_eq!(
        (
            m.status,
            m.delivered_count,
            m.read_count,
            m.recipient.clone()
        ),
        (Some(MessageStatus::Sent), Some(0), Some(0), None)
    );
    let told: BTreeSet<i64> = sent.events.iter().map(|e| e.user.0).collect();
    assert_eq!(told.len(), 4, "one event per member");

    mark(store, &bob, &[m.id], MessageStatus::Read)
        .await
        .expect("read");
    let last = all_events(store, &alice).await.pop();
    let Some(Event::Status {
        all, by, status, ..
    }) = last
    else {
        panic!("alice hears of bob's receipt: {last:?}");
    };
    assert_eq!(
        (all, by.as_str(), status),
        (false, "bob", MessageStatus::Read)
    );
    mark(store, &carol, &[m.id], MessageStatus::Delivered)
        .await
        .expect("delivered");
    let seen = |viewer: &User| {
        let viewer = viewer.clone();
        async move {
            group_history(store, &viewer, group)
                .await
                .into_iter()
                .find(|x| x.id == m.id)
                .expect("the message")
        }
    };
    let own = seen(&alice).await;
    assert_eq!(
        (own.status, own.delivered_count, own.read_count),
        (Some(MessageStatus::Sent), Some(2), Some(1))
    );
    assert_eq!(seen(&bob).await.status, Some(MessageStatus::Read));
    assert_eq!(seen(&bob).await.delivered_count, None);

    // Dan's receipt completes the delivery: alice is told once, for everyone.
    mark(store, &dan, &[m.id], MessageStatus::Delivered)
        .await
        .expect("delivered");
    let Some(Event::Status { all, status, .. }) = all_events(store, &alice).await.pop() else {
        panic!("a completion");
    };
    assert_eq!((all, status), (true, MessageStatus::Delivered));
    // Carol and dan leave unread: the last exit completes the reads.
    change(store, &carol, group, GroupEdit::Leave)
        .await
        .expect("left");
    let exit = change(store, &dan, group, GroupEdit::Leave)
        .await
        .expect("left");
    let completion = exit
        .events
        .iter()
        .find(|e| e.user == alice.id && matches!(e.event, Event::Status { .. }));
    let Some(UserEvent {
        event: Event::Status {
            all, status, by, ..
        },
        ..
    }) = completion
    else {
        panic!("dan's exit completes alice's message: {:?}", exit.events);
    };
    assert_eq!(
        (*all, *status, by.as_str()),
        (true, MessageStatus::Read, "dan")
    );
    let info = message_receipts(store, &alice, m.id).await.expect("info");
    let readers: Vec<&str> = info.read.iter().map(|(u, _)| u.username.as_str()).collect();
    assert_eq!(readers, ["bob"], "only current members are listed");
}

async fn a_removal_and_sends_racing_agree_with_the_range(store: Arc<dyn Store>) {
    let [alice, bob, carol] = users(store.as_ref(), ["alice", "bob", "carol"]).await;
    let group = group_of(store.as_ref(), &alice, "Race", &[&bob, &carol]).await;
    change(
        store.as_ref(),
        &alice,
        group,
        GroupEdit::SetRole(bob.clone(), Role::Admin),
    )
    .await
    .expect("admin");
    let sending = {
        let store = store.clone();
        let alice = alice.clone();
        tokio::spawn(async move {
            let mut acked = Vec::new();
            for i in 0..40 {
                let sent =
                    try_send_to_group(store.as_ref(), &alice, group, &format!("r{i}"), "race")
                        .await
                        .expect("alice stays a member");
                acked.push(sent.message.id);
                tokio::task::yield_now().await;
            }
            acked
        })
    };
    for _ in 0..5 {
        tokio::task::yield_now().await;
    }
    let removal = change(
        store.as_ref(),
        &bob,
        group,
        GroupEdit::Remove(carol.clone()),
    )
    .await
    .expect("removed");
    let cut = removal.messages[0].id;
    let acked = sending.await.expect("sender");
    let carols: BTreeSet<MessageId> = group_history(store.as_ref(), &carol, group)
        .await
        .iter()
        .map(|m| m.id)
        .collect();
    let streamed: BTreeSet<MessageId> = message_ids(&all_events(store.as_ref(), &carol).await)
        .into_iter()
        .collect();
    for id in acked {
        assert_eq!(
            carols.contains(&id),
            id < cut,
            "message {id:?} against the removal at {cut:?}"
        );
        assert_eq!(
            streamed.contains(&id),
            id < cut,
            "carol's stream, message {id:?}"
        );
    }
    let bobs = group_history(store.as_ref(), &bob, group).await;
    assert_eq!(
        bobs.iter().filter(|m| m.client_id.is_some()).count(),
        40,
        "bob has every message"
    );
}

stories! {
    a_group_starts_with_its_created_message_and_retries_create_nothing,
    roles_decide_who_may_change_what,
    visible_ranges_bound_what_each_member_reads,
    an_owner_who_leaves_hands_the_group_on,
    a_sender_sees_the_aggregate_and_hears_each_receipt,
    a_removal_and_sends_racing_agree_with_the_range,
}
