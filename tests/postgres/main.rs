//! The integration suite of `tests/api`, compiled a second time against PostgreSQL: each
//! test creates its own database on the local server (`LINKUP_TEST_PG_URL`, default
//! `postgres://postgres@127.0.0.1:5432/test`) and drops it afterwards. The modules are the
//! same files, not copies.

/// The store every test server of this binary runs on.
pub const BACKEND: backend::Backend = backend::Backend::Postgres;

mod batches;
mod copy;

#[path = "../api/accounts.rs"]
mod accounts;
#[path = "../api/backend.rs"]
mod backend;
#[path = "../api/crash.rs"]
mod crash;
#[path = "../api/errors.rs"]
mod errors;
#[path = "../api/group_receipts.rs"]
mod group_receipts;
#[path = "../api/groups.rs"]
mod groups;
#[path = "../api/history.rs"]
mod history;
#[path = "../api/invariants.rs"]
mod invariants;
#[path = "../api/lifecycle.rs"]
mod lifecycle;
#[path = "../api/migration.rs"]
mod migration;
mod multinode;
#[path = "../api/ordering.rs"]
mod ordering;
#[path = "../api/pages.rs"]
mod pages;
#[path = "../api/privacy.rs"]
mod privacy;
#[path = "../api/process.rs"]
mod process;
#[path = "../api/receipts.rs"]
mod receipts;
mod s3;
#[path = "../api/sending.rs"]
mod sending;
#[path = "../api/socket.rs"]
mod socket;
#[path = "../api/support.rs"]
mod support;
#[path = "../api/uploads.rs"]
mod uploads;
#[path = "../api/ws_delivery.rs"]
mod ws_delivery;
#[path = "../api/ws_fanout.rs"]
mod ws_fanout;
#[path = "../api/ws_frames.rs"]
mod ws_frames;
#[path = "../api/ws_groups.rs"]
mod ws_groups;
#[path = "../api/ws_lifecycle.rs"]
mod ws_lifecycle;
#[path = "../api/ws_reconnect.rs"]
mod ws_reconnect;
#[path = "../api/ws_registry.rs"]
mod ws_registry;
#[path = "../api/ws_replay.rs"]
mod ws_replay;
#[path = "../api/ws_routes.rs"]
mod ws_routes;
#[path = "../api/ws_signals.rs"]
mod ws_signals;
#[path = "../api/ws_slow.rs"]
mod ws_slow;
// -- Authentication (auth) --
#[path = "../api/display_names.rs"]
mod display_names;
#[path = "../api/login_limits.rs"]
mod login_limits;
#[path = "../api/password.rs"]
mod password;
#[path = "../api/tokens.rs"]
mod tokens;
// Accounts, reports and operators (v2 safety).
#[path = "../api/admin.rs"]
mod admin;
#[path = "../api/deletion.rs"]
mod deletion;
#[path = "../api/export.rs"]
mod export;
#[path = "../api/reports.rs"]
mod reports;
// Safety: blocks and message requests.
#[path = "../api/safety.rs"]
mod safety;
#[path = "../api/safety_signals.rs"]
mod safety_signals;
