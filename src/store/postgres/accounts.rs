//! Accounts on PostgreSQL: users and their credentials, user search, sessions and bearer
//! tokens (stored by SHA-256 digest only), when a user was last seen, and their contacts
//! (everyone sharing a conversation with them, whom presence is told).
//!
//! Each is a single statement on the pool, except creating a user, which runs in a
//! transaction of its own; a taken username is decided by the unique index.

use sqlx::postgres::PgRow;
use sqlx::{PgConnection, PgPool, Row};

use super::{failure, single};
use crate::domain::ids::{ConversationId, UserId};
use crate::domain::time::Timestamp;
use crate::store::records::like_prefix;
use crate::store::safety::presence_flows;
use crate::store::statements::{
    CONTACTS, CREDENTIALS, DELETE_SESSION, DELETE_TOKEN, DIRECT_PARTY, INSERT_SESSION,
    INSERT_TOKEN, LIVE_SESSION, SET_LAST_SEEN, TOKEN_USER, USER_BY_USERNAME,
};
use crate::store::{Contact, Credentials, NewSession, NewUser, SessionRecord, StoreError, User};
// -- Authentication (auth) --
use crate::store::statements::{
    END_OTHER_SESSIONS, END_OTHER_TOKENS, LIST_TOKENS, PURGE_SESSIONS, PURGE_TOKENS, REVOKE_TOKEN,
    SET_PASSWORD, TOUCH_TOKEN,
};
use crate::store::{NewToken, TokenInfo, TokenRecord};

/// Builds a user from the columns `id`, `username` and `display_name`.
pub fn user_from_row(row: &PgRow) -> Result<User, sqlx::Error> {
    Ok(User {
        id: UserId(row.try_get("id")?),
        username: row.try_get("username")?,
        display_name: row.try_get("display_name")?,
    })
}

/// Creates a user; `Conflict` if the username is taken.
pub async fn create_user(conn: &mut PgConnection, new: &NewUser) -> Result<User, StoreError> {
    let id: Option<i64> = sqlx::query_scalar(
        "INSERT INTO users (username, display_name, password_hash, created_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (username) DO NOTHING RETURNING id",
    )
    .bind(new.username.as_str())
    .bind(&new.display_name)
    .bind(&new.password_hash)
    .bind(new.at.millis())
    .fetch_optional(conn)
    .await
    .map_err(failure)?;
    let id =
        id.ok_or_else(|| StoreError::Conflict(format!("username {} is taken", new.username)))?;
    Ok(User {
        id: UserId(id),
        username: new.username.as_str().to_owned(),
        display_name: new.display_name.clone(),
    })
}

pub async fn credentials(pool: &PgPool, username: &str) -> Result<Option<Credentials>, StoreError> {
    let row = single(sqlx::query(CREDENTIALS).bind(username).fetch_optional(pool)).await?;
    row.map(|r| {
        Ok(Credentials {
            user: user_from_row(&r)?,
            password_hash: r.try_get("password_hash")?,
        })
    })
    .transpose()
    .map_err(failure)
}

pub async fn user_by_username(pool: &PgPool, username: &str) -> Result<Option<User>, StoreError> {
    let row = single(
        sqlx::query(USER_BY_USERNAME)
            .bind(username)
            .fetch_optional(pool),
    )
    .await?;
    row.as_ref().map(user_from_row).transpose().map_err(failure)
}

/// The other party of direct conversation `id`, if `member` is one of its two.
pub async fn direct_party(
    pool: &PgPool,
    member: UserId,
    id: ConversationId,
) -> Result<Option<User>, StoreError> {
    let row = single(
        sqlx::query(DIRECT_PARTY)
            .bind(id.0)
            .bind(member.0)
            .fetch_optional(pool),
    )
    .await?;
    row.as_ref().map(user_from_row).transpose().map_err(failure)
}

