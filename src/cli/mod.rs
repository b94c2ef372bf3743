//! The `linkup` command line: `serve`, `migrate`, `doctor`, `bench`.

pub mod admin;
pub mod copy;
pub mod demo;
pub mod doctor;
pub mod process;

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use tracing_subscriber::EnvFilter;

use crate::config::Config;
use crate::metrics::Metrics;
use crate::server::{Server, open_store};

#[derive(Debug, Parser)]
#[command(
    name = "linkup",
    version,
    about = "LinkUp Messaging: real-time 1:1 messaging server"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the API, WebSockets and pages on one port.
    Serve(Config),
    /// Apply database migrations and exit.
    Migrate(Config),
    /// Check configuration, data directory, store, migrations and routes; exit non-zero on a problem.
    Doctor(Config),
    /// Copy an embedded SQLite install (stop its server first) into an empty PostgreSQL database.
    CopyToPostgres {
        #[command(flatten)]
        config: Config,
        /// The PostgreSQL database to fill, e.g. postgres://linkup@db/linkup.
        #[arg(long)]
        to: String,
    },
    /// Load-test a running server over its public API: throughput, latency, connections, sync.
    Bench(crate::bench::BenchArgs),
    /// Operator commands against a running server or cluster: reports | suspend USER |
    /// unsuspend USER | reset-password USER | delete-user USER (takes serve's options).
    Admin {
        #[command(flatten)]
        config: Config,
        /// reports, suspend, unsuspend, reset-password or delete-user.
        command: String,
        /// The USER the command acts on.
        args: Vec<String>,
    },
}

/// Entry point of the binary.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(err) => {
            eprintln!("error: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Serve(config) => serve(config).await,
            Command::Migrate(config) => migrate(config).await,
            Command::CopyToPostgres { config, to } => copy::run(config, to).await,
            Command::Doctor(config) => return Ok(doctor::run(config).await),
            Command::Bench(args) => crate::bench::run(args).await,
            Command::Admin {
                config,
                command,
                args,
            } => return Ok(admin::run(config, command, args).await),
        }
        .map(|()| ExitCode::SUCCESS)
    });
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(config: Config) -> anyhow::Result<()> {
    process::keep_data_private(&config.data_dir);
    process::return_large_allocations();
    let files = process::raise_file_limit();
    tracing::debug!("open-file limit: {files}");
    let server = Server::start(config).await?;
    tracing::info!("listening on {}", server.url());
    shutdown_signal().await;
    tracing::info!("stopping: finishing in-flight requests and writes");
    server.stop().await?;
    tracing::info!("stopped");
    Ok(())
}

async fn migrate(config: Config) -> anyhow::Result<()> {
    let store = open_store(&config, &Metrics::default()).await?;
    store.close().await;
    println!(
        "migrations are up to date ({:?})",
        config.store_location().map_err(anyhow::Error::msg)?
    );
    Ok(())
}

/// Logs to stderr, filtered by `RUST_LOG`; `LINKUP_LOG_FORMAT=json` for one JSON object a line.
fn init_logging() {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,tower_http=warn,sqlx=warn"));
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if std::env::var("LINKUP_LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json")) {
        logs.json().init();
    } else {
        logs.init();
    }
}

/// Resolves on SIGINT or SIGTERM.
async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = interrupt => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = interrupt.await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = interrupt.await;
    }
}
