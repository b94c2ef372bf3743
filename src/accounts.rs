//! Account actions: sign-up, login (a login replacing the browser's session ends it), logout,
//! bearer tokens (issued, listed, revoked, optionally expiring), password changes, the purge of
//! expired credentials, finding people. Every password checked or hashed for a client first
//! passes the login limits (`limits::AuthLimits`) for the client's address.

use crate::app::App;
use crate::auth::address::ClientAddress;
use crate::auth::secrets;
use crate::auth::{Caller, Credential};
use crate::domain::User;
use crate::domain::code;
use crate::domain::error::Error;
use crate::domain::input::{DisplayName, NamePrefix, Password, Username};
use crate::domain::time::Timestamp;
use crate::limits::Attempt;
use crate::store::{Admission, NewSession, NewToken, NewUser, StoreError, TokenInfo};

/// Usernames starting with this are reserved: a deleted account is renamed `deleted-` and 8
/// random characters.
pub const RESERVED_PREFIX: &str = "deleted";

/// A new browser session: the cookie value (shown once, stored only as a digest) and its token.
pub struct SessionGrant {
    pub user: User,
    pub session_id: String,
    pub csrf_token: String,
}

/// A sign-up, parsed at the edge.
pub struct Signup {
    pub username: Username,
    pub password: Password,
    /// The username when none is given.
    pub display_name: String,
}

impl Signup {
    /// Checks the username, then the password, then the display name.
    pub fn parse(
        username: &str,
        password: String,
        display_name: Option<&str>,
    ) -> Result<Self, Error> {
        let username = Username::parse(username)?;
        if username.as_str().starts_with(RESERVED_PREFIX) {
            return Err(Error::invalid(
                code::INVALID_USERNAME,
                format!("usernames starting with {RESERVED_PREFIX:?} are reserved"),
            ));
        }
        let password = Password::parse(password)?;
        let display_name = match display_name {
            Some(name) => DisplayName::parse(name)?.into_inner(),
            None => username.as_str().to_owned(),
        };
        Ok(Signup {
            username,
            password,
            display_name,
        })
    }
}

/// Credentials as a login or a token request gives them, parsed at the edge. A name or a
/// password no account could have is `invalid_credentials`, like a wrong one.
pub struct Login {
    pub username: Username,
    pub password: Password,
}

impl Login {
    pub fn parse(username: &str, password: String) -> Result<Self, Error> {
        let password = Password::parse(password).map_err(|_| Error::InvalidCredentials)?;
        let username = Username::parse(username).map_err(|_| Error::InvalidCredentials)?;
        Ok(Login { username, password })
    }
}

/// Creates the account and logs it in; a session the browser already held (`previous`, its id
/// hash) ends, as at login.
pub async fn signup(
    app: &App,
    input: Signup,
    from: ClientAddress,
    previous: Option<Vec<u8>>,
) -> Result<SessionGrant, Error> {
    app.auth_limits
        .check(Attempt::Signup, &input.username, from)?;
    let user = create_account(app, input).await?;
    end_previous(app, previous).await?;
    start_session(app, user).await
}

/// Creates an account, with no limit and no session: what sign-up does once admitted, and what
/// the server does for accounts of its own (`--demo`).
pub async fn create_account(app: &App, input: Signup) -> Result<User, Error> {
    let Signup {
        username,
        password,
        display_name,
    } = input;
    if app.store.user_by_username(&username).await?.is_some()
        || app
            .store
            .username_retired(&username, Timestamp::now())
            .await?
    {
        return Err(Error::UsernameTaken(username.to_string()));
    }
    let password_hash = app.hasher.hash(&password).await?;
    let new = NewUser {
        username: username.clone(),
        display_name,
        password_hash,
        at: Timestamp::now(),
    };
    match app.store.create_user(new).await {
        Ok(user) => Ok(user),
        Err(StoreError::Conflict(_)) => Err(Error::UsernameTaken(username.to_string())),
        Err(other) => Err(other.into()),
    }
}

