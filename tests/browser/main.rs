//! Browser tests: the pages in real headless Chromium, driven over the DevTools protocol, against
//! a real server in this process (port 0, fresh data directory per test). Each test launches its
//! own browser with a fresh profile; each person gets their own browser context (cookies).
//!
//! Chromium must be installed (`apt-get install -y chromium chromium-driver`); without it these
//! tests fail and say so. Screenshots land in `target/screenshots/`.

mod account;
mod attachments;
mod axe;
mod cdp;
mod chat;
mod group_screens;
mod groups;
mod history;
mod lifecycle;
mod list;
mod members;
mod page;
mod requests;
mod restart;
mod safety;
mod screens;
mod support;