/// Users whose username starts with `prefix`, except `exclude`, alphabetically.
pub async fn search_users(
    pool: &PgPool,
    prefix: &str,
    exclude: UserId,
    limit: u32,
) -> Result<Vec<User>, StoreError> {
    let pattern = like_prefix(prefix);
    let rows = single(
        sqlx::query(
            "SELECT id, username, display_name FROM users WHERE username LIKE $1 AND id != $2 AND status <> 2 \
             ORDER BY username LIMIT $3",
        )
        .bind(pattern)
        .bind(exclude.0)
        .bind(i64::from(limit))
        .fetch_all(pool),
    )
    .await?;
    rows.iter()
        .map(user_from_row)
        .collect::<Result<_, _>>()
        .map_err(failure)
}

pub async fn create_session(pool: &PgPool, session: NewSession) -> Result<(), StoreError> {
    single(
        sqlx::query(INSERT_SESSION)
            .bind(session.id_hash)
            .bind(session.user.0)
            .bind(session.csrf_token)
            .bind(session.at.millis())
            .bind(session.expires_at.millis())
            .execute(pool),
    )
    .await
    .map(|_| ())
}

/// The live (unexpired at `now`) session with this id hash.
pub async fn session(
    pool: &PgPool,
    id_hash: Vec<u8>,
    now: Timestamp,
) -> Result<Option<SessionRecord>, StoreError> {
    let row = single(
        sqlx::query(LIVE_SESSION)
            .bind(id_hash)
            .bind(now.millis())
            .fetch_optional(pool),
    )
    .await?;
    row.map(|r| {
        Ok(SessionRecord {
            user: user_from_row(&r)?,
            csrf_token: r.try_get("csrf_token")?,
            expires_at: Timestamp(r.try_get("expires_at")?),
        })
    })
    .transpose()
    .map_err(failure)
}

pub async fn delete_session(pool: &PgPool, id_hash: Vec<u8>) -> Result<(), StoreError> {
    single(sqlx::query(DELETE_SESSION).bind(id_hash).execute(pool))
        .await
        .map(|_| ())
}

pub async fn create_token(pool: &PgPool, token: NewToken) -> Result<(), StoreError> {
    single(
        sqlx::query(INSERT_TOKEN)
            .bind(token.hash)
            .bind(token.user.0)
            .bind(token.at.millis())
            .bind(token.id)
            .bind(token.expires_at.map(Timestamp::millis))
            .execute(pool),
    )
    .await
    .map(|_| ())
}

/// The live (unexpired at `now`) bearer token with this hash, and its user.
pub async fn token_user(
    pool: &PgPool,
    token_hash: Vec<u8>,
    now: Timestamp,
) -> Result<Option<TokenRecord>, StoreError> {
    let row = single(
        sqlx::query(TOKEN_USER)
            .bind(token_hash)
            .bind(now.millis())
            .fetch_optional(pool),
    )
    .await?;
    row.map(|r| {
        Ok(TokenRecord {
            user: user_from_row(&r)?,
            id: r.try_get("token_id")?,
            expires_at: r.try_get::<Option<i64>, _>("expires_at")?.map(Timestamp),
            last_used_at: r.try_get::<Option<i64>, _>("last_used_at")?.map(Timestamp),
        })
    })
    .transpose()
    .map_err(failure)
}

pub async fn delete_token(pool: &PgPool, token_hash: Vec<u8>) -> Result<(), StoreError> {
    single(sqlx::query(DELETE_TOKEN).bind(token_hash).execute(pool))
        .await
        .map(|_| ())
}

/// Records when the user's last socket closed.
pub async fn set_last_seen(pool: &PgPool, user: UserId, at: Timestamp) -> Result<(), StoreError> {
    single(
        sqlx::query(SET_LAST_SEEN)
            .bind(at.millis())
            .bind(user.0)
            .execute(pool),
    )
    .await
    .map(|_| ())
}

