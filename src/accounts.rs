//! Account actions: sign-up, login, logout, bearer tokens, finding people.

use crate::app::App;
use crate::auth::secrets;
use crate::auth::{Caller, Credential};
use crate::domain::User;
use crate::domain::code;
use crate::domain::error::Error;
use crate::domain::input::{DisplayName, NamePrefix, Password, Username};
use crate::domain::time::Timestamp;
use crate::store::{Admission, NewSession, NewUser, StoreError};

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

pub async fn signup(app: &App, input: Signup) -> Result<SessionGrant, Error> {
    let Signup {
        username,
        password,
        display_name,
    } = input;
    app.login_limit.check(&format!("signup:{username}"))?;
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
    let user = match app.store.create_user(new).await {
        Ok(user) => user,
        Err(StoreError::Conflict(_)) => return Err(Error::UsernameTaken(username.to_string())),
        Err(other) => return Err(other.into()),
    };
    start_session(app, user).await
}

/// Checks credentials; an unknown user and a wrong password get the same error and cost.
pub async fn verify_credentials(app: &App, login: &Login) -> Result<User, Error> {
    let Login { username, password } = login;
    app.login_limit.check(&format!("login:{username}"))?;
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

/// Checks the caller's own password before a change only they may make (deleting the
/// account): a wrong one is 403 `wrong_password` and counts against the login limit.
pub async fn check_password(app: &App, user: &User, password: String) -> Result<(), Error> {
    let wrong = || Error::forbidden(code::WRONG_PASSWORD, "the password is wrong");
    app.login_limit.check(&format!("login:{}", user.username))?;
    let Ok(password) = Password::parse(password) else {
        return Err(wrong());
    };
    let Ok(username) = Username::parse(&user.username) else {
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

/// Logs in with a fresh session id (never reusing one the browser brought: no fixation).
pub async fn login(
    app: &App,
    login: &Login,
    previous: Option<Vec<u8>>,
) -> Result<SessionGrant, Error> {
    let user = verify_credentials(app, login).await?;
    if let Some(old) = previous {
        app.store.delete_session(old).await?;
    }
    start_session(app, user).await
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

/// Issues a bearer token for `user`; the token is shown once and stored as a digest.
pub async fn issue_token(app: &App, user: &User) -> Result<String, Error> {
    let token = secrets::bearer_token();
    app.store
        .create_token(secrets::digest(&token), user.id, Timestamp::now())
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

/// Resolves a bearer token to its caller.
pub async fn caller_from_token(app: &App, token: &str) -> Result<Option<Caller>, Error> {
    let hash = secrets::digest(token);
    let user = app.store.token_user(hash.clone()).await?;
    if let Some(user) = &user {
        app.directory.remember(user);
    }
    Ok(user.map(|user| Caller {
        user,
        credential: Credential::Token { hash },
    }))
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
