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

mod liveness;
mod tasks;
mod wire;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use async_trait::async_trait;
use redis::aio::ConnectionManager;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::Bus;
use crate::delivery::Hub;
use crate::delivery::Push;
use crate::domain::event::{Ephemeral, UserEvent};
use crate::domain::ids::UserId;
use crate::domain::time::Timestamp;
use liveness::{PRESENCE_TTL_MS, heartbeat, presence_key, refresh_presence};
use tasks::{publish_loop, subscribe_loop};
use wire::{Body, Wire};

/// Messages waiting for Redis before the oldest are given up (and a resync is owed).
const OUTBOX: usize = 65_536;

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

#[async_trait]
impl Bus for RedisBus {
    async fn publish(&self, events: Vec<UserEvent>) {
        self.hub.deliver_events(events.iter().cloned());
        self.send(Body::Events(wire::share(events)));
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

    async fn close_user(&self, user: UserId) {
        self.hub.close_user(user);
        self.send(Body::CloseUser(user));
    }

    async fn flush(&self) {
        // The publisher takes messages off the outbox one by one; once it is empty, give the
        // last one a moment to reach Redis.
        for _ in 0..100 {
            if self.outbox.capacity() == self.outbox.max_capacity() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
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
