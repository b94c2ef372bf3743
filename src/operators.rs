//! What operators do to a running server (`linkup admin COMMAND`): read reports, suspend and
//! unsuspend an account, reset a password, delete an account. Each command runs as an action of
//! the server's `App` (through its bus, so its effect reaches sockets on every node), whether it
//! came over the admin socket (`admin`) or, with no server answering, from the command line in
//! a process of its own. Also the periodic housekeeping these rules need.

use serde::{Deserialize, Serialize};

use crate::app::App;
use crate::auth::secrets;
use crate::domain::User;
use crate::domain::input::{Password, Username};
use crate::domain::time::Timestamp;
use crate::store::AccountStatus;

/// How long a reset password may log in (once).
pub const RESET_VALID_MILLIS: i64 = 24 * 3_600_000;

/// Reports read from the store at a time.
const REPORTS_PAGE: u32 = 500;

/// An operator's command, parsed from the command line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "command", content = "user", rename_all = "kebab-case")]
pub enum Command {
    Reports,
    Suspend(String),
    Unsuspend(String),
    ResetPassword(String),
    DeleteUser(String),
}

/// The usage line for bad input.
pub const USAGE: &str = "usage: linkup admin [OPTIONS] reports | suspend USER | unsuspend USER | reset-password USER | delete-user USER";

impl Command {
    /// Parses `COMMAND [ARGS]`; `Err` is a bad-usage message (exit 2).
    pub fn parse(name: &str, args: &[String]) -> Result<Command, String> {
        let user = || match args {
            [user] => Ok(user.clone()),
            _ => Err(format!("{name} takes exactly one USER\n{USAGE}")),
        };
        match name {
            "reports" if args.is_empty() => Ok(Command::Reports),
            "reports" => Err(format!("reports takes no arguments\n{USAGE}")),
            "suspend" => user().map(Command::Suspend),
            "unsuspend" => user().map(Command::Unsuspend),
            "reset-password" => user().map(Command::ResetPassword),
            "delete-user" => user().map(Command::DeleteUser),
            other => Err(format!("unknown admin command {other:?}\n{USAGE}")),
        }
    }
}

/// What a command prints and its exit code: 0 done, 1 unknown user or refused.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outcome {
    pub exit: u8,
    pub stdout: String,
    pub stderr: String,
}

impl Outcome {
    fn done(stdout: String) -> Self {
        Outcome {
            exit: 0,
            stdout,
            stderr: String::new(),
        }
    }

    fn refused(why: impl Into<String>) -> Self {
        Outcome {
            exit: 1,
            stdout: String::new(),
            stderr: format!("{}\n", why.into()),
        }
    }
}

/// Runs `command` in `app`.
pub async fn run(app: &App, command: &Command) -> Outcome {
    let result = match command {
        Command::Reports => reports(app).await,
        Command::Suspend(name) => suspend(app, name, true).await,
        Command::Unsuspend(name) => suspend(app, name, false).await,
        Command::ResetPassword(name) => reset_password(app, name).await,
        Command::DeleteUser(name) => delete_user(app, name).await,
    };
    result.unwrap_or_else(|why| why)
}

/// The active or suspended account named `name`, or why not.
async fn account(app: &App, name: &str) -> Result<(User, AccountStatus), Outcome> {
    let unknown = || Outcome::refused(format!("no user named {name:?}"));
    let username = Username::parse(name).map_err(|_| unknown())?;
    let user = app
        .store
        .user_by_username(&username)
        .await
        .map_err(|err| Outcome::refused(format!("the store failed: {err}")))?
        .ok_or_else(unknown)?;
    let status = app
        .store
        .account_status(user.id)
        .await
        .map_err(|err| Outcome::refused(format!("the store failed: {err}")))?;
    Ok((user, status))
}

fn failed(err: impl std::fmt::Display) -> Outcome {
    Outcome::refused(format!("refused: {err}"))
}

async fn reports(app: &App) -> Result<Outcome, Outcome> {
    let mut out = String::new();
    let mut after = 0;
    loop {
        let page = app
            .store
            .reports(after, REPORTS_PAGE)
            .await
            .map_err(failed)?;
        for report in &page {
            let line = serde_json::json!({
                "id": report.id,
                "at": report.at,
                "reporter": report.reporter,
                "reason": report.reason,
                "message": report.message,
            });
            out.push_str(&line.to_string());
            out.push('\n');
            after = report.id;
        }
        if page.len() < REPORTS_PAGE as usize {
            return Ok(Outcome::done(out));
        }
    }
}

async fn suspend(app: &App, name: &str, suspend: bool) -> Result<Outcome, Outcome> {
    let (user, status) = account(app, name).await?;
    if status == AccountStatus::Deleted {
        return Err(Outcome::refused(format!("{name} is a deleted account")));
    }
    let status = if suspend {
        AccountStatus::Suspended
    } else {
        AccountStatus::Active
    };
    app.store
        .set_account_status(user.id, status)
        .await
        .map_err(failed)?;
    if suspend {
        app.bus.close_user(user.id).await;
    }
    let done = if suspend { "suspended" } else { "unsuspended" };
    Ok(Outcome::done(format!("{done} {}\n", user.username)))
}

async fn reset_password(app: &App, name: &str) -> Result<Outcome, Outcome> {
    let (user, status) = account(app, name).await?;
    if status == AccountStatus::Deleted {
        return Err(Outcome::refused(format!("{name} is a deleted account")));
    }
    let password = secrets::random_token();
    let parsed = Password::parse(password.clone()).map_err(failed)?;
    let hash = app.hasher.hash(&parsed).await.map_err(failed)?;
    let until = Timestamp(Timestamp::now().millis() + RESET_VALID_MILLIS);
    app.store
        .reset_password(user.id, hash, until)
        .await
        .map_err(failed)?;
    app.bus.close_user(user.id).await;
    Ok(Outcome::done(format!("{password}\n")))
}

async fn delete_user(app: &App, name: &str) -> Result<Outcome, Outcome> {
    let (user, _) = account(app, name).await?;
    if user.username.starts_with(crate::accounts::RESERVED_PREFIX) {
        return Err(Outcome::refused(format!("{name} is a deleted account")));
    }
    crate::deletion::delete_account(app, &user, true)
        .await
        .map_err(failed)?;
    Ok(Outcome::done(format!("deleted {}\n", user.username)))
}

/// Periodic upkeep of these rules: reports past `--report-retention-days`
/// (releasing the bytes they held), usernames no longer held.
pub async fn housekeeping(app: &App) {
    let now = Timestamp::now();
    let retention = i64::try_from(app.settings.report_retention.as_millis()).unwrap_or(i64::MAX);
    let before = Timestamp(now.millis().saturating_sub(retention));
    if let Err(err) = app.store.purge_kept(now, before).await {
        tracing::warn!(error = %err, "housekeeping failed; will retry");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_parse_with_their_one_user() {
        let bob = vec!["bob".to_owned()];
        assert_eq!(Command::parse("reports", &[]), Ok(Command::Reports));
        assert_eq!(
            Command::parse("suspend", &bob),
            Ok(Command::Suspend("bob".into()))
        );
        assert_eq!(
            Command::parse("reset-password", &bob),
            Ok(Command::ResetPassword("bob".into()))
        );
        assert!(Command::parse("suspend", &[]).is_err());
        assert!(Command::parse("reports", &bob).is_err());
        assert!(Command::parse("frobnicate", &bob).is_err());
    }
}
