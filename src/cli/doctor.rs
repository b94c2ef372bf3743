//! `linkup doctor`: checks what a running server depends on and says how to fix what is wrong.
//! Exits non-zero when any check fails; warnings alone do not fail it.

use std::process::ExitCode;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use tower::ServiceExt;

use crate::config::{Config, StoreLocation};
use crate::server::Server;
use crate::store::sqlite::schema;

enum Verdict {
    Ok(String),
    Warn(String),
    Fail(String),
}

struct Report {
    failed: bool,
}

impl Report {
    fn say(&mut self, check: &str, verdict: Verdict) {
        match verdict {
            Verdict::Ok(detail) => println!("  ok    {check}: {detail}"),
            Verdict::Warn(detail) => println!("  warn  {check}: {detail}"),
            Verdict::Fail(detail) => {
                self.failed = true;
                println!("  FAIL  {check}: {detail}");
            }
        }
    }
}

pub async fn run(config: Config) -> ExitCode {
    println!("linkup doctor {}", env!("CARGO_PKG_VERSION"));
    let mut report = Report { failed: false };
    let location = match config.store_location() {
        Ok(location) => {
            report.say(
                "configuration",
                Verdict::Ok(format!("bind {}, store {location:?}", config.bind)),
            );
            Some(location)
        }
        Err(err) => {
            report.say("configuration", Verdict::Fail(err));
            None
        }
    };
    match &config.redis_url {
        Some(url) => check_redis(&mut report, url).await,
        None => report.say("bus", Verdict::Ok("in-process (single node)".into())),
    }
    match location {
        Some(StoreLocation::Sqlite(path)) => check_sqlite(&mut report, &path),
        Some(StoreLocation::Postgres(url)) => check_postgres(&mut report, &url).await,
        None => {}
    }
    check_attachments(&mut report, &config).await;
    check_bind(&mut report, &config).await;
    check_routes(&mut report).await;
    let assets = match crate::web::pages::self_check() {
        Ok(detail) => Verdict::Ok(detail),
        Err(problem) => Verdict::Fail(format!("{problem}; this build is broken, rebuild linkup")),
    };
    report.say("static assets", assets);
    if report.failed {
        println!("\nsome checks failed: fix the FAIL lines above, then run `linkup doctor` again");
        ExitCode::FAILURE
    } else {
        println!("\nall checks passed");
        ExitCode::SUCCESS
    }
}

/// Opens the attachment storage and writes, reads and deletes a small object in it.
async fn check_attachments(report: &mut Report, config: &Config) {
    let opened = match &config.object_store_url {
        Some(url) => crate::blobs::Blobs::s3(url),
        None => crate::blobs::Blobs::local(&config.data_dir.join("uploads")),
    };
    let verdict = match opened {
        Err(err) => Verdict::Fail(format!(
            "{err}; give --object-store-url as s3://bucket/prefix, or leave it out for the data directory"
        )),
        Ok(blobs) => match blobs.check().await {
            Ok(()) => Verdict::Ok(format!(
                "{} takes a write, a read and a delete",
                blobs.place
            )),
            Err(err) => Verdict::Fail(format!(
                "{} refused a probe ({err}); check that the bucket exists and AWS_ACCESS_KEY_ID, \
                 AWS_SECRET_ACCESS_KEY, AWS_REGION and AWS_ENDPOINT_URL reach it (or that the \
                 data directory is writable)",
                blobs.place
            )),
        },
    };
    report.say("attachment storage", verdict);
}

async fn check_redis(report: &mut Report, url: &str) {
    match crate::bus::redis::server_version(url).await {
        Ok(version) => report.say(
            "bus",
            Verdict::Ok(format!("Redis {version} answers at {url}")),
        ),
        Err(err) => report.say(
            "bus",
            Verdict::Fail(format!(
                "Redis at {url} does not answer ({err}); start it or fix --redis-url"
            )),
        ),
    }
}

async fn check_postgres(report: &mut Report, url: &str) {
    match crate::store::postgres::schema::inspect(url).await {
        Ok(found) => {
            report.say("store", Verdict::Ok(format!("PostgreSQL {} answers", found.server_version)));
            report.say("migrations", migrations_verdict(found.version, found.latest));
        }
        Err(err) => report.say(
            "store",
            Verdict::Fail(format!(
                "PostgreSQL does not answer ({err}); check --database-url, that the server runs and the database exists (createdb)"
            )),
        ),
    }
}

