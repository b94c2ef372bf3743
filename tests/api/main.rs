//! Integration tests: the real server over HTTP on port 0, a fresh SQLite file per test.

mod support;
mod socket;
mod ws_delivery;
