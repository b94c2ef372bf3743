//! LinkUp Messaging: a real-time messaging server.
//!
//! Layers point one way: `web` (HTTP) and `ws` (WebSocket) parse what clients send → domain
//! actions (`accounts`, `messages`, `receipts`, `conversations`, `sync`, `presence`,
//! `health`: they commit, then publish) → `store` (the only module that speaks SQL) and `bus`
//! (fan-out) → `domain` (the plain types everything stands on). See `ARCHITECTURE.md` for the map and its
//! invariants.

pub mod accounts;
pub mod admin;
pub mod app;
pub mod auth;
pub mod bench;
pub mod blobs;
pub mod bus;
pub mod cli;
pub mod config;
pub mod conversations;
pub mod deletion;
pub mod delivery;
pub mod directory;
pub mod domain;
pub mod edits;
pub mod export;
pub mod groups;
pub mod health;
pub mod limits;
pub mod listener;
pub mod media;
pub mod messages;
pub mod metrics;
pub mod operators;
pub mod presence;
pub mod receipts;
pub mod reports;
pub mod safety;
pub mod server;
pub mod store;
pub mod sync;
pub mod uploads;
pub mod web;
pub mod ws;
