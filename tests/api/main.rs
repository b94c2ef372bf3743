//! Integration tests: the real server over HTTP and WebSocket on port 0, a fresh SQLite file
//! per test. `tests/postgres` runs the same modules against PostgreSQL.

/// The store every test server of this binary runs on.
pub const BACKEND: backend::Backend = backend::Backend::Sqlite;

mod accounts;
mod backend;
mod crash;
mod errors;
mod files;
mod group_receipts;
mod groups;
mod hardening;
mod history;
mod invariants;
mod lifecycle;
mod migration;
mod openapi;
mod ordering;
mod pages;
mod privacy;
mod process;
mod receipts;
mod sending;
mod socket;
mod support;
mod uploads;
mod ws_delivery;
mod ws_fanout;
mod ws_frames;
mod ws_groups;
mod ws_lifecycle;
mod ws_reconnect;
mod ws_registry;
mod ws_replay;
mod ws_routes;
mod ws_signals;
mod ws_slow;
// -- Authentication (auth) --
mod display_names;
mod login_limits;
mod password;
mod tokens;
// Accounts, reports and operators (v2 safety).
mod admin;
mod deletion;
mod export;
mod reports;
// Safety: blocks and message requests.
mod safety;
mod safety_signals;
