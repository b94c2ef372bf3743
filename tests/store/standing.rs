//! Accounts, reports and operators (v2 safety): a report keeps the message as it was and holds
//! its attachments' bytes until housekeeping forgets it; who may report what; a suspended or
//! deleted account has no session, token or login; a reset password logs in once within its
//! time; what a deletion undoes and the account's retirement; one export an hour (expired
//! sessions and tokens: `sessions`).

use crate::calls::*;
use linkup::domain::MessageKind;

const HOUR: i64 = 3_600_000;
const DAY: i64 = 24 * HOUR;

fn at(base: Timestamp, plus: i64) -> Timestamp {
    Timestamp(base.millis() + plus)
}

async fn a_report_keeps_the_message_as_it_was_and_holds_its_bytes(store: &dyn Store) {
    let [alice, bob] = users(store, ["alice", "bob"]).await;
    let now = Timestamp::now();
    let file = upload_at(store, &alice, 42, now).await;
    let sent = store
        .send_message(carrying(
            draft(&alice, &bob, "m1", "evidence"),
            std::slice::from_ref(&file),
        ))
        .await
        .expect("sent")
        .message;
    assert!(matches!(
        try_report(store, &bob, sent.id, "abuse", now).await,
        Ok(true)
    ));
    assert!(
        matches!(
            try_report(store, &bob, sent.id, "again", now).await,
            Ok(false)
        ),
        "a repeat is a no-op"
    );
    change_message(store, &alice, sent.id, MessageEdit::Delete).await;
    assert!(!readable(store, &bob, &file, now).await, "gone for members");

    let reports = all_reports(store).await;
    assert_eq!(reports.len(), 1);
    let report = &reports[0];
    assert_eq!(
        (report.reporter.as_str(), report.reason.as_str()),
        ("bob", "abuse")
    );
    assert_eq!(report.message["body"], "evidence");
    assert_eq!(report.message["sender"], "alice");
    assert_eq!(report.message["id"], sent.id.0);
    assert_eq!(report.message["attachments"][0]["id"], file.as_str());
    assert_eq!(report.message["attachments"][0]["size"], 42);
    assert_eq!(
        reports_by(store, &bob).await,
        [ReportSummary {
            message_id: sent.id,
            reason: "abuse".into(),
            at: now
        }]
    );

    let swept = store.sweep_uploads(now, 10).await.expect("sweep");
    assert!(!swept.contains(&file), "a live report holds the bytes");
    purge(store, now, at(now, 1)).await;
    assert!(all_reports(store).await.is_empty(), "past its retention");
    let swept = store.sweep_uploads(now, 10).await.expect("sweep");
    assert_eq!(swept, [file], "released once the report is forgotten");
}

async fn only_a_member_who_can_see_a_live_message_of_anothers_reports_it(store: &dyn Store) {
    let [alice, bob, eve] = users(store, ["alice", "bob", "eve"]).await;
    let now = Timestamp::now();
    let first = send(store, &alice, &bob, "m1", "hello").await;
    let second = send(store, &alice, &bob, "m2", "oops").await;
    assert!(matches!(
        try_report(store, &alice, first.message.id, "mine", now).await,
        Err(StoreError::Refused(Refusal::Invalid("invalid_report"), _))
    ));
    assert!(matches!(
        try_report(store, &eve, first.message.id, "spam", now).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        try_report(store, &eve, MessageId(first.message.id.0 + 1000), "x", now).await,
        Err(StoreError::NotFound)
    ));
    change_message(store, &alice, second.message.id, MessageEdit::Delete).await;
    assert!(matches!(
        try_report(store, &bob, second.message.id, "late", now).await,
        Err(StoreError::Refused(Refusal::MessageDeleted, _))
    ));
    assert!(
        all_reports(store).await.is_empty(),
        "refusals store nothing"
    );
}