/// Checks credentials, counted as `attempt` from `from`; an unknown user and a wrong password
/// get the same error and cost.
pub async fn verify_credentials(
    app: &App,
    login: &Login,
    attempt: Attempt,
    from: ClientAddress,
) -> Result<User, Error> {
    let Login { username, password } = login;
    app.auth_limits.check(attempt, username, from)?;
    let credentials = app.store.credentials(username).await?;
    let (user, stored) = match credentials {
        Some(c) => (Some(c.user), Some(c.password_hash)),
        None => (None, None),
    };
    let user = match (app.hasher.verify(password, stored).await?, user) {
        (true, Some(user)) => user,
        _ => return Err(Error::InvalidCredentials),
    };
    match app.store.admit_login(user.id, Timestamp::now()).await? {
        Admission::Admitted => Ok(user),
        Admission::Suspended => Err(Error::forbidden(
            code::ACCOUNT_SUSPENDED,
            "this account is suspended",
        )),
        Admission::Refused => Err(Error::InvalidCredentials),
    }
}

/// Checks the caller's own password before a change only they may make (a new password,
/// deleting the account). It counts as a login from `from`, in the same limits; a wrong one,
/// or one no account could have, is 403 `wrong_password`. A reset's one-login password passes
/// here even once spent, so the user can replace it.
pub async fn check_password(
    app: &App,
    user: &User,
    password: String,
    from: ClientAddress,
) -> Result<(), Error> {
    let wrong = || Error::forbidden(code::WRONG_PASSWORD, "the password is wrong");
    let username = Username::from_trusted(user.username.clone());
    app.auth_limits.check(Attempt::Login, &username, from)?;
    let Ok(password) = Password::parse(password) else {
        return Err(wrong());
    };
    let stored = app
        .store
        .credentials(&username)
        .await?
        .filter(|c| c.user.id == user.id)
        .map(|c| c.password_hash);
    if app.hasher.verify(&password, stored).await? {
        Ok(())
    } else {
        Err(wrong())
    }
}

/// Logs in with a fresh session id (never reusing one the browser brought: no fixation). The
/// session the browser held (`previous`, its id hash) ends, and its sockets close.
pub async fn login(
    app: &App,
    login: &Login,
    from: ClientAddress,
    previous: Option<Vec<u8>>,
) -> Result<SessionGrant, Error> {
    let user = verify_credentials(app, login, Attempt::Login, from).await?;
    end_previous(app, previous).await?;
    start_session(app, user).await
}

/// Ends the session a browser held before logging in again, on every node.
async fn end_previous(app: &App, previous: Option<Vec<u8>>) -> Result<(), Error> {
    if let Some(old) = previous {
        app.store.delete_session(old.clone()).await?;
        app.bus.revoke(old).await;
    }
    Ok(())
}

async fn start_session(app: &App, user: User) -> Result<SessionGrant, Error> {
    let session_id = secrets::random_token();
    let csrf_token = secrets::random_token();
    let now = Timestamp::now();
    let session = NewSession {
        id_hash: secrets::digest(&session_id),
        user: user.id,
        csrf_token: csrf_token.clone(),
        at: now,
        expires_at: now.plus_secs(app.settings.session_ttl_secs),
    };
    app.store.create_session(session).await?;
    Ok(SessionGrant {
        user,
        session_id,
        csrf_token,
    })
}

/// Ends the credential the caller used: the session, or the bearer token.
pub async fn logout(app: &App, caller: &Caller) -> Result<(), Error> {
    let digest = caller.credential.digest().to_vec();
    match &caller.credential {
        Credential::Session { .. } => app.store.delete_session(digest.clone()).await?,
        Credential::Token { .. } => app.store.delete_token(digest.clone()).await?,
    }
    // Sockets opened with this credential close now, on every node.
    app.bus.revoke(digest).await;
    Ok(())
}

/// Issues a bearer token for `user`, ending after `--token-ttl-days` if set; the token is shown
/// once and stored as a digest, beside a public id for the token list.
pub async fn issue_token(app: &App, user: &User) -> Result<String, Error> {
    let token = secrets::bearer_token();
    let at = Timestamp::now();
    app.store
        .create_token(NewToken {
            hash: secrets::digest(&token),
            id: secrets::public_id(),
            user: user.id,
            at,
            expires_at: app.settings.token_ttl_secs.map(|secs| at.plus_secs(secs)),
        })
        .await?;
    Ok(token)
}

/// Resolves a session cookie value to its caller.
pub async fn caller_from_session(app: &App, session_id: &str) -> Result<Option<Caller>, Error> {
    let id_hash = secrets::digest(session_id);
    let record = app.store.session(id_hash.clone(), Timestamp::now()).await?;
    if let Some(record) = &record {
        app.directory.remember(&record.user);
    }
    Ok(record.map(|r| Caller {
        user: r.user,
        credential: Credential::Session {
            id_hash,
            csrf_token: r.csrf_token,
            expires_at: r.expires_at,
        },
    }))
}

