//! Changes to sent messages: replies (a live text message of the same conversation the sender
//! can see; the quote as the quoted message is now, hidden from members who cannot see it),
//! edits (the sender's, within the window, the same body a no-op), deletes for everyone (the
//! sender's within the window, a group's owner or admins' at any time; the body, quote and
//! reactions gone), reactions (one per member, in the contract's order), and one event per
//! change for every current member who can see the message, never for anyone else. The windows
//! are judged at the time the request carries, so no story waits for the clock.

use crate::calls::*;

const MINUTE: i64 = 60_000;
/// When the stories' timed messages are sent.
const SENT: Timestamp = Timestamp(1_800_000_000_000);

fn after(millis: i64) -> Timestamp {
    Timestamp(SENT.millis() + millis)
}

/// The refusal a change got, or a panic naming what it got instead.
fn refusal(result: Result<Changed, StoreError>) -> Refusal {
    match result {
        Err(StoreError::Refused(refusal, _)) => refusal,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

fn send_refusal(result: Result<Sent, StoreError>) -> Refusal {
    match result {
        Err(StoreError::Refused(refusal, _)) => refusal,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

/// Who got an event from a change, sorted by name, checking each carries `id`.
fn told(changed: &Changed, users: &[&User]) -> Vec<String> {
    let mut names: Vec<String> = changed
        .events
        .iter()
        .map(|e| {
            users
                .iter()
                .find(|u| u.id == e.user)
                .map(|u| u.username.clone())
                .unwrap_or_else(|| format!("user {}", e.user.0))
        })
        .collect();
    names.sort();
    names
}

fn reactions(message: &Message) -> Vec<(String, Vec<String>)> {
    message
        .reactions
        .iter()
        .map(|r| (r.emoji.clone(), r.users.clone()))
        .collect()
}

async fn message_as(store: &dyn Store, viewer: &User, other: &User, id: MessageId) -> Message {
    whole_history(store, viewer, other)
        .await
        .into_iter()
        .find(|m| m.id == id)
        .expect("the message is in the history")
}

async fn edits_are_the_senders_within_the_window(store: &dyn Store) {
    let [alice, bob] = users(store, ["alice", "bob"]).await;
    let sent = store
        .send_message(sent_at(draft(&alice, &bob, "e1", "helo"), SENT))
        .await
        .expect("sent");
    let id = sent.message.id;

    let edited =
        try_change_message_at(store, &alice, id, new_body("hello"), after(15 * MINUTE - 1))
            .await
            .expect("edited inside the window");
    assert_eq!(edited.message.body, "hello");
    assert_eq!(edited.message.edited_at, Some(after(15 * MINUTE - 1)));
    assert_eq!(told(&edited, &[&alice, &bob]), ["alice", "bob"]);
    let bobs = message_as(store, &bob, &alice, id).await;
    assert_eq!(
        (bobs.body.as_str(), bobs.edited_at),
        ("hello", edited.message.edited_at)
    );

    let again = try_change_message_at(store, &alice, id, new_body("hello"), after(60 * MINUTE))
        .await
        .expect("the same body again is answered");
    assert!(again.events.is_empty(), "the same body is no change");
    assert_eq!(
        refusal(try_change_message_at(store, &alice, id, new_body("hi"), after(15 * MINUTE)).await),
        Refusal::Forbidden("edit_window_passed")
    );
    assert_eq!(
        refusal(try_change_message_at(store, &bob, id, new_body("hi"), after(1)).await),
        Refusal::Forbidden("not_sender")
    );
    assert_eq!(message_as(store, &bob, &alice, id).await.body, "hello");
}

async fn a_delete_erases_the_body_its_reactions_and_its_own_quote(store: &dyn Store) {
    let [alice, bob] = users(store, ["alice", "bob"]).await;
    let first = send(store, &alice, &bob, "d1", "lunch?").await.message.id;
    let reply = store
        .send_message(replying(draft(&bob, &alice, "d2", "yes"), first))
        .await
        .expect("reply sent")
        .message;
    let quote = reply.reply_to.as_deref().expect("a quote");
    assert_eq!(
        (
            quote.id,
            quote.sender.as_str(),
            quote.body.as_str(),
            quote.deleted
        ),
        (first, "alice", "lunch?", false)
    );
    change_message(store, &alice, reply.id, reacting("👍")).await;
    change_message(store, &bob, first, reacting("❤")).await;

    // Bob deletes his reply: its quote and reactions go with its body.
    let gone = change_message(store, &bob, reply.id, MessageEdit::Delete).await;
    assert!(gone.message.deleted);
    assert_eq!(gone.message.body, "");
    assert_eq!(gone.message.deleted_by.as_deref(), Some("bob"));
    assert!(gone.message.reply_to.is_none() && gone.message.reactions.is_empty());
    assert_eq!(told(&gone, &[&alice, &bob]), ["alice", "bob"]);
    let [event] = &gone
        .events
        .iter()
        .filter(|e| e.user == alice.id)
        .collect::<Vec<_>>()[..]
    else {
        panic!("one event for alice");
    };
    assert!(
        matches!(&event.event, Event::MessageUpdated { message, .. } if message.deleted && message.reactions.is_empty())
    );

    // Alice deletes hers; a later reply's quote would show it deleted, and nothing more.
    change_message(store, &alice, first, MessageEdit::Delete).await;
    let again = change_message(store, &alice, first, MessageEdit::Delete).await;
    assert!(again.events.is_empty(), "deleting again is no change");
    let seen = message_as(store, &bob, &alice, first).await;
    assert!(seen.deleted && seen.body.is_empty() && seen.reactions.is_empty());
    assert_eq!(
        refusal(try_change_message(store, &alice, first, new_body("back")).await),
        Refusal::MessageDeleted
    );
    assert_eq!(
        refusal(try_change_message(store, &bob, first, reacting("👍")).await),
        Refusal::MessageDeleted
    );
    assert_eq!(
        send_refusal(
            store
                .send_message(replying(draft(&bob, &alice, "d3", "hm"), first))
                .await
        ),
        Refusal::Invalid("invalid_reply_to")
    );
}

async fn a_reply_quotes_the_message_as_it_is_now(store: &dyn Store) {
    let [alice, bob] = users(store, ["alice", "bob"]).await;
    let long = "é".repeat(250);
    let first = send(store, &alice, &bob, "q1", &long).await.message.id;
    let reply = store
        .send_message(replying(draft(&bob, &alice, "q2", "ok"), first))
        .await
        .expect("sent")
        .message;
    assert_eq!(
        reply.reply_to.as_deref().map(|q| q.body.chars().count()),
        Some(200)
    );
    change_message(store, &alice, first, new_body("short now")).await;
    let seen = message_as(store, &alice, &bob, reply.id).await;
    assert_eq!(
        seen.reply_to.as_deref().map(|q| q.body.as_str()),
        Some("short now")
    );
    change_message(store, &alice, first, MessageEdit::Delete).await;
    let seen = message_as(store, &bob, &alice, reply.id).await;
    let quote = seen.reply_to.as_deref().expect("the quote stays");
    assert!(quote.deleted && quote.body.is_empty());
}

async fn replies_name_a_live_text_message_of_the_same_conversation(store: &dyn Store) {
    let [alice, bob, carol] = users(store, ["alice", "bob", "carol"]).await;
    let with_bob = send(store, &alice, &bob, "r1", "to bob").await.message.id;
    let with_carol = send(store, &alice, &carol, "r2", "to carol")
        .await
        .message
        .id;
    let group = group_of(store, &alice, "Team", &[&bob]).await;
    let created = try_history_of(store, &alice, group, None, 10)
        .await
        .expect("history")
        .messages[0]
        .id;

    for (reply_to, why) in [
        (with_carol, "another conversation"),
        (created, "a system message"),
        (MessageId(999_999), "no message"),
    ] {
        assert_eq!(
            send_refusal(
                store
                    .send_message(replying(draft(&alice, &bob, "r3", "x"), reply_to))
                    .await
            ),
            Refusal::Invalid("invalid_reply_to"),
            "{why}"
        );
    }
    // Bob cannot reply to what only Alice and Carol see.
    assert_eq!(
        send_refusal(
            store
                .send_message(replying(draft(&bob, &alice, "r4", "x"), with_carol))
                .await
        ),
        Refusal::Invalid("invalid_reply_to")
    );
    assert!(
        history(store, &alice, &bob, None, 10).await.messages.len() == 1,
        "refused replies store nothing"
    );

    // A retry is the same send only with the same reply_to.
    let first = store
        .send_message(replying(draft(&bob, &alice, "r5", "yes"), with_bob))
        .await
        .expect("sent");
    assert!(first.created);
    let retry = store
        .send_message(replying(draft(&bob, &alice, "r5", "yes"), with_bob))
        .await
        .expect("retried");
    assert!(!retry.created && retry.events.is_empty());
    assert!(matches!(
        store.send_message(draft(&bob, &alice, "r5", "yes")).await,
        Err(StoreError::Conflict(_))
    ));
}

async fn a_reply_is_judged_after_the_senders_membership(store: &dyn Store) {
    let [alice, bob, eve] = users(store, ["alice", "bob", "eve"]).await;
    let group = group_of(store, &alice, "Team", &[&bob]).await;
    let news = try_send_to_group(store, &alice, group, "m1", "news")
        .await
        .expect("sent")
        .message
        .id;
    // A stranger hears of no group, whatever they reply to.
    assert!(matches!(
        store
            .send_message(replying(group_draft(&eve, group, "e1", "hi"), news))
            .await,
        Err(StoreError::NotFound)
    ));
    change(store, &alice, group, GroupEdit::Remove(bob.clone()))
        .await
        .expect("removed");
    assert_eq!(
        send_refusal(
            store
                .send_message(replying(group_draft(&bob, group, "b1", "hi"), MessageId(1)))
                .await
        ),
        Refusal::Forbidden("not_a_member")
    );
}

async fn admins_delete_any_message_of_their_group_members_only_theirs(store: &dyn Store) {
    let [alice, bob, carol] = users(store, ["alice", "bob", "carol"]).await;
    let group = group_of(store, &alice, "Team", &[&bob, &carol]).await;
    let bobs = store
        .send_message(sent_at(group_draft(&bob, group, "g1", "old news"), SENT))
        .await
        .expect("sent")
        .message
        .id;
    let late = after(3 * 24 * 60 * MINUTE);
    assert_eq!(
        refusal(try_change_message_at(store, &carol, bobs, MessageEdit::Delete, after(1)).await),
        Refusal::Forbidden("not_sender")
    );
    assert_eq!(
        refusal(try_change_message_at(store, &bob, bobs, MessageEdit::Delete, late).await),
        Refusal::Forbidden("delete_window_passed")
    );
    let moderated = try_change_message_at(store, &alice, bobs, MessageEdit::Delete, late)
        .await
        .expect("the owner deletes at any time");
    assert_eq!(moderated.message.deleted_by.as_deref(), Some("alice"));
    assert_eq!(
        told(&moderated, &[&alice, &bob, &carol]),
        ["alice", "bob", "carol"]
    );

    // System messages are no one's to edit, delete or react to.
    let created = try_history_of(store, &alice, group, None, 10)
        .await
        .expect("history")
        .messages[0]
        .id;
    assert_eq!(
        refusal(try_change_message(store, &alice, created, MessageEdit::Delete).await),
        Refusal::Invalid("not_editable")
    );
    assert_eq!(
        refusal(try_change_message(store, &alice, created, reacting("👍")).await),
        Refusal::Invalid("not_reactable")
    );
}

async fn reactions_keep_their_places_and_their_users_order(store: &dyn Store) {
    let [alice, bob, carol, dave] = users(store, ["alice", "bob", "carol", "dave"]).await;
    let group = group_of(store, &alice, "Team", &[&bob, &carol, &dave]).await;
    let id = try_send_to_group(store, &alice, group, "x1", "news")
        .await
        .expect("sent")
        .message
        .id;
    let thumbs = "👍".to_owned();
    let heart = "❤\u{fe0f}".to_owned();
    let names = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();

    change_message(store, &bob, id, reacting("👍")).await;
    change_message(store, &carol, id, reacting("❤")).await;
    let third = change_message(store, &dave, id, reacting("👍")).await;
    assert_eq!(
        reactions(&third.message),
        [
            (thumbs.clone(), names(&["bob", "dave"])),
            (heart.clone(), names(&["carol"]))
        ]
    );
    // Bob switches: 👍 keeps its place while Dave has it; Bob goes last among ❤️'s users.
    let switched = change_message(store, &bob, id, reacting("❤️")).await;
    assert_eq!(
        reactions(&switched.message),
        [
            (thumbs.clone(), names(&["dave"])),
            (heart.clone(), names(&["carol", "bob"]))
        ]
    );
    assert_eq!(switched.events.len(), 4, "one event per member");
    assert!(matches!(&switched.events[0].event,
        Event::Reaction { user, emoji: Some(e), message_id, .. } if user == "bob" && *e == heart && *message_id == id));
    // Dave removes the last 👍: it drops out, and comes back last.
    let removed = change_message(store, &dave, id, MessageEdit::React(None)).await;
    assert_eq!(
        reactions(&removed.message),
        [(heart.clone(), names(&["carol", "bob"]))]
    );
    assert!(matches!(
        &removed.events[0].event,
        Event::Reaction { emoji: None, .. }
    ));
    let back = change_message(store, &dave, id, reacting("👍")).await;
    assert_eq!(
        reactions(&back.message),
        [
            (heart.clone(), names(&["carol", "bob"])),
            (thumbs.clone(), names(&["dave"]))
        ]
    );
    // Nothing changes: the same emoji again, removing none.
    assert!(
        change_message(store, &dave, id, reacting("👍"))
            .await
            .events
            .is_empty()
    );
    assert!(
        change_message(store, &alice, id, MessageEdit::React(None))
            .await
            .events
            .is_empty()
    );
    let read = try_history_of(store, &carol, group, None, 10)
        .await
        .expect("history")
        .messages;
    let read = read.iter().find(|m| m.id == id).expect("the message");
    assert_eq!(reactions(read), reactions(&back.message));
}

async fn only_current_members_who_see_a_message_hear_of_its_changes(store: &dyn Store) {
    let [alice, bob, carol, dave, eve] =
        users(store, ["alice", "bob", "carol", "dave", "eve"]).await;
    let settings = Settings {
        history: History::Joined,
        ..Settings::default()
    };
    let group = try_create_group(store, &alice, "gj", "Team", &[&bob, &carol], settings)
        .await
        .expect("created")
        .group
        .expect("group")
        .id;
    let early = try_send_to_group(store, &alice, group, "o1", "before dave")
        .await
        .expect("sent")
        .message
        .id;
    change(store, &alice, group, GroupEdit::Add(vec![dave.clone()]))
        .await
        .expect("added");
    change(store, &alice, group, GroupEdit::Remove(carol.clone()))
        .await
        .expect("removed");

    // Dave joined after it (history from his add) and Carol is gone: Alice and Bob hear.
    let edited = change_message(store, &alice, early, new_body("before dave, edited")).await;
    assert_eq!(
        told(&edited, &[&alice, &bob, &carol, &dave]),
        ["alice", "bob"]
    );
    // Dave and a stranger cannot see it; Carol still can, but is no longer a member.
    for outsider in [&dave, &eve] {
        assert!(matches!(
            try_change_message(store, outsider, early, reacting("👍")).await,
            Err(StoreError::NotFound)
        ));
    }
    assert_eq!(
        refusal(try_change_message(store, &carol, early, reacting("👍")).await),
        Refusal::Forbidden("not_a_member")
    );

    // A reply to it reaches Dave without its quote, and Bob with it.
    let reply = store
        .send_message(replying(group_draft(&bob, group, "o2", "agreed"), early))
        .await
        .expect("reply sent");
    for event in &reply.events {
        let Event::Message { message, .. } = &event.event else {
            panic!("a message event")
        };
        assert_eq!(
            message.reply_to.is_some(),
            event.user != dave.id,
            "{:?}",
            event.user
        );
    }
    let daves = try_history_of(store, &dave, group, None, 10)
        .await
        .expect("history")
        .messages;
    let seen = daves
        .iter()
        .find(|m| m.id == reply.message.id)
        .expect("the reply");
    assert!(
        seen.reply_to.is_none(),
        "dave cannot see the quoted message"
    );
}

async fn replaying_changes_onto_a_snapshot_gives_a_fresh_read(store: &dyn Store) {
    let [alice, bob] = users(store, ["alice", "bob"]).await;
    let mut ids = Vec::new();
    for i in 0..4 {
        ids.push(
            send(store, &alice, &bob, &format!("p{i}"), &format!("m{i}"))
                .await
                .message
                .id,
        );
    }
    let snapshot = whole_history(store, &bob, &alice).await;
    let since = last_cursor(store, &bob).await;

    // While Bob is away: a reply, edits, reactions set, replaced and removed, deletes.
    let reply = store
        .send_message(replying(draft(&alice, &bob, "p9", "about m1"), ids[1]))
        .await
        .expect("reply");
    change_message(store, &alice, ids[1], new_body("m1, edited")).await;
    change_message(store, &alice, ids[0], reacting("🎉")).await;
    change_message(store, &bob, ids[0], reacting("👍")).await;
    change_message(store, &alice, ids[0], reacting("👍")).await;
    change_message(store, &bob, ids[2], reacting("😂")).await;
    change_message(store, &alice, ids[3], MessageEdit::Delete).await;
    change_message(store, &bob, ids[2], MessageEdit::React(None)).await;
    change_message(store, &alice, reply.message.id, new_body("about m1!")).await;

    let events = events_since(store, &bob, since, 1000).await.events;
    let mut rebuilt = snapshot;
    for event in &events {
        apply(&mut rebuilt, event);
    }
    let fresh = whole_history(store, &bob, &alice).await;
    assert_eq!(shape(&rebuilt), shape(&fresh));
}

/// What a chat shows of a message: everything but the status, which receipts move.
fn shape(messages: &[Message]) -> Vec<String> {
    messages
        .iter()
        .map(|m| {
            format!(
                "{} {:?} {:?} {} {:?} {:?} {:?}",
                m.id.0, m.body, m.edited_at, m.deleted, m.deleted_by, m.reply_to, m.reactions
            )
        })
        .collect()
}

/// Applies one event to a chat's messages as a client does.
fn apply(messages: &mut Vec<Message>, event: &Event) {
    match event {
        Event::Message { message, .. } => {
            if !messages.iter().any(|m| m.id == message.id) {
                messages.push(message.clone());
            }
        }
        Event::MessageUpdated { message, .. } => {
            for m in messages.iter_mut() {
                if m.id == message.id {
                    *m = message.clone();
                }
                if m.reply_to.as_ref().is_some_and(|q| q.id == message.id) {
                    m.reply_to = Some(Box::new(Quote::of(
                        message.id,
                        message.sender.clone(),
                        &message.body,
                        message.deleted,
                    )));
                }
            }
        }
        Event::Reaction {
            message_id,
            user,
            emoji,
            ..
        } => {
            let Some(m) = messages.iter_mut().find(|m| m.id == *message_id) else {
                return;
            };
            for r in m.reactions.iter_mut() {
                r.users.retain(|u| u != user);
            }
            m.reactions.retain(|r| !r.users.is_empty());
            if let Some(emoji) = emoji {
                match m.reactions.iter_mut().find(|r| r.emoji == *emoji) {
                    Some(r) => r.users.push(user.clone()),
                    None => m.reactions.push(Reaction {
                        emoji: emoji.clone(),
                        users: vec![user.clone()],
                    }),
                }
            }
        }
        Event::Status { .. } => {}
    }
}

stories!(
    edits_are_the_senders_within_the_window,
    a_delete_erases_the_body_its_reactions_and_its_own_quote,
    a_reply_quotes_the_message_as_it_is_now,
    replies_name_a_live_text_message_of_the_same_conversation,
    a_reply_is_judged_after_the_senders_membership,
    admins_delete_any_message_of_their_group_members_only_theirs,
    reactions_keep_their_places_and_their_users_order,
    only_current_members_who_see_a_message_hear_of_its_changes,
    replaying_changes_onto_a_snapshot_gives_a_fresh_read,
);
