//! `--demo`: two ready-made accounts so a newcomer can try LinkUp at once.

use crate::accounts::{self, Signup};
use crate::app::AppState;
use crate::domain::error::Error;

/// The demo accounts' shared password (printed at start; never use `--demo` in production).
pub const DEMO_PASSWORD: &str = "linkup-demo";

/// Creates `alice` and `bob` unless they exist, and prints how to log in.
pub async fn create_demo_users(state: &AppState) -> anyhow::Result<()> {
    for (username, display_name) in [("alice", "Alice Demo"), ("bob", "Bob Demo")] {
        let input = Signup::parse(username, DEMO_PASSWORD.into(), Some(display_name))
            .map_err(|err| anyhow::anyhow!("demo user {username}: {err}"))?;
        match accounts::create_account(state, input).await {
            Ok(_) | Err(Error::UsernameTaken(_)) => {}
            Err(err) => return Err(anyhow::anyhow!("creating demo user {username}: {err}")),
        }
    }
    println!("demo users: alice / {DEMO_PASSWORD} and bob / {DEMO_PASSWORD}");
    Ok(())
}
