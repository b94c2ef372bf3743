//! Accounts on SQLite: users and their credentials, user search, sessions and bearer tokens
//! (stored by SHA-256 digest only), when a user was last seen, and their contacts (everyone
//! sharing a conversation with them, whom presence is told).
//!
//! Lookups run on pooled read connections; the writes are jobs for the writer thread, so each
//! may run twice (see `writer`) and leaves nothing behind when it fails.

use rusqlite::{Connection, OptionalExtension, Row, params};

use super::other;
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

/// Builds a user from `id, username, display_name` starting at column `at`.
pub fn user_from_row(row: &Row<'_>, at: usize) -> rusqlite::Result<User> {
    Ok(User {
        id: UserId(row.get(at)?),
        username: row.get(at + 1)?,
        display_name: row.get(at + 2)?,
    })
}

/// The user a one-argument query finds, if any.
fn user_query(
    conn: &Connection,
    sql: &str,
    arg: impl rusqlite::ToSql,
) -> Result<Option<User>, StoreError> {
    conn.prepare_cached(sql)
        .and_then(|mut s| s.query_row([arg], |r| user_from_row(r, 0)).optional())
        .map_err(other)
}

/// The other party of direct conversation `id`, if `member` is one of its two.
pub fn direct_party(
    conn: &Connection,
    member: UserId,
    id: ConversationId,
) -> Result<Option<User>, StoreError> {
    conn.prepare_cached(DIRECT_PARTY)
        .and_then(|mut s| {
            s.query_row(params![id.0, member.0], |r| user_from_row(r, 0))
                .optional()
        })
        .map_err(other)
}

/// Creates a user; `Conflict` if the username is taken.
pub fn create_user(conn: &Connection, new: &NewUser) -> Result<User, StoreError> {
    let inserted = conn
        .prepare_cached(
            "INSERT INTO users (username, display_name, password_hash, created_at) VALUES (?1, ?2, ?3, ?4) \
             ON CONFLICT (username) DO NOTHING",
        )
        .and_then(|mut s| s.execute(params![new.username.as_str(), new.display_name, new.password_hash, new.at.millis()]))
        .map_err(other)?;
    if inserted == 0 {
        return Err(StoreError::Conflict(format!(
            "username {} is taken",
            new.username
        )));
    }
    Ok(User {
        id: UserId(conn.last_insert_rowid()),
        username: new.username.as_str().to_owned(),
        display_name: new.display_name.clone(),
    })
}

pub fn credentials(conn: &Connection, username: &str) -> Result<Option<Credentials>, StoreError> {
    conn.prepare_cached(CREDENTIALS)
        .and_then(|mut s| {
            s.query_row([username], |r| {
                Ok(Credentials {
                    user: user_from_row(r, 0)?,
                    password_hash: r.get(3)?,
                })
            })
            .optional()
        })
        .map_err(other)
}

pub fn user_by_username(conn: &Connection, username: &str) -> Result<Option<User>, StoreError> {
    user_query(conn, USER_BY_USERNAME, username)
}

/// Users whose username starts with `prefix`, except `exclude`, alphabetically.
pub fn search_users(
    conn: &Connection,
    prefix: &str,
    exclude: UserId,
    limit: u32,
) -> Result<Vec<User>, StoreError> {
    // Usernames only hold [a-z0-9_.-]; '_' is a LIKE wildcard, so escape it.
    let pattern = like_prefix(prefix);
    let mut stmt = conn
        .prepare_cached(
            "SELECT id, username, display_name FROM users \
             WHERE username LIKE ?1 ESCAPE '\\' AND id != ?2 AND status <> 2 ORDER BY username LIMIT ?3",
        )
        .map_err(other)?;
    let rows = stmt
        .query_map(params![pattern, exclude.0, limit], |r| user_from_row(r, 0))
        .map_err(other)?;
    rows.collect::<Result<_, _>>().map_err(other)
}

pub fn create_session(conn: &Connection, session: &NewSession) -> Result<(), StoreError> {
    conn.prepare_cached(INSERT_SESSION)
        .and_then(|mut s| {
            s.execute(params![
                session.id_hash,
                session.user.0,
                session.csrf_token,
                session.at.millis(),
                session.expires_at.millis()
            ])
        })
        .map(|_| ())
        .map_err(other)
}

/// The live (unexpired at `now`) session with this id hash.
pub fn session(
    conn: &Connection,
    id_hash: &[u8],
    now: Timestamp,
) -> Result<Option<SessionRecord>, StoreError> {
    conn.prepare_cached(LIVE_SESSION)
        .and_then(|mut s| {
            s.query_row(params![id_hash, now.millis()], |r| {
                Ok(SessionRecord {
                    user: user_from_row(r, 0)?,
                    csrf_token: r.get(3)?,
                    expires_at: Timestamp(r.get(4)?),
                })
            })
            .optional()
        })
        .map_err(other)
}

pub fn delete_session(conn: &Connection, id_hash: &[u8]) -> Result<(), StoreError> {
    conn.execute(DELETE_SESSION, [id_hash])
        .map(|_| ())
        .map_err(other)
}

pub fn create_token(conn: &Connection, token: &NewToken) -> Result<(), StoreError> {
    conn.prepare_cached(INSERT_TOKEN)
        .and_then(|mut s| {
            s.execute(params![
                token.hash,
                token.user.0,
                token.at.millis(),
                token.id,
                token.expires_at.map(Timestamp::millis)
            ])
        })
        .map(|_| ())
        .map_err(other)
}