async fn a_past_member_reports_within_their_range(store: &dyn Store) {
    let [alice, bob, carol] = users(store, ["alice", "bob", "carol"]).await;
    let group = group_of(store, &alice, "Atlas", &[&bob, &carol]).await;
    let now = Timestamp::now();
    let before = try_send_to_group(store, &alice, group, "g1", "before")
        .await
        .expect("sent")
        .message
        .id;
    change(store, &bob, group, GroupEdit::Leave)
        .await
        .expect("left");
    let after = try_send_to_group(store, &alice, group, "g2", "after")
        .await
        .expect("sent")
        .message
        .id;
    assert!(matches!(
        try_report(store, &bob, before, "x", now).await,
        Ok(true)
    ));
    assert!(matches!(
        try_report(store, &bob, after, "x", now).await,
        Err(StoreError::NotFound)
    ));
}

async fn a_suspended_account_has_no_session_token_or_login(store: &dyn Store) {
    let [bob] = users(store, ["bob"]).await;
    let now = Timestamp::now();
    create_session(store, b"session-1", &bob, "csrf", at(now, DAY)).await;
    create_token(store, b"token-1", &bob).await;
    assert_eq!(admit(store, &bob, now).await, Admission::Admitted);

    set_status(store, &bob, AccountStatus::Suspended).await;
    assert_eq!(
        account_status_of(store, &bob).await,
        AccountStatus::Suspended
    );
    assert!(session(store, b"session-1", now).await.is_none());
    assert!(token_user(store, b"token-1").await.is_none());
    assert_eq!(admit(store, &bob, now).await, Admission::Suspended);
    create_session(store, b"session-2", &bob, "csrf", at(now, DAY)).await;
    assert!(
        session(store, b"session-2", now).await.is_none(),
        "lookups refuse a suspended account"
    );

    set_status(store, &bob, AccountStatus::Active).await;
    assert_eq!(admit(store, &bob, now).await, Admission::Admitted);
    assert!(session(store, b"session-2", now).await.is_some());
    assert!(
        token_user(store, b"token-1").await.is_none(),
        "ended, not paused"
    );
    set_status(store, &bob, AccountStatus::Deleted).await;
    assert_eq!(admit(store, &bob, now).await, Admission::Refused);
}

async fn a_reset_password_logs_in_once_within_its_time(store: &dyn Store) {
    let [bob] = users(store, ["bob"]).await;
    let now = Timestamp::now();
    create_session(store, b"session-1", &bob, "csrf", at(now, DAY)).await;
    create_token(store, b"token-1", &bob).await;
    reset_password(store, &bob, "reset-hash-1", at(now, DAY)).await;
    assert!(session(store, b"session-1", now).await.is_none());
    assert!(token_user(store, b"token-1").await.is_none());
    let (_, hash) = credentials(store, "bob").await.expect("bob");
    assert_eq!(hash, "reset-hash-1");
    assert_eq!(admit(store, &bob, now).await, Admission::Admitted);
    assert_eq!(admit(store, &bob, now).await, Admission::Refused, "once");

    reset_password(store, &bob, "reset-hash-2", at(now, DAY)).await;
    assert_eq!(
        admit(store, &bob, at(now, DAY + 1)).await,
        Admission::Refused,
        "past its day"
    );
}

async fn a_footprint_lists_what_a_deletion_undoes(store: &dyn Store) {
    let [alice, bob, carol] = users(store, ["alice", "bob", "carol"]).await;
    let group = group_of(store, &bob, "Atlas", &[&alice, &carol]).await;
    let left = group_of(store, &bob, "Left", &[&alice]).await;
    change(store, &alice, left, GroupEdit::Leave)
        .await
        .expect("left");
    let from_bob = send(store, &bob, &alice, "b1", "hi").await.message.id;
    change_message(store, &alice, from_bob, reacting("👍")).await;
    let mine = send(store, &alice, &bob, "a1", "mine").await.message.id;
    let gone = send(store, &alice, &bob, "a2", "gone").await.message.id;
    change_message(store, &alice, gone, MessageEdit::Delete).await;
    assert_eq!(
        footprint(store, &alice).await,
        Footprint {
            reactions: vec![from_bob],
            messages: vec![mine],
            groups: vec![group],
        }
    );
}

