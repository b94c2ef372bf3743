//! The publisher and subscriber tasks: publishing retries until Redis takes each message; a
//! lost subscription is restored, then every local socket catches up from the store.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use futures_util::StreamExt;
use redis::AsyncCommands;
use redis::aio::ConnectionManager;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::wire::{Wire, deliver};
use crate::delivery::Hub;

pub async fn publish_loop(
    mut conn: ConnectionManager,
    channel: String,
    mut queue: mpsc::Receiver<Vec<u8>>,
    lost: Arc<AtomicBool>,
    node: String,
    stop: CancellationToken,
) {
    while let Some(payload) = tokio::select! { p = queue.recv() => p, _ = stop.cancelled() => None }
    {
        publish_until_taken(&mut conn, &channel, &payload, &stop).await;
        if lost.swap(false, Ordering::AcqRel) {
            tracing::warn!(
                "bus outbox overflowed while Redis was away; asking every node to resync"
            );
            let resync = Wire::resync(&node);
            publish_until_taken(&mut conn, &channel, &resync, &stop).await;
        }
    }
}

/// Retries a publish with backoff until Redis takes it or the server stops.
async fn publish_until_taken(
    conn: &mut ConnectionManager,
    channel: &str,
    payload: &[u8],
    stop: &CancellationToken,
) {
    let mut delay = Duration::from_millis(50);
    loop {
        match conn.publish::<_, _, ()>(channel, payload).await {
            Ok(()) => return,
            Err(err) => {
                tracing::warn!(error = %err, "Redis publish failed; retrying");
                tokio::select! {
                    _ = tokio::time::sleep(delay) => {}
                    _ = stop.cancelled() => return,
                }
                delay = (delay * 2).min(Duration::from_secs(2));
            }
        }
    }
}

pub async fn subscribe_loop(
    client: redis::Client,
    channel: String,
    hub: Arc<Hub>,
    node: String,
    subscribed: Arc<AtomicBool>,
    stop: CancellationToken,
) {
    let mut first = true;
    let mut delay = Duration::from_millis(50);
    while !stop.is_cancelled() {
        let pubsub = match client.get_async_pubsub().await {
            Ok(mut pubsub) => pubsub.subscribe(&channel).await.map(|()| pubsub),
            Err(err) => Err(err),
        };
        match pubsub {
            Ok(pubsub) => {
                subscribed.store(true, Ordering::Release);
                delay = Duration::from_millis(50);
                if !first {
                    tracing::info!(
                        "bus subscription restored; local sockets catch up from the store"
                    );
                    hub.resync_all();
                }
                first = false;
                let mut messages = pubsub.into_on_message();
                loop {
                    let message =
                        tokio::select! { m = messages.next() => m, _ = stop.cancelled() => return };
                    let Some(message) = message else { break };
                    match serde_json::from_slice::<Wire>(message.get_payload_bytes()) {
                        Ok(wire) if wire.node != node => deliver(&hub, wire.body),
                        Ok(_) => {}
                        Err(err) => {
                            tracing::warn!(error = %err, "ignoring an unreadable bus message")
                        }
                    }
                }
                subscribed.store(false, Ordering::Release);
                tracing::warn!("bus subscription lost; reconnecting");
            }
            Err(_) => {
                tokio::select! {
                    _ = tokio::time::sleep(delay) => {}
                    _ = stop.cancelled() => return,
                }
                delay = (delay * 2).min(Duration::from_secs(2));
            }
        }
    }
}
