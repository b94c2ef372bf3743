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
             WHERE username LIKE ?1 ESCAPE '\\' AND id != ?2 ORDER BY username LIMIT ?3",
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

pub fn create_token(
    conn: &Connection,
    token_hash: &[u8],
    user: UserId,
    at: Timestamp,
) -> Result<(), StoreError> {
    conn.execute(INSERT_TOKEN, params![token_hash, user.0, at.millis()])
        .map(|_| ())
        .map_err(other)
}

pub fn token_user(conn: &Connection, token_hash: &[u8]) -> Result<Option<User>, StoreError> {
    user_query(conn, TOKEN_USER, token_hash)
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
