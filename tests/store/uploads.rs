//! Uploads: who may download one (its uploader while a message carries it or, never attached,
//! for 24 hours; a member who can see a message that carries it; nobody else), attaching only
//! one's own live uploads, the quota's usage, and the sweep: an upload no message may carry any
//! more is gone at once and listed for its bytes to be removed, once.

use crate::calls::*;

const DAY: i64 = 24 * 60 * 60 * 1000;

fn refusal(result: Result<Sent, StoreError>) -> Refusal {
    match result {
        Err(StoreError::Refused(refusal, _)) => refusal,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

async fn an_upload_is_its_uploaders_until_a_message_carries_it(store: &dyn Store) {
    let [alice, bob, eve] = users(store, ["alice", "bob", "eve"]).await;
    let now = Timestamp::now();
    let file = upload_at(store, &alice, 1200, now).await;
    assert!(readable(store, &alice, &file, now).await);
    assert!(!readable(store, &bob, &file, now).await);
    assert!(
        !readable(store, &alice, &file, Timestamp(now.millis() + DAY + 1)).await,
        "a day unattached"
    );

    let sent = store
        .send_message(carrying(
            draft(&alice, &bob, "m1", "cv"),
            std::slice::from_ref(&file),
        ))
        .await
        .expect("sent");
    assert_eq!(sent.message.attachments.len(), 1);
    assert_eq!(sent.message.attachments[0].id, file.as_str());
    let bobs = whole_history(store, &bob, &alice).await;
    assert_eq!(bobs[0].attachments[0].size, 1200);
    assert!(readable(store, &bob, &file, now).await);
    assert!(
        readable(store, &alice, &file, Timestamp(now.millis() + 2 * DAY)).await,
        "carried"
    );
    assert!(!readable(store, &eve, &file, now).await);
    // Eve cannot attach it; nobody can attach an id that names nothing.
    assert_eq!(
        refusal(
            store
                .send_message(carrying(
                    draft(&eve, &alice, "e1", "x"),
                    std::slice::from_ref(&file)
                ))
                .await
        ),
        Refusal::Invalid("invalid_attachment")
    );
    assert_eq!(
        refusal(
            store
                .send_message(carrying(
                    draft(&alice, &bob, "m2", "x"),
                    &[UploadId::random()]
                ))
                .await
        ),
        Refusal::Invalid("invalid_attachment")
    );
    assert_eq!(
        whole_history(store, &bob, &alice).await.len(),
        1,
        "refused sends store nothing"
    );
    let usage = store
        .upload_usage(alice.id, Timestamp(now.millis() - DAY))
        .await
        .expect("usage");
    assert_eq!(usage.bytes, 1200);
}

async fn when_its_last_message_goes_an_upload_is_gone_and_swept_once(store: &dyn Store) {
    let [alice, bob] = users(store, ["alice", "bob"]).await;
    let now = Timestamp::now();
    let file = upload_at(store, &alice, 10, now).await;
    let first = store
        .send_message(carrying(
            draft(&alice, &bob, "m1", "one"),
            std::slice::from_ref(&file),
        ))
        .await
        .expect("sent")
        .message
        .id;
    let second = store
        .send_message(carrying(
            draft(&alice, &bob, "m2", "two"),
            std::slice::from_ref(&file),
        ))
        .await
        .expect("forwarded")
        .message
        .id;
    change_message(store, &alice, first, MessageEdit::Delete).await;
    assert!(
        readable(store, &bob, &file, now).await,
        "still carried by the second"
    );
    assert!(
        store
            .sweep_uploads(now, 10)
            .await
            .expect("sweep")
            .is_empty()
    );
    change_message(store, &alice, second, MessageEdit::Delete).await;
    for viewer in [&alice, &bob] {
        assert!(!readable(store, viewer, &file, now).await);
    }
    assert_eq!(
        refusal(
            store
                .send_message(carrying(
                    draft(&alice, &bob, "m3", "x"),
                    std::slice::from_ref(&file)
                ))
                .await
        ),
        Refusal::Invalid("invalid_attachment")
    );
    assert_eq!(
        store.sweep_uploads(now, 10).await.expect("sweep"),
        std::slice::from_ref(&file)
    );
    store
        .uploads_removed(vec![file.clone()], Timestamp(now.millis() - DAY))
        .await
        .expect("removed");
    assert!(
        store
            .sweep_uploads(now, 10)
            .await
            .expect("sweep")
            .is_empty()
    );

    // Never attached: it goes after a day.
    let idle = upload_at(store, &alice, 10, now).await;
    assert!(
        store
            .sweep_uploads(now, 10)
            .await
            .expect("sweep")
            .is_empty()
    );
    let later = Timestamp(now.millis() + DAY);
    assert_eq!(store.sweep_uploads(later, 10).await.expect("sweep"), [idle]);
}

stories!(
    an_upload_is_its_uploaders_until_a_message_carries_it,
    when_its_last_message_goes_an_upload_is_gone_and_swept_once,
);
