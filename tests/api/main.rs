//! Integration tests: the real server over HTTP and WebSocket on port 0, a fresh SQLite file
//! per test.

mod accounts;
mod crash;
mod errors;
mod history;
mod invariants;
mod ordering;
mod pages;
mod privacy;
mod receipts;
mod sending;
mod socket;
mod support;
mod ws_delivery;
mod ws_fanout;
mod ws_frames;
mod ws_lifecycle;
mod ws_reconnect;
mod ws_registry;
mod ws_replay;
mod ws_routes;
mod ws_signals;
mod ws_slow;
