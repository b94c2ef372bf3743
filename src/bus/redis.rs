//! The Redis bus, for several nodes. Every node publishes to and subscribes to one channel,
//! `{prefix}:bus`, and delivers what it hears to its own hub (its own messages it delivered
//! locally already).
//!
//! Redis pub/sub is at-most-once, so nothing relies on it for correctness:
//! - publishing goes through a queue that retries until Redis takes the message; if the queue
//!   overflows, a `Resync` is broadcast once Redis is back;
//! - when the subscription is lost (Redis restart, `CLIENT KILL`, network cut), the node
//!   subscribes again and then tells every local socket to catch up from the store;
//! - a node that dies may have committed events it never published (killed between the commit
//!   and the publish, or stopped with its outbox not yet sent), and a retry of such a send on
//!   another node is answered from the store without publishing again: every node keeps a
//!   heartbeat in the sorted set `{prefix}:nodes` (node → expiry, ms), and the node that removes
//!   an expired entry asks every node, itself included, to resync.
//!
//! Presence lives in hashes `{prefix}:presence:{user}` of node → expiry (ms); a node refreshes
//! its entries while its users are connected, so a crashed node's users expire on their own.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use futures_util::StreamExt;
use redis::AsyncCommands;
use redis::aio::ConnectionManager;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::Bus;
use crate::delivery::Hub;
use crate::events::{Ephemeral, Push, UserEvent};
use crate::ids::UserId;
use crate::time::Timestamp;

/// How long a node's presence entry lives without a refresh.
const PRESENCE_TTL_MS: i64 = 30_000;
/// Messages waiting for Redis before the oldest are given up (and a resync is owed).
const OUTBOX: usize = 65_536;
/// How long a node counts as alive without refreshing its heartbeat (it does so 4 times as
/// often). A node that vanishes is noticed within about this long, then every socket resyncs.
const NODE_TTL_MS: i64 = 2_000;

#[derive(Debug, Serialize, Deserialize)]
enum Body {
    Events(Vec<UserEvent>),
    Signal {
        users: Vec<UserId>,
        signal: Ephemeral,
    },
    Revoke(Vec<u8>),
    /// Something may have been lost: every node's sockets catch up from the store.
    Resync,
}

#[derive(Debug, Serialize, Deserialize)]
struct Wire {
    node: String,
    body: Body,
}

pub struct RedisBus {
    hub: Arc<Hub>,
    node: String,
    prefix: String,
    outbox: mpsc::Sender<Vec<u8>>,
    /// Set when the outbox overflowed: a `Resync` is owed.
    lost: Arc<AtomicBool>,
    /// Whether the subscription is live.
    subscribed: Arc<AtomicBool>,
    conn: ConnectionManager,
}

impl RedisBus {
    /// Connects, starts the publisher, subscriber and presence tasks (they end with `stop`).
    pub async fn start(
        url: &str,
        prefix: &str,
        hub: Arc<Hub>,
        stop: CancellationToken,
    ) -> anyhow::Result<RedisBus> {
        let client = redis::Client::open(url)?;
        let conn = client.get_connection_manager().await?;
        let node = format!("{:016x}", rand::random::<u64>());
        let channel = format!("{prefix}:bus");
        let (outbox, queue) = mpsc::channel(OUTBOX);
        let lost = Arc::new(AtomicBool::new(false));
        let subscribed = Arc::new(AtomicBool::new(false));
        let bus = RedisBus {
            hub: hub.clone(),
            node: node.clone(),
            prefix: prefix.to_owned(),
            outbox,
            lost: lost.clone(),
            subscribed: subscribed.clone(),
            conn: conn.clone(),
        };
        tokio::spawn(publish_loop(
            conn.clone(),
            channel.clone(),
            queue,
            lost,
            node.clone(),
            stop.clone(),
        ));
        tokio::spawn(subscribe_loop(
            client,
            channel,
            hub.clone(),
            node,
            subscribed,
            stop.clone(),
        ));
        tokio::spawn(heartbeat(
            conn.clone(),
            prefix.to_owned(),
            bus.node.clone(),
            hub.clone(),
            bus.outbox.clone(),
            bus.lost.clone(),
            stop.clone(),
        ));
        tokio::spawn(refresh_presence(
            conn,
            prefix.to_owned(),
            bus.node.clone(),
            hub,
            stop,
        ));
        Ok(bus)
    }

    fn send(&self, body: Body) {
        let wire = Wire {
            node: self.node.clone(),
            body,
        };
        match serde_json::to_vec(&wire) {
            Ok(payload) => {
                if self.outbox.try_send(payload).is_err() {
                    self.lost.store(true, Ordering::Release);
                }
            }
            Err(err) => tracing::error!(error = %err, "cannot encode a bus message"),
        }
    }

    fn presence_key(&self, user: UserId) -> String {
        presence_key(&self.prefix, user)
    }
}

fn presence_key(prefix: &str, user: UserId) -> String {
    format!("{prefix}:presence:{}", user.0)
}

