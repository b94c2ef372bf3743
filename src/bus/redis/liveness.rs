//! Liveness in Redis: each node's heartbeat (a vanished node makes every node resync) and the
//! presence entries of this node's connected users.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use redis::AsyncCommands;
use redis::aio::ConnectionManager;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::wire::Wire;
use crate::delivery::Hub;
use crate::domain::ids::UserId;
use crate::domain::time::Timestamp;

/// How long a node's presence entry lives without a refresh.
pub const PRESENCE_TTL_MS: i64 = 30_000;
/// How long a node counts as alive without refreshing its heartbeat (it does so 4 times as
/// often). A node that vanishes is noticed within about this long, then every socket resyncs.
const NODE_TTL_MS: i64 = 2_000;

pub fn presence_key(prefix: &str, user: UserId) -> String {
    format!("{prefix}:presence:{}", user.0)
}

/// Refreshes this node's heartbeat in `{prefix}:nodes` and removes the entries of nodes that
/// stopped refreshing theirs. Whoever removes one (`ZREM` is atomic, so one node per vanished
/// node, usually) resyncs its own sockets and broadcasts `Resync` to the others: the vanished
/// node may have committed events that no one published.
pub async fn heartbeat(
    mut conn: ConnectionManager,
    prefix: String,
    node: String,
    hub: Arc<Hub>,
    outbox: mpsc::Sender<Vec<u8>>,
    lost: Arc<AtomicBool>,
    stop: CancellationToken,
) {
    let key = format!("{prefix}:nodes");
    let mut tick = tokio::time::interval(Duration::from_millis((NODE_TTL_MS / 4) as u64));
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.cancelled() => return,
        }
        let now = Timestamp::now().millis();
        let mut pipe = redis::pipe();
        pipe.zadd(&key, &node, now + NODE_TTL_MS)
            .ignore()
            .pexpire(&key, NODE_TTL_MS * 10)
            .ignore()
            .zrangebyscore(&key, "-inf", now);
        let expired = match pipe.query_async::<(Vec<String>,)>(&mut conn).await {
            Ok((expired,)) if expired.is_empty() => continue,
            Ok((expired,)) => expired,
            Err(err) => {
                tracing::warn!(error = %err, "cannot refresh this node's heartbeat in Redis");
                continue;
            }
        };
        match conn.zrem::<_, _, usize>(&key, &expired).await {
            Ok(0) => {}
            Ok(_) => {
                tracing::warn!(
                    nodes = ?expired,
                    "nodes stopped refreshing their heartbeat; every node's sockets catch up from the store"
                );
                hub.resync_all();
                let resync = Wire::resync(&node);
                if outbox.try_send(resync).is_err() {
                    // Owed, like any message the outbox could not take.
                    lost.store(true, Ordering::Release);
                }
            }
            Err(err) => tracing::warn!(error = %err, "cannot remove expired heartbeats"),
        }
    }
}

/// Keeps this node's presence entries alive while its users are connected.
pub async fn refresh_presence(
    mut conn: ConnectionManager,
    prefix: String,
    node: String,
    hub: Arc<Hub>,
    stop: CancellationToken,
) {
    let mut tick = tokio::time::interval(Duration::from_millis((PRESENCE_TTL_MS / 3) as u64));
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.cancelled() => return,
        }
        let until = Timestamp::now().millis() + PRESENCE_TTL_MS;
        let Some(pipe) = presence_refresh(&prefix, &node, &hub.online_users(), until) else {
            continue;
        };
        if let Err(err) = pipe.query_async::<()>(&mut conn).await {
            tracing::warn!(error = %err, "cannot refresh presence in Redis");
        }
    }
}

/// The commands that keep `users`' presence entries for `node` alive until `until` (ms), or
/// `None` when no one is online: the client refuses an empty pipeline ("empty command"), and
/// there is nothing to refresh anyway.
fn presence_refresh(
    prefix: &str,
    node: &str,
    users: &[UserId],
    until: i64,
) -> Option<redis::Pipeline> {
    if users.is_empty() {
        return None;
    }
    let mut pipe = redis::pipe();
    for &user in users {
        let key = presence_key(prefix, user);
        pipe.hset(&key, node, until)
            .ignore()
            .pexpire(&key, PRESENCE_TTL_MS * 2)
            .ignore();
    }
    Some(pipe)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presence_refresh_sends_nothing_when_no_one_is_online() {
        assert!(presence_refresh("p", "node", &[], 1).is_none());
    }

    #[test]
    fn presence_refresh_sets_and_expires_each_online_users_entry() {
        let pipe = presence_refresh("p", "node", &[UserId(7), UserId(9)], 1).expect("commands");
        assert_eq!(pipe.len(), 4, "HSET and PEXPIRE per user");
        let packed = String::from_utf8_lossy(&pipe.get_packed_pipeline()).into_owned();
        assert!(packed.contains("p:presence:7") && packed.contains("p:presence:9"));
    }
}
