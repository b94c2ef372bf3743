//! Starting and stopping a server: open the store, build the application, bind, serve until
//! told to stop, then finish in-flight requests and queued writes. Tests start servers on
//! port 0 through `Server::start`; the CLI adds signal handling on top.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::app::{App, AppState, Settings};
use crate::auth::passwords::Hasher;
use crate::blobs::Blobs;
use crate::bus::Bus;
use crate::bus::memory::MemoryBus;
use crate::bus::redis::RedisBus;
use crate::config::{Config, StoreLocation};
use crate::delivery::Hub;
use crate::directory::Directory;
use crate::domain::message_rules::Windows;
use crate::limits::{AuthLimits, KeyedLimit};
use crate::listener::Listener;
use crate::listener::service::Connections;
use crate::listener::watch::Timeouts;
use crate::metrics::Metrics;
use crate::store::Store;
use crate::store::postgres::{PostgresOptions, PostgresStore};
use crate::store::sqlite::{SqliteOptions, SqliteStore};
use crate::store::timed::Timed;

/// Users remembered by name (about 100 bytes each).
const DIRECTORY_CAPACITY: usize = 100_000;

/// A running server.
pub struct Server {
    addr: SocketAddr,
    state: AppState,
    task: JoinHandle<anyhow::Result<()>>,
}

/// Opens the store the configuration selects, applying migrations; its writer records its
/// batches in `metrics`.
pub async fn open_store(config: &Config, metrics: &Metrics) -> anyhow::Result<Arc<dyn Store>> {
    match config.store_location().map_err(anyhow::Error::msg)? {
        StoreLocation::Sqlite(path) => {
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir)
                    .with_context(|| format!("creating the data directory {}", dir.display()))?;
            }
            let options = SqliteOptions {
                metrics: metrics.writer.clone(),
                ..SqliteOptions::default()
            };
            let store = SqliteStore::open(&path, options)
                .await
                .with_context(|| format!("opening the SQLite database {}", path.display()))?;
            Ok(Arc::new(store))
        }
        StoreLocation::Postgres(url) => {
            let options = PostgresOptions {
                max_connections: config.pg_max_connections,
                statement_timeout: Duration::from_millis(config.pg_statement_timeout_ms),
                writers: config.pg_writers,
                ..PostgresOptions::default()
            };
            let store = PostgresStore::open(&url, options).await.context(
                "connecting to PostgreSQL (is it running, and does the database exist?)",
            )?;
            Ok(Arc::new(store))
        }
    }
}

async fn build_state(
    config: &Config,
    store: Arc<dyn Store>,
    metrics: Metrics,
    local: SocketAddr,
    serving: bool,
) -> anyhow::Result<AppState> {
    let directory = Arc::new(Directory::new(DIRECTORY_CAPACITY));
    let hub = Arc::new(Hub::with_directory(directory.clone()));
    let shutdown = CancellationToken::new();
    let bus: Arc<dyn Bus> = match &config.redis_url {
        Some(url) => Arc::new(
            RedisBus::start(url, &config.redis_prefix, hub.clone(), shutdown.clone())
                .await
                .context("connecting to Redis (is it running at --redis-url?)")?,
        ),
        None => Arc::new(MemoryBus::new(hub.clone())),
    };
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let settings = Settings {
        max_body_chars: config.max_body_chars.max(1),
        max_request_bytes: config.max_request_bytes.max(1024),
        session_ttl_secs: i64::from(config.session_days.max(1)) * 86_400,
        secure_cookies: config.secure_cookies(),
        allowed_origins: config.effective_allowed_origins(local),
        ws_ping_interval: Duration::from_secs(config.ws_ping_secs.max(1)),
        ws_queue: config.ws_queue.max(16),
        max_sockets_per_user: config.max_sockets_per_user.max(1),
        live_receipts_max: config.live_receipts_max,
        max_group_members: usize::from(config.max_group_members),
        windows: Windows {
            edit_secs: config.edit_window_secs,
            delete_secs: config.delete_window_secs,
        },
        max_upload_bytes: config.max_upload_bytes.max(1),
        upload_quota_bytes: config.upload_quota_bytes,
        max_image_pixels: config.max_image_pixels,
        upload_scratch: config.data_dir.join("tmp"),
        // -- Authentication (auth) --
        trusted_proxies: config.trusted_proxies.clone(),
        token_ttl_secs: (config.token_ttl_days > 0)
            .then(|| i64::from(config.token_ttl_days) * 86_400),
        report_retention: Duration::from_secs(u64::from(config.report_retention_days) * 86_400),
        message_requests: config.message_requests,
    };
    if serving {
        crate::uploads::clear_scratch(&settings.upload_scratch);
    }
    let blobs = match &config.object_store_url {
        Some(url) => Blobs::s3(url).context("opening object storage (--object-store-url)")?,
        None => Blobs::local(&config.data_dir.join("uploads"))
            .context("opening the uploads directory under --data-dir")?,
    };
    // Every store call the actions make is timed, under the call's name.
    let store: Arc<dyn Store> = Arc::new(Timed::new(store, metrics.store_latency.clone()));
    let app = App {
        store,
        blobs,
        image_slots: Arc::new(tokio::sync::Semaphore::new(config.image_workers.max(1))),
        storage_probe: tokio::sync::Mutex::new(None),
        bus,
        hub,
        directory,
        hasher: Hasher::new(cores)?,
        send_limit: KeyedLimit::per_second(config.send_rate, config.send_burst),
        auth_limits: AuthLimits::new(config.login_rate, config.auth_rate_per_address),
        frame_limit: KeyedLimit::per_second(config.frame_rate, config.frame_rate.saturating_mul(4)),
        typing_limit: KeyedLimit::per_second(5, 10),
        group_create_limit: KeyedLimit::per_hour(config.group_create_rate),
        shutdown,
        tasks: TaskTracker::new(),
        metrics,
        settings,
    };
    Ok(AppState(Arc::new(app)))
}