/// Everyone sharing a conversation with `user`, with their last-seen time.
pub async fn contacts(conn: &mut PgConnection, user: UserId) -> Result<Vec<Contact>, StoreError> {
    let rows = sqlx::query(CONTACTS)
        .bind(user.0)
        .fetch_all(conn)
        .await
        .map_err(failure)?;
    rows.iter()
        .map(|row| {
            let mine: i64 = row.try_get("mine")?;
            let theirs: i64 = row.try_get("theirs")?;
            Ok(Contact {
                user: user_from_row(row)?,
                last_seen: row
                    .try_get::<Option<i64>, _>("last_seen_at")?
                    .map(Timestamp),
                hears_user: presence_flows(mine, theirs),
                heard_by_user: presence_flows(theirs, mine),
            })
        })
        .collect::<Result<_, sqlx::Error>>()
        .map_err(failure)
}

// -- Authentication (auth) --

/// `user`'s bearer tokens live at `now`, oldest first.
pub async fn tokens(
    pool: &PgPool,
    user: UserId,
    now: Timestamp,
) -> Result<Vec<TokenInfo>, StoreError> {
    let rows = single(
        sqlx::query(LIST_TOKENS)
            .bind(user.0)
            .bind(now.millis())
            .fetch_all(pool),
    )
    .await?;
    rows.iter()
        .map(|r| {
            Ok(TokenInfo {
                id: r.try_get("id")?,
                created_at: Timestamp(r.try_get("created_at")?),
                last_used_at: r.try_get::<Option<i64>, _>("last_used_at")?.map(Timestamp),
            })
        })
        .collect::<Result<_, sqlx::Error>>()
        .map_err(failure)
}

/// Revokes `user`'s token with public id `id`; its hash, if there was one.
pub async fn revoke_token(
    pool: &PgPool,
    user: UserId,
    id: String,
) -> Result<Option<Vec<u8>>, StoreError> {
    single(
        sqlx::query_scalar(REVOKE_TOKEN)
            .bind(user.0)
            .bind(id)
            .fetch_optional(pool),
    )
    .await
}

/// Records a use of the token at `at`, unless one in the minute before is recorded.
pub async fn touch_token(
    pool: &PgPool,
    token_hash: Vec<u8>,
    at: Timestamp,
) -> Result<(), StoreError> {
    single(
        sqlx::query(TOUCH_TOKEN)
            .bind(at.millis())
            .bind(token_hash)
            .bind(at.millis() - 60_000)
            .execute(pool),
    )
    .await
    .map(|_| ())
}

/// Sets the password hash and ends every session and token of the user but `keep`, in the
/// caller's transaction.
pub async fn change_password(
    conn: &mut PgConnection,
    user: UserId,
    password_hash: &str,
    keep: &[u8],
) -> Result<Vec<Vec<u8>>, StoreError> {
    sqlx::query(SET_PASSWORD)
        .bind(password_hash)
        .bind(user.0)
        .execute(&mut *conn)
        .await
        .map_err(failure)?;
    let mut digests: Vec<Vec<u8>> = sqlx::query_scalar(END_OTHER_SESSIONS)
        .bind(user.0)
        .bind(keep)
        .fetch_all(&mut *conn)
        .await
        .map_err(failure)?;
    let tokens: Vec<Vec<u8>> = sqlx::query_scalar(END_OTHER_TOKENS)
        .bind(user.0)
        .bind(keep)
        .fetch_all(&mut *conn)
        .await
        .map_err(failure)?;
    digests.extend(tokens);
    Ok(digests)
}

/// Deletes the sessions and tokens expired at `now`.
pub async fn purge_expired(pool: &PgPool, now: Timestamp) -> Result<u64, StoreError> {
    let sessions = single(sqlx::query(PURGE_SESSIONS).bind(now.millis()).execute(pool)).await?;
    let tokens = single(sqlx::query(PURGE_TOKENS).bind(now.millis()).execute(pool)).await?;
    Ok(sessions.rows_affected() + tokens.rows_affected())
}