/// Delivers a message heard on the channel to this node's hub.
fn deliver(hub: &Hub, body: Body) {
    match body {
        Body::Events(events) => {
            for UserEvent { user, event } in events {
                hub.deliver(user, Arc::new(Push::Stored(event)));
            }
        }
        Body::Signal { users, signal } => {
            let push = Arc::new(Push::Signal(signal));
            for user in users {
                hub.deliver(user, push.clone());
            }
        }
        Body::Revoke(credential) => hub.revoke(&credential),
        Body::Resync => hub.resync_all(),
    }
}

async fn publish_loop(
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
            let resync = serde_json::to_vec(&Wire {
                node: node.clone(),
                body: Body::Resync,
            })
            .unwrap_or_default();
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

async fn subscribe_loop(
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

/// Refreshes this node's heartbeat in `{prefix}:nodes` and removes the entries of nodes that
/// stopped refreshing theirs. Whoever removes one (`ZREM` is atomic, so one node per vanished
/// node, usually) resyncs its own sockets and broadcasts `Resync` to the others: the vanished
/// node may have committed events that no one published.
async fn heartbeat(
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
                let resync = serde_json::to_vec(&Wire {
                    node: node.clone(),
                    body: Body::Resync,
                })
                .unwrap_or_default();
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
async fn refresh_presence(
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
        let mut pipe = redis::pipe();
        for user in hub.online_users() {
            let key = presence_key(&prefix, user);
            pipe.hset(&key, &node, until)
                .ignore()
                .pexpire(&key, PRESENCE_TTL_MS * 2)
                .ignore();
        }
        if let Err(err) = pipe.query_async::<()>(&mut conn).await {
            tracing::warn!(error = %err, "cannot refresh presence in Redis");
        }
    }
}

#[async_trait]
impl Bus for RedisBus {
    async fn publish(&self, events: Vec<UserEvent>) {
        for UserEvent { user, event } in &events {
            self.hub
                .deliver(*user, Arc::new(Push::Stored(event.clone())));
        }
        self.send(Body::Events(events));
    }

    async fn signal(&self, users: Vec<UserId>, signal: Ephemeral) {
        let push = Arc::new(Push::Signal(signal.clone()));
        for user in &users {
            self.hub.deliver(*user, push.clone());
        }
        self.send(Body::Signal { users, signal });
    }

    async fn revoke(&self, credential: Vec<u8>) {
        self.hub.revoke(&credential);
        self.send(Body::Revoke(credential));
    }

    async fn set_presence(&self, user: UserId, here: bool) -> bool {
        let key = self.presence_key(user);
        let mut conn = self.conn.clone();
        let now = Timestamp::now().millis();
        let result: redis::RedisResult<Vec<i64>> = if here {
            let mut pipe = redis::pipe();
            pipe.hset(&key, &self.node, now + PRESENCE_TTL_MS)
                .ignore()
                .pexpire(&key, PRESENCE_TTL_MS * 2)
                .ignore()
                .hvals(&key);
            pipe.query_async::<(Vec<i64>,)>(&mut conn)
                .await
                .map(|(v,)| v)
        } else {
            let mut pipe = redis::pipe();
            pipe.hdel(&key, &self.node).ignore().hvals(&key);
            pipe.query_async::<(Vec<i64>,)>(&mut conn)
                .await
                .map(|(v,)| v)
        };
        match result {
            Ok(expiries) => here || expiries.iter().any(|until| *until > now),
            Err(err) => {
                tracing::warn!(error = %err, "presence unavailable in Redis; using this node's view");
                self.hub.count(user) > 0
            }
        }
    }

    async fn online(&self, users: &[UserId]) -> Vec<bool> {
        let mut conn = self.conn.clone();
        let mut pipe = redis::pipe();
        for user in users {
            pipe.hvals(self.presence_key(*user));
        }
        let now = Timestamp::now().millis();
        match pipe.query_async::<Vec<Vec<i64>>>(&mut conn).await {
            Ok(all) => all
                .iter()
                .map(|expiries| expiries.iter().any(|until| *until > now))
                .collect(),
            Err(_) => users.iter().map(|u| self.hub.count(*u) > 0).collect(),
        }
    }

    async fn ready(&self) -> bool {
        let mut conn = self.conn.clone();
        self.subscribed.load(Ordering::Acquire)
            && redis::cmd("PING")
                .query_async::<String>(&mut conn)
                .await
                .is_ok()
    }
}

/// Connects once to `url` and returns the Redis server's version, for `linkup doctor`.
pub async fn server_version(url: &str) -> anyhow::Result<String> {
    let client = redis::Client::open(url)?;
    let mut conn = client.get_multiplexed_async_connection().await?;
    let info: String = redis::cmd("INFO")
        .arg("server")
        .query_async(&mut conn)
        .await?;
    let version = info
        .lines()
        .find_map(|line| line.strip_prefix("redis_version:"))
        .unwrap_or("unknown")
        .trim()
        .to_owned();
    Ok(version)
}
