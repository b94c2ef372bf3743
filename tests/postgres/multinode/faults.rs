//! Faults injected into the shared services, aimed at one test's nodes only: other tests use
//! the same Redis and PostgreSQL servers at the same time, so nothing here restarts a server,
//! and the Redis subscriptions cut are exactly those of this test's processes (a bare
//! `CLIENT KILL TYPE pubsub` would also cut other tests' nodes and flap their `/readyz`).

use std::collections::BTreeSet;

use sqlx::{Connection, PgConnection};

use super::cluster::Cluster;
use crate::backend::{admin_url, redis_url};

/// Local ports of `pid`'s TCP connections to `remote_port`, from `/proc` (Linux).
fn ports_towards(pid: u32, remote_port: u16) -> BTreeSet<u16> {
    let sockets: BTreeSet<String> = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .expect("the node's file descriptors are readable")
        .filter_map(|entry| std::fs::read_link(entry.ok()?.path()).ok())
        .filter_map(|target| {
            let target = target.to_str()?;
            Some(
                target
                    .strip_prefix("socket:[")?
                    .strip_suffix(']')?
                    .to_owned(),
            )
        })
        .collect();
    let port = |address: &str| {
        let hex = address.rsplit(':').next()?;
        u16::from_str_radix(hex, 16).ok()
    };
    let mut ports = BTreeSet::new();
    for table in ["tcp", "tcp6"] {
        let text = std::fs::read_to_string(format!("/proc/{pid}/net/{table}")).unwrap_or_default();
        for line in text.lines().skip(1) {
            // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode ...
            let columns: Vec<&str> = line.split_whitespace().collect();
            if columns.len() > 9
                && sockets.contains(columns[9])
                && port(columns[2]) == Some(remote_port)
                && let Some(local) = port(columns[1])
            {
                ports.insert(local);
            }
        }
    }
    ports
}

/// `CLIENT KILL`s the Redis pub/sub connection of every live node of `cluster` (and nothing
/// else); returns how many connections were killed.
pub async fn cut_subscriptions(cluster: &Cluster) -> usize {
    let url = redis_url();
    let redis_port = reqwest::Url::parse(&url)
        .ok()
        .and_then(|u| u.port())
        .unwrap_or(6379);
    let ours: BTreeSet<u16> = (0..cluster.nodes.count())
        .filter(|&node| cluster.nodes.is_up(node))
        .flat_map(|node| ports_towards(cluster.processes[node].pid(), redis_port))
        .collect();
    let client = redis::Client::open(url).expect("Redis URL");
    let mut conn = client
        .get_multiplexed_async_connection()
        .await
        .expect("Redis reachable");
    let list: String = redis::cmd("CLIENT")
        .arg("LIST")
        .arg("TYPE")
        .arg("pubsub")
        .query_async(&mut conn)
        .await
        .expect("CLIENT LIST");
    let mut killed = 0;
    for line in list.lines() {
        let field = |name: &str| {
            line.split_whitespace()
                .find_map(|kv| kv.strip_prefix(name)?.strip_prefix('='))
        };
        let port = field("addr").and_then(|a| a.rsplit(':').next()?.parse::<u16>().ok());
        let (Some(id), Some(port)) = (field("id"), port) else {
            continue;
        };
        if ours.contains(&port) {
            let gone: i64 = redis::cmd("CLIENT")
                .arg("KILL")
                .arg("ID")
                .arg(id)
                .arg("TYPE")
                .arg("pubsub")
                .query_async(&mut conn)
                .await
                .expect("CLIENT KILL");
            killed += gone as usize;
        }
    }
    killed
}

/// Terminates every PostgreSQL backend connected to `database`; returns how many.
pub async fn terminate_backends(admin: &mut PgConnection, database: &str) -> i64 {
    sqlx::query_scalar(
        "SELECT COUNT(*) FROM (SELECT pg_terminate_backend(pid) AS gone FROM pg_stat_activity \
         WHERE datname = $1 AND pid <> pg_backend_pid()) t WHERE gone",
    )
    .bind(database)
    .fetch_one(admin)
    .await
    .expect("pg_terminate_backend")
}

/// A connection to the PostgreSQL server as its administrator.
pub async fn admin() -> PgConnection {
    PgConnection::connect(&admin_url())
        .await
        .expect("PostgreSQL reachable")
}