fn migrations_verdict(version: i64, latest: i64) -> Verdict {
    if version == latest {
        Verdict::Ok(format!("schema version {version} is current"))
    } else if version < latest {
        Verdict::Fail(format!(
            "schema version {version} is behind {latest}; run `linkup migrate`"
        ))
    } else {
        Verdict::Fail(format!(
            "schema version {version} is newer than this build's {latest}; upgrade linkup"
        ))
    }
}

fn check_sqlite(report: &mut Report, path: &std::path::Path) {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    let probe = dir.join(format!(".linkup-doctor-{}", std::process::id()));
    let writable = std::fs::create_dir_all(dir).and_then(|()| std::fs::write(&probe, b"ok"));
    let _ = std::fs::remove_file(&probe);
    match writable {
        Ok(()) => report.say(
            "data directory",
            Verdict::Ok(format!("{} is writable", dir.display())),
        ),
        Err(err) => report.say(
            "data directory",
            Verdict::Fail(format!(
                "{} is not writable ({err}); choose another with --data-dir",
                dir.display()
            )),
        ),
    }
    match schema::inspect(path) {
        Ok(None) => report.say(
            "store",
            Verdict::Warn(format!(
                "{} does not exist yet; `linkup serve` or `linkup migrate` creates it",
                path.display()
            )),
        ),
        Ok(Some(found)) => {
            let health = if found.integrity == "ok" {
                Verdict::Ok(format!(
                    "{} opens; journal mode {}, integrity ok",
                    path.display(),
                    found.journal_mode
                ))
            } else {
                Verdict::Fail(format!(
                    "{} fails its integrity check: {}; restore a backup",
                    path.display(),
                    found.integrity
                ))
            };
            report.say("store", health);
            let migrations = migrations_verdict(found.version, found.latest);
            report.say("migrations", migrations);
        }
        Err(err) => report.say(
            "store",
            Verdict::Fail(format!("{} cannot be read: {err}", path.display())),
        ),
    }
}

async fn check_bind(report: &mut Report, config: &Config) {
    match tokio::net::TcpListener::bind(config.bind).await {
        Ok(_) => report.say(
            "listen address",
            Verdict::Ok(format!("{} is free", config.bind)),
        ),
        Err(err) => report.say(
            "listen address",
            Verdict::Warn(format!(
                "{} cannot be bound ({err}); a server may already run there, or choose --bind",
                config.bind
            )),
        ),
    }
}

/// Starts a throwaway server on a temporary database and asks each route family for its answer.
async fn check_routes(report: &mut Report) {
    let dir = std::env::temp_dir().join(format!("linkup-doctor-{}", std::process::id()));
    let mut config = Config::for_tests(&dir);
    config.bind = "127.0.0.1:0".parse().expect("a valid literal address");
    let server = match Server::start(config).await {
        Ok(server) => server,
        Err(err) => {
            report.say(
                "routes",
                Verdict::Fail(format!("a test server did not start: {err:#}")),
            );
            let _ = std::fs::remove_dir_all(&dir);
            return;
        }
    };
    let router = crate::web::router(server.state().clone());
    let expectations = [
        ("/healthz", StatusCode::OK),
        ("/readyz", StatusCode::OK),
        ("/metrics", StatusCode::OK),
        ("/api/openapi.json", StatusCode::OK),
        ("/api/me", StatusCode::UNAUTHORIZED),
        (
            "/api/conversations/someone/messages?before_id=temp_1",
            StatusCode::UNAUTHORIZED,
        ),
        ("/ws/notifications/", StatusCode::UNAUTHORIZED),
        ("/ws/chat/someone/", StatusCode::UNAUTHORIZED),
        ("/api/no-such-route", StatusCode::NOT_FOUND),
        ("/login", StatusCode::OK),
        ("/messages/", StatusCode::SEE_OTHER),
    ];
    let mut wrong = Vec::new();
    for (path, expected) in expectations {
        let request = Request::get(path)
            .body(Body::empty())
            .expect("a valid literal request");
        match router.clone().oneshot(request).await {
            Ok(response) if response.status() == expected => {}
            Ok(response) => wrong.push(format!(
                "{path} answered {} (expected {expected})",
                response.status()
            )),
            Err(err) => wrong.push(format!("{path} failed: {err}")),
        }
    }
    let _ = server.stop().await;
    let _ = std::fs::remove_dir_all(&dir);
    if wrong.is_empty() {
        report.say(
            "routes",
            Verdict::Ok(format!("{} routes answer as expected", expectations.len())),
        );
    } else {
        report.say("routes", Verdict::Fail(wrong.join("; ")));
    }
}