/// Resolves a bearer token to its caller, and records its use (at most once a minute).
pub async fn caller_from_token(app: &App, token: &str) -> Result<Option<Caller>, Error> {
    let hash = secrets::digest(token);
    let now = Timestamp::now();
    let Some(record) = app.store.token_user(hash.clone(), now).await? else {
        return Ok(None);
    };
    app.directory.remember(&record.user);
    let stale = record
        .last_used_at
        .is_none_or(|used| used.millis() < now.millis() - 60_000);
    if stale && let Err(err) = app.store.touch_token(hash.clone(), now).await {
        // Only the token list's `last_used_at` lags; the request goes on.
        tracing::warn!(error = %err, "recording a bearer token's use failed");
    }
    Ok(Some(Caller {
        user: record.user,
        credential: Credential::Token {
            hash,
            id: record.id,
            expires_at: record.expires_at,
        },
    }))
}

/// The caller's live bearer tokens, oldest first, each with whether it is the one the caller
/// is using.
pub async fn tokens(app: &App, caller: &Caller) -> Result<Vec<(TokenInfo, bool)>, Error> {
    let current = match &caller.credential {
        Credential::Token { id, .. } => Some(id.as_str()),
        Credential::Session { .. } => None,
    };
    let tokens = app.store.tokens(caller.user.id, Timestamp::now()).await?;
    Ok(tokens
        .into_iter()
        .map(|token| {
            let is_current = current == Some(token.id.as_str());
            (token, is_current)
        })
        .collect())
}

/// Revokes the caller's token with public id `id` and closes the sockets opened with it;
/// another user's or an unknown id is 404 `token_not_found`.
pub async fn revoke_token(app: &App, caller: &Caller, id: &str) -> Result<(), Error> {
    let hash = app
        .store
        .revoke_token(caller.user.id, id.to_owned())
        .await?
        .ok_or(Error::TokenNotFound)?;
    app.bus.revoke(hash).await;
    Ok(())
}

/// Changes the caller's password: the current one is checked as a login from `from` is
/// (counted in the same limits; wrong: 403 `wrong_password`), then every other session and
/// token of the caller ends, and their sockets close.
pub async fn change_password(
    app: &App,
    caller: &Caller,
    current: String,
    new: &Password,
    from: ClientAddress,
) -> Result<(), Error> {
    check_password(app, &caller.user, current, from).await?;
    let password_hash = app.hasher.hash(new).await?;
    let keep = caller.credential.digest().to_vec();
    let ended = app
        .store
        .change_password(caller.user.id, password_hash, Some(keep))
        .await?;
    for digest in ended {
        app.bus.revoke(digest).await;
    }
    Ok(())
}

/// Deletes the sessions and bearer tokens that have expired (the server's housekeeping).
pub async fn purge_expired(app: &App) -> Result<u64, Error> {
    Ok(app.store.purge_expired(Timestamp::now()).await?)
}

/// People whose username starts with `prefix`, excluding the caller; nobody for a prefix no
/// username can start with.
pub async fn search(
    app: &App,
    caller: &User,
    prefix: &NamePrefix,
    limit: u32,
) -> Result<Vec<User>, Error> {
    match prefix.as_str() {
        Some(prefix) => Ok(app.store.search_users(prefix, caller.id, limit).await?),
        None => Ok(Vec::new()),
    }
}

/// Looks up another user by name, or 404 `user_not_found`.
pub async fn find_user(app: &App, username: &Username) -> Result<User, Error> {
    if let Some(user) = app.directory.get(username) {
        return Ok(user);
    }
    let user = app
        .store
        .user_by_username(username)
        .await?
        .ok_or_else(|| Error::UserNotFound(username.to_string()))?;
    app.directory.remember(&user);
    Ok(user)
}

/// Looks up someone to write to or add to a group: as `find_user`, but a deleted account (the
/// only kind of account whose name has the reserved prefix) is 404 `user_not_found`.
pub async fn find_reachable_user(app: &App, username: &Username) -> Result<User, Error> {
    if username.as_str().starts_with(RESERVED_PREFIX) {
        return Err(Error::UserNotFound(username.to_string()));
    }
    find_user(app, username).await
}