async fn a_retired_account_is_renamed_and_its_name_held(store: &dyn Store) {
    let [alice, bob] = users(store, ["alice", "bob"]).await;
    let now = Timestamp::now();
    let file = upload_at(store, &alice, 10, now).await;
    create_token(store, b"token-a", &alice).await;
    set_status(store, &alice, AccountStatus::Deleted).await;
    assert!(matches!(
        try_retire(store, &alice, "bob", at(now, 30 * DAY), true).await,
        Err(StoreError::Conflict(_))
    ));
    try_retire(store, &alice, "deleted-ab12cd34", at(now, 30 * DAY), true)
        .await
        .expect("retired");
    assert!(user_named(store, "alice").await.is_none());
    let renamed = user_named(store, "deleted-ab12cd34")
        .await
        .expect("renamed");
    assert_eq!(renamed.id, alice.id);
    assert_eq!(renamed.display_name, "Deleted account");
    assert!(token_user(store, b"token-a").await.is_none());
    assert!(user_uploads(store, &alice).await.is_empty(), "uploads gone");
    assert!(!readable(store, &alice, &file, now).await);
    assert!(user_named(store, "bob").await.is_some());
    assert_eq!(
        search(store, "", &bob, 10).await,
        Vec::<String>::new(),
        "a deleted account is found by no search"
    );

    assert!(retired(store, "alice", now).await);
    assert!(!retired(store, "alice", at(now, 30 * DAY)).await);
    assert!(!retired(store, "carol", now).await);
    purge(store, at(now, 30 * DAY), Timestamp(0)).await;
    assert!(!retired(store, "alice", now).await, "forgotten once free");
}

async fn one_export_an_hour(store: &dyn Store) {
    let [alice, bob] = users(store, ["alice", "bob"]).await;
    let now = Timestamp::now();
    assert_eq!(claim_export(store, &alice, now, at(now, -HOUR)).await, None);
    let later = at(now, 1000);
    assert_eq!(
        claim_export(store, &alice, later, at(later, -HOUR)).await,
        Some(now)
    );
    assert_eq!(
        claim_export(store, &bob, later, at(later, -HOUR)).await,
        None
    );
    let next = at(now, HOUR);
    assert_eq!(
        claim_export(store, &alice, next, at(next, -HOUR)).await,
        None
    );
}

async fn a_retired_account_is_renamed_in_the_system_messages_of_its_groups(store: &dyn Store) {
    let [alice, bob, carol] = users(store, ["alice", "bob", "carol"]).await;
    let now = Timestamp::now();
    let group = group_of(store, &alice, "Alice circle", &[&bob]).await;
    change(store, &alice, group, GroupEdit::Add(vec![carol.clone()]))
        .await
        .expect("carol added");
    change(
        store,
        &alice,
        group,
        GroupEdit::SetRole(bob.clone(), Role::Admin),
    )
    .await
    .expect("bob made an admin");
    change(store, &alice, group, GroupEdit::Leave)
        .await
        .expect("alice left");
    set_status(store, &alice, AccountStatus::Deleted).await;
    try_retire(store, &alice, "deleted-ab12cd34", at(now, 30 * DAY), false)
        .await
        .expect("retired");

    let page = try_history_of(store, &bob, group, None, 100)
        .await
        .expect("bob's history");
    let system: Vec<_> = page
        .messages
        .iter()
        .filter(|m| m.kind == MessageKind::System)
        .collect();
    assert_eq!(system.len(), 4, "created, added, role, left");
    for message in &system {
        let record = serde_json::to_string(&message.system).expect("a record");
        let body = message.body.replace("Alice circle", "");
        assert!(!record.contains("\"alice\""), "{record}");
        assert!(!body.contains("alice"), "{}", message.body);
        assert_eq!(message.sender, "deleted-ab12cd34");
    }
    assert_eq!(
        system[0].body,
        "deleted-ab12cd34 created the group \"Alice circle\" with bob"
    );
    assert_eq!(system[2].body, "deleted-ab12cd34 made bob an admin");
    assert!(system[3].body.starts_with("deleted-ab12cd34 left"));
}

stories!(
    a_report_keeps_the_message_as_it_was_and_holds_its_bytes,
    only_a_member_who_can_see_a_live_message_of_anothers_reports_it,
    a_past_member_reports_within_their_range,
    a_suspended_account_has_no_session_token_or_login,
    a_reset_password_logs_in_once_within_its_time,
    a_footprint_lists_what_a_deletion_undoes,
    a_retired_account_is_renamed_and_its_name_held,
    a_retired_account_is_renamed_in_the_system_messages_of_its_groups,
    one_export_an_hour,
);
