//! Integration tests: the real server over HTTP on port 0, a fresh SQLite file per test.

mod accounts;
mod crash;
mod errors;
mod history;
mod invariants;
mod ordering;
mod privacy;
mod receipts;
mod sending;
mod socket;
mod support;
mod ws_delivery;