/// The application without a listener, for `linkup admin` when no server answers on the admin
/// socket: the same store and bus (Redis included) a server of this configuration uses.
pub async fn open_app(config: &Config) -> anyhow::Result<AppState> {
    let metrics = Metrics::default();
    let store = open_store(config, &metrics).await?;
    match build_state(config, store.clone(), metrics, config.bind, false).await {
        Ok(state) => Ok(state),
        Err(err) => {
            store.close().await;
            Err(err)
        }
    }
}

impl Server {
    /// Opens the store, binds `config.bind` and starts serving in the background.
    pub async fn start(config: Config) -> anyhow::Result<Server> {
        let metrics = Metrics::default();
        let store = open_store(&config, &metrics).await?;
        let listener = TcpListener::bind(config.bind).await.with_context(|| {
            format!(
                "cannot listen on {}: is another server using it? (--bind)",
                config.bind
            )
        })?;
        let addr = listener.local_addr()?;
        let state = match build_state(&config, store.clone(), metrics, addr, true).await {
            Ok(state) => state,
            Err(err) => {
                store.close().await;
                return Err(err);
            }
        };
        if config.demo {
            crate::cli::demo::create_demo_users(&state).await?;
        }
        let router = crate::web::router(state.clone());
        let listener = Listener::new(
            listener,
            max_connections(&config),
            timeouts(&config),
            &state.metrics,
        );
        let housekeeping = spawn_housekeeping(state.clone());
        let admin = crate::admin::listen(state.clone(), &config);
        let app = state.clone();
        let task = tokio::spawn(async move {
            let shutdown = app.shutdown.clone().cancelled_owned();
            let served = axum::serve(listener, Connections { router })
                .with_graceful_shutdown(shutdown)
                .await;
            housekeeping.abort();
            if let Some(admin) = admin {
                admin.stop();
            }
            // Sockets saw the same cancellation and are closing with 1001; give them a moment.
            app.tasks.close();
            if tokio::time::timeout(Duration::from_secs(5), app.tasks.wait())
                .await
                .is_err()
            {
                tracing::warn!("some sockets did not close within 5 s");
            }
            store.close().await;
            served.context("serving HTTP")
        });
        Ok(Server { addr, state, task })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://ADDR`, for clients.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Stops accepting, lets in-flight requests and queued writes finish, and returns.
    pub async fn stop(self) -> anyhow::Result<()> {
        self.state.shutdown.cancel();
        self.task.await.context("server task")?
    }
}

/// `--max-connections`, or 90% of the open-file limit in force.
fn max_connections(config: &Config) -> usize {
    config
        .max_connections
        .map_or_else(crate::listener::default_max_connections, |max| {
            usize::try_from(max).unwrap_or(usize::MAX)
        })
}

/// The longest connection timeout honoured (a year): a longer one would overflow the clock
/// each connection adds it to, and panic the accept loop at the first connection.
const LONGEST_TIMEOUT_SECS: u64 = 365 * 86_400;

fn timeouts(config: &Config) -> Timeouts {
    let secs = |s: u64| Duration::from_secs(s.clamp(1, LONGEST_TIMEOUT_SECS));
    Timeouts {
        header: secs(config.header_timeout_secs),
        body: secs(config.body_timeout_secs),
        keepalive: secs(config.keepalive_timeout_secs),
    }
}

/// How often the bytes of uploads no message may carry any more are looked for (the contract
/// gives them 30 seconds to leave storage).
const UPLOAD_SWEEP: Duration = Duration::from_secs(10);

/// Periodic upkeep: remove the bytes of uploads no message may carry any more; forget idle
/// rate-limit buckets; purge expired sessions and tokens.
fn spawn_housekeeping(state: AppState) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(60));
        let mut sweep = tokio::time::interval(UPLOAD_SWEEP);
        loop {
            tokio::select! {
                _ = sweep.tick() => {
                    if let Err(err) = crate::uploads::sweep(&state).await {
                        tracing::warn!(error = %err, "upload sweep failed; will retry");
                    }
                }
                _ = tick.tick() => {
                    crate::operators::housekeeping(&state).await;
                    state.send_limit.forget_idle();
                    state.auth_limits.forget_idle();
                    if let Err(err) = crate::accounts::purge_expired(&state).await {
                        tracing::warn!(error = %err, "purging expired sessions failed; will retry");
                    }
                    state.frame_limit.forget_idle();
                    state.typing_limit.forget_idle();
                    state.group_create_limit.forget_idle();
                }
                _ = state.shutdown.cancelled() => return,
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::listener::watch::Watch;

    #[test]
    fn huge_timeouts_are_capped_instead_of_overflowing_the_clock() {
        let mut config = Config::for_tests("/nonexistent");
        config.header_timeout_secs = u64::MAX;
        config.body_timeout_secs = u64::MAX;
        config.keepalive_timeout_secs = u64::MAX;
        // Each connection's clock adds these to the time now.
        let watch = Watch::new(timeouts(&config));
        watch.request_started();
        watch.request_finished();
    }
}