/// The live (unexpired at `now`) bearer token with this hash, and its user.
pub fn token_user(
    conn: &Connection,
    token_hash: &[u8],
    now: Timestamp,
) -> Result<Option<TokenRecord>, StoreError> {
    conn.prepare_cached(TOKEN_USER)
        .and_then(|mut s| {
            s.query_row(params![token_hash, now.millis()], |r| {
                Ok(TokenRecord {
                    user: user_from_row(r, 0)?,
                    id: r.get(3)?,
                    expires_at: r.get::<_, Option<i64>>(4)?.map(Timestamp),
                    last_used_at: r.get::<_, Option<i64>>(5)?.map(Timestamp),
                })
            })
            .optional()
        })
        .map_err(other)
}

pub fn delete_token(conn: &Connection, token_hash: &[u8]) -> Result<(), StoreError> {
    conn.execute(DELETE_TOKEN, [token_hash])
        .map(|_| ())
        .map_err(other)
}

/// Records when the user's last socket closed.
pub fn set_last_seen(conn: &Connection, user: UserId, at: Timestamp) -> Result<(), StoreError> {
    conn.prepare_cached(SET_LAST_SEEN)
        .and_then(|mut s| s.execute(params![at.millis(), user.0]))
        .map(|_| ())
        .map_err(other)
}

/// Everyone sharing a conversation with `user`, with their last-seen time.
pub fn contacts(conn: &Connection, user: UserId) -> Result<Vec<Contact>, StoreError> {
    let mut stmt = conn.prepare_cached(CONTACTS).map_err(other)?;
    let rows = stmt
        .query_map([user.0], |r| {
            let (mine, theirs): (i64, i64) = (r.get(4)?, r.get(5)?);
            Ok(Contact {
                user: user_from_row(r, 0)?,
                last_seen: r.get::<_, Option<i64>>(3)?.map(Timestamp),
                hears_user: presence_flows(mine, theirs),
                heard_by_user: presence_flows(theirs, mine),
            })
        })
        .map_err(other)?;
    rows.collect::<Result<_, _>>().map_err(other)
}

// -- Authentication (auth) --

/// `user`'s bearer tokens live at `now`, oldest first.
pub fn tokens(
    conn: &Connection,
    user: UserId,
    now: Timestamp,
) -> Result<Vec<TokenInfo>, StoreError> {
    let mut stmt = conn.prepare_cached(LIST_TOKENS).map_err(other)?;
    let rows = stmt
        .query_map(params![user.0, now.millis()], |r| {
            Ok(TokenInfo {
                id: r.get(0)?,
                created_at: Timestamp(r.get(1)?),
                last_used_at: r.get::<_, Option<i64>>(2)?.map(Timestamp),
            })
        })
        .map_err(other)?;
    rows.collect::<Result<_, _>>().map_err(other)
}

/// Revokes `user`'s token with public id `id`; its hash, if there was one.
pub fn revoke_token(
    conn: &Connection,
    user: UserId,
    id: &str,
) -> Result<Option<Vec<u8>>, StoreError> {
    conn.prepare_cached(REVOKE_TOKEN)
        .and_then(|mut s| s.query_row(params![user.0, id], |r| r.get(0)).optional())
        .map_err(other)
}

/// Records a use of the token at `at`, unless one in the minute before is recorded.
pub fn touch_token(conn: &Connection, token_hash: &[u8], at: Timestamp) -> Result<(), StoreError> {
    conn.prepare_cached(TOUCH_TOKEN)
        .and_then(|mut s| s.execute(params![at.millis(), token_hash, at.millis() - 60_000]))
        .map(|_| ())
        .map_err(other)
}

/// The digests a `DELETE … RETURNING` of one user's credentials ended.
fn ended(
    conn: &Connection,
    sql: &str,
    user: UserId,
    keep: &[u8],
) -> Result<Vec<Vec<u8>>, StoreError> {
    let mut stmt = conn.prepare_cached(sql).map_err(other)?;
    let rows = stmt
        .query_map(params![user.0, keep], |r| r.get(0))
        .map_err(other)?;
    rows.collect::<Result<_, _>>().map_err(other)
}

/// Sets the password hash and ends every session and token of the user but `keep`.
pub fn change_password(
    conn: &Connection,
    user: UserId,
    password_hash: &str,
    keep: &[u8],
) -> Result<Vec<Vec<u8>>, StoreError> {
    conn.prepare_cached(SET_PASSWORD)
        .and_then(|mut s| s.execute(params![password_hash, user.0]))
        .map_err(other)?;
    let mut digests = ended(conn, END_OTHER_SESSIONS, user, keep)?;
    digests.extend(ended(conn, END_OTHER_TOKENS, user, keep)?);
    Ok(digests)
}

/// Deletes the sessions and tokens expired at `now`.
pub fn purge_expired(conn: &Connection, now: Timestamp) -> Result<u64, StoreError> {
    let sessions = conn
        .execute(PURGE_SESSIONS, [now.millis()])
        .map_err(other)?;
    let tokens = conn.execute(PURGE_TOKENS, [now.millis()]).map_err(other)?;
    Ok((sessions + tokens) as u64)
}
