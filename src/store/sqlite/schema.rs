//! The SQLite schema and its migrations, applied in order and recorded in `schema_migrations`.
//!
//! Membership lives in `conversation_members` (with roles, receipt watermarks and visible
//! ranges in `member_ranges`, since version 4), and `direct_conversations` only indexes the
//! 1:1 pairs. Since version 3 no counter is kept in a
//! row of its own: a user's last cursor is the end of their `events`, a conversation's last seq
//! and last message the end of its messages (`messages_by_conversation`), read by the write that
//! appends to them.

use rusqlite::Connection;

use crate::store::StoreError;

/// Migrations in order; a migration is never edited once released, only appended to.
const MIGRATIONS: &[(i64, &str)] = &[
    (
        1,
        r#"
    CREATE TABLE users (
        id INTEGER PRIMARY KEY,
        username TEXT NOT NULL UNIQUE,
        display_name TEXT NOT NULL,
        password_hash TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        last_cursor INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE sessions (
        id_hash BLOB PRIMARY KEY,
        user_id INTEGER NOT NULL REFERENCES users(id),
        csrf_token TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX sessions_by_user ON sessions(user_id);
    CREATE TABLE api_tokens (
        token_hash BLOB PRIMARY KEY,
        user_id INTEGER NOT NULL REFERENCES users(id),
        created_at INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE conversations (
        id INTEGER PRIMARY KEY,
        kind TEXT NOT NULL DEFAULT 'direct',
        last_seq INTEGER NOT NULL DEFAULT 0,
        last_message_id INTEGER,
        updated_at INTEGER NOT NULL
    );
    CREATE TABLE conversation_members (
        user_id INTEGER NOT NULL REFERENCES users(id),
        conversation_id INTEGER NOT NULL REFERENCES conversations(id),
        PRIMARY KEY (user_id, conversation_id)
    ) WITHOUT ROWID;
    CREATE INDEX members_by_conversation ON conversation_members(conversation_id);
    CREATE TABLE direct_conversations (
        user_low INTEGER NOT NULL,
        user_high INTEGER NOT NULL,
        conversation_id INTEGER NOT NULL REFERENCES conversations(id),
        PRIMARY KEY (user_low, user_high)
    ) WITHOUT ROWID;
    CREATE TABLE messages (
        id INTEGER PRIMARY KEY,
        conversation_id INTEGER NOT NULL REFERENCES conversations(id),
        seq INTEGER NOT NULL,
        sender_id INTEGER NOT NULL REFERENCES users(id),
        recipient_id INTEGER NOT NULL REFERENCES users(id),
        client_id TEXT NOT NULL,
        body TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        status INTEGER NOT NULL DEFAULT 0,
        delivered_at INTEGER,
        read_at INTEGER,
        edited_at INTEGER,
        deleted INTEGER NOT NULL DEFAULT 0,
        UNIQUE (sender_id, client_id),
        UNIQUE (conversation_id, seq)
    );
    CREATE INDEX messages_by_conversation ON messages(conversation_id, id);
    CREATE INDEX messages_unread ON messages(recipient_id, conversation_id, status);
    CREATE TABLE events (
        user_id INTEGER NOT NULL REFERENCES users(id),
        cursor INTEGER NOT NULL,
        kind INTEGER NOT NULL,
        message_id INTEGER,
        data TEXT,
        created_at INTEGER NOT NULL,
        PRIMARY KEY (user_id, cursor)
    ) WITHOUT ROWID;
    "#,
    ),
    (
        2,
        r#"
    ALTER TABLE users ADD COLUMN last_seen_at INTEGER;
    "#,
    ),
    // Fewer pages written per message. Counters that every send or receipt rewrote (a user's
    // last cursor, a conversation's last seq, last message and time) are now read from the
    // indexes the same write appends to; `messages` keeps one index by conversation, by id and
    // holding the seq (ids and seqs grow together in a conversation); and the unread index only
    // holds unread messages, so a `delivered` receipt leaves it alone.
    (
        3,
        r#"
    CREATE TABLE messages_v3 (
        id INTEGER PRIMARY KEY,
        conversation_id INTEGER NOT NULL REFERENCES conversations(id),
        seq INTEGER NOT NULL,
        sender_id INTEGER NOT NULL REFERENCES users(id),
        recipient_id INTEGER NOT NULL REFERENCES users(id),
        client_id TEXT NOT NULL,
        body TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        status INTEGER NOT NULL DEFAULT 0,
        delivered_at INTEGER,
        read_at INTEGER,
        edited_at INTEGER,
        deleted INTEGER NOT NULL DEFAULT 0,
        UNIQUE (sender_id, client_id)
    );
    INSERT INTO messages_v3
        SELECT id, conversation_id, seq, sender_id, recipient_id, client_id, body, created_at,
               status, delivered_at, read_at, edited_at, deleted
        FROM messages;
    DROP TABLE messages;
    ALTER TABLE messages_v3 RENAME TO messages;
    CREATE INDEX messages_by_conversation ON messages(conversation_id, id, seq);
    CREATE INDEX messages_unread ON messages(recipient_id, conversation_id, id)
        WHERE read_at IS NULL;
    ALTER TABLE users DROP COLUMN last_cursor;
    ALTER TABLE conversations DROP COLUMN last_seq;
    ALTER TABLE conversations DROP COLUMN last_message_id;
    ALTER TABLE conversations RENAME COLUMN updated_at TO created_at;
    UPDATE conversations SET created_at = COALESCE(
        (SELECT MIN(m.created_at) FROM messages m WHERE m.conversation_id = conversations.id),
        created_at);
    "#,
    ),
    // Groups and up-to receipts (v2). Conversations gain what a group has; members gain a role,
    // when and at which message they joined, where they left (and what the group was then),
    // and their two receipt watermarks (message ids: ids grow with seqs in a conversation);
    // `member_ranges` holds each membership's visible range; `receipt_log` when each
    // watermark advance happened (for "message info"). A direct conversation's parties become members from its start, their
    // watermarks the newest message to them that v1 had delivered or read, and v1's
    // per-message times become the log. Messages gain a kind and a system record, lose the
    // per-message status, and a group's (or a system message's) recipient and client id may
    // be empty.
    (
        4,
        r#"
    ALTER TABLE conversations ADD COLUMN title TEXT;
    ALTER TABLE conversations ADD COLUMN description TEXT NOT NULL DEFAULT '';
    ALTER TABLE conversations ADD COLUMN settings TEXT;
    ALTER TABLE conversations ADD COLUMN created_by INTEGER REFERENCES users(id);
    ALTER TABLE conversations ADD COLUMN client_id TEXT;
    ALTER TABLE conversations ADD COLUMN creation TEXT;
    CREATE UNIQUE INDEX groups_by_client_id ON conversations(created_by, client_id)
        WHERE client_id IS NOT NULL;

    ALTER TABLE conversation_members ADD COLUMN role TEXT NOT NULL DEFAULT 'member';
    ALTER TABLE conversation_members ADD COLUMN joined_at INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE conversation_members ADD COLUMN joined_id INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE conversation_members ADD COLUMN joined_rank INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE conversation_members ADD COLUMN left_id INTEGER;
    ALTER TABLE conversation_members ADD COLUMN left_info TEXT;
    ALTER TABLE conversation_members ADD COLUMN delivered_id INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE conversation_members ADD COLUMN read_id INTEGER NOT NULL DEFAULT 0;
    CREATE INDEX members_by_read ON conversation_members(conversation_id, read_id)
        WHERE left_id IS NULL;
    CREATE INDEX members_by_delivered ON conversation_members(conversation_id, delivered_id)
        WHERE left_id IS NULL;
    UPDATE conversation_members SET
        joined_at = (SELECT c.created_at FROM conversations c WHERE c.id = conversation_id),
        delivered_id = COALESCE((SELECT MAX(m.id) FROM messages m
            WHERE m.conversation_id = conversation_members.conversation_id
              AND m.recipient_id = conversation_members.user_id AND m.status >= 1), 0),
        read_id = COALESCE((SELECT MAX(m.id) FROM messages m
            WHERE m.conversation_id = conversation_members.conversation_id
              AND m.recipient_id = conversation_members.user_id AND m.status >= 2), 0);

    CREATE TABLE member_ranges (
        conversation_id INTEGER NOT NULL REFERENCES conversations(id),
        user_id INTEGER NOT NULL REFERENCES users(id),
        from_id INTEGER NOT NULL,
        to_id INTEGER,
        PRIMARY KEY (conversation_id, user_id, from_id)
    ) WITHOUT ROWID;
    INSERT INTO member_ranges (conversation_id, user_id, from_id, to_id)
        SELECT conversation_id, user_id, 0, NULL FROM conversation_members;

    CREATE TABLE receipt_log (
        conversation_id INTEGER NOT NULL REFERENCES conversations(id),
        user_id INTEGER NOT NULL REFERENCES users(id),
        status INTEGER NOT NULL,
        up_to_id INTEGER NOT NULL,
        at INTEGER NOT NULL,
        PRIMARY KEY (conversation_id, user_id, status, up_to_id)
    ) WITHOUT ROWID;
    INSERT INTO receipt_log (conversation_id, user_id, status, up_to_id, at)
        SELECT conversation_id, recipient_id, 1, id, delivered_at FROM messages
        WHERE delivered_at IS NOT NULL;
    INSERT INTO receipt_log (conversation_id, user_id, status, up_to_id, at)
        SELECT conversation_id, recipient_id, 2, id, read_at FROM messages
        WHERE read_at IS NOT NULL;

    CREATE TABLE messages_v4 (
        id INTEGER PRIMARY KEY,
        conversation_id INTEGER NOT NULL REFERENCES conversations(id),
        seq INTEGER NOT NULL,
        kind INTEGER NOT NULL DEFAULT 0,
        sender_id INTEGER NOT NULL REFERENCES users(id),
        recipient_id INTEGER REFERENCES users(id),
        client_id TEXT,
        body TEXT NOT NULL,
        system TEXT,
        created_at INTEGER NOT NULL,
        edited_at INTEGER,
        deleted INTEGER NOT NULL DEFAULT 0,
        UNIQUE (sender_id, client_id)
    );
    INSERT INTO messages_v4 (id, conversation_id, seq, kind, sender_id, recipient_id, client_id,
                             body, system, created_at, edited_at, deleted)
        SELECT id, conversation_id, seq, 0, sender_id, recipient_id, client_id, body, NULL,
               created_at, edited_at, deleted
        FROM messages;
    DROP TABLE messages;
    ALTER TABLE messages_v4 RENAME TO messages;
    CREATE INDEX messages_by_conversation ON messages(conversation_id, id, seq);
    "#,
    ),
    (
        5,
        r#"
    ALTER TABLE messages ADD COLUMN reply_to_id INTEGER;
    ALTER TABLE messages ADD COLUMN deleted_by INTEGER REFERENCES users(id);
    CREATE TABLE reactions (
        message_id INTEGER NOT NULL REFERENCES messages(id),
        user_id INTEGER NOT NULL REFERENCES users(id),
        emoji TEXT NOT NULL,
        rank INTEGER NOT NULL,
        emoji_rank INTEGER NOT NULL,
        at INTEGER NOT NULL,
        PRIMARY KEY (message_id, user_id)
    ) WITHOUT ROWID;
    CREATE INDEX reactions_in_order ON reactions(message_id, emoji_rank, rank);
    "#,
    ),
    (
        6,
        r#"
    CREATE TABLE uploads (
        id TEXT PRIMARY KEY,
        uploader_id INTEGER NOT NULL REFERENCES users(id),
        filename TEXT NOT NULL,
        content_type TEXT NOT NULL,
        size INTEGER NOT NULL,
        sha256 TEXT NOT NULL,
        width INTEGER,
        height INTEGER,
        thumbnail INTEGER NOT NULL DEFAULT 0,
        created_at INTEGER NOT NULL,
        attached INTEGER NOT NULL DEFAULT 0,
        gone_at INTEGER,
        removed INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX uploads_by_uploader ON uploads(uploader_id, created_at);
    CREATE INDEX uploads_to_sweep ON uploads(removed, created_at);
    CREATE TABLE message_attachments (
        message_id INTEGER NOT NULL REFERENCES messages(id),
        position INTEGER NOT NULL,
        upload_id TEXT NOT NULL REFERENCES uploads(id),
        PRIMARY KEY (message_id, position)
    );
    CREATE INDEX attachments_by_upload ON message_attachments(upload_id);
    "#,
    ),
    // -- Authentication (auth) --
    // Bearer tokens get a public id (what the token list shows and a revocation names; existing
    // tokens get a random one), the time of their last use and an optional expiry; expired
    // sessions and tokens are found by index for the housekeeping's purge.
    (
        7,
        r#"
    ALTER TABLE api_tokens ADD COLUMN id TEXT NOT NULL DEFAULT '';
    ALTER TABLE api_tokens ADD COLUMN last_used_at INTEGER;
    ALTER TABLE api_tokens ADD COLUMN expires_at INTEGER;
    UPDATE api_tokens SET id = lower(hex(randomblob(12)));
    CREATE UNIQUE INDEX api_tokens_by_id ON api_tokens(id);
    CREATE INDEX api_tokens_by_user ON api_tokens(user_id, created_at);
    CREATE INDEX api_tokens_by_expiry ON api_tokens(expires_at) WHERE expires_at IS NOT NULL;
    CREATE INDEX sessions_by_expiry ON sessions(expires_at);
    "#,
    ),
    // Safety (v2): blocks, and each member's request state (`store::safety`: 0 none; in a
    // direct conversation 1 a pending message request for that member, 2 declined by them; in a
    // group 3 a pending group request, 4 declined by leaving it).
    (
        8,
        r#"
    CREATE TABLE blocks (
        blocker_id INTEGER NOT NULL REFERENCES users(id),
        blocked_id INTEGER NOT NULL REFERENCES users(id),
        created_at INTEGER NOT NULL,
        PRIMARY KEY (blocker_id, blocked_id)
    ) WITHOUT ROWID;
    CREATE INDEX blocks_by_blocked ON blocks(blocked_id, blocker_id);
    ALTER TABLE conversation_members ADD COLUMN request INTEGER NOT NULL DEFAULT 0;
    "#,
    ),
    // Accounts and reports (v2 safety, version 9): an account's status (0 active, 1 suspended,
    // 2 deleted), a reset password's one login (`reset_hash` is the hash a reset set: while the
    // password is still that one it logs in once, before `reset_until`), the last export;
    // usernames retired by a deletion until a time; reports with the message as it was, and the
    // uploads whose bytes a report holds.
    (
        9,
        r#"
    ALTER TABLE users ADD COLUMN status INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE users ADD COLUMN reset_hash TEXT;
    ALTER TABLE users ADD COLUMN reset_until INTEGER;
    ALTER TABLE users ADD COLUMN reset_used INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE users ADD COLUMN exported_at INTEGER;
    CREATE TABLE retired_usernames (
        username TEXT PRIMARY KEY,
        until INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE reports (
        id INTEGER PRIMARY KEY,
        reporter_id INTEGER NOT NULL REFERENCES users(id),
        message_id INTEGER NOT NULL,
        reason TEXT NOT NULL,
        at INTEGER NOT NULL,
        message TEXT NOT NULL,
        UNIQUE (reporter_id, message_id)
    );
    CREATE INDEX reports_by_time ON reports(at);
    CREATE TABLE report_uploads (
        report_id INTEGER NOT NULL REFERENCES reports(id),
        upload_id TEXT NOT NULL,
        PRIMARY KEY (report_id, upload_id)
    ) WITHOUT ROWID;
    CREATE INDEX report_uploads_by_upload ON report_uploads(upload_id);
    "#,
    ),
];

/// The newest schema version this build knows.
pub fn latest_version() -> i64 {
    MIGRATIONS.last().map(|(v, _)| *v).unwrap_or(0)
}

/// Settings for every connection: wait instead of failing on a busy database, and keep every
/// statement the store uses prepared (rusqlite's default cache of 16 is smaller than that set).
pub fn configure(conn: &Connection) -> rusqlite::Result<()> {
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    conn.set_prepared_statement_cache_capacity(128);
    conn.execute_batch("PRAGMA foreign_keys = ON;")
}

/// Settings for the single writer connection: WAL so readers never block it, and a flush of
/// the log at every commit (`synchronous = FULL`: `fdatasync` in builds from this checkout,
/// whose `.cargo/config.toml` sets it for the bundled SQLite, `fsync` otherwise), which group
/// commit spreads over a whole batch of writes. A batch dirties pages all over the B-trees, so
/// the writer keeps a large page cache (64 MiB) and keeps savepoint journals in memory rather
/// than in a temporary file. Checkpoints are the `checkpoint` thread's job; the writer's own
/// only starts past 262,144 WAL pages (1 GiB), as a backstop for a log that readers keep from
/// being copied (four times the `checkpoint` thread's restart threshold, so that it never
/// fires first).
pub fn configure_writer(conn: &Connection) -> rusqlite::Result<()> {
    configure(conn)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "cache_size", -64 * 1024)?;
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    // A deleted message is gone: what an update or delete frees is overwritten with zeros.
    conn.pragma_update(None, "secure_delete", "ON")?;
    conn.pragma_update(None, "wal_autocheckpoint", 262_144)
}

/// The version recorded in the database (0 for a new file).
pub fn current_version(conn: &Connection) -> Result<i64, StoreError> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)",
    )
    .map_err(super::other)?;
    conn.query_row(
        "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
        [],
        |r| r.get(0),
    )
    .map_err(super::other)
}

/// Applies the migrations the database lacks, each in its own transaction. Refuses a database
/// written by a newer build.
pub fn migrate(conn: &mut Connection) -> Result<Vec<i64>, StoreError> {
    migrate_to(conn, latest_version())
}

/// Applies the migrations after the database's version, up to `target` only (tests build older
/// databases with it).
pub fn migrate_to(conn: &mut Connection, target: i64) -> Result<Vec<i64>, StoreError> {
    let current = current_version(conn)?;
    if current > latest_version() {
        return Err(StoreError::Other(format!(
            "the database is at schema version {current}, newer than this build's {}; upgrade linkup",
            latest_version()
        )));
    }
    let mut applied = Vec::new();
    for (version, sql) in MIGRATIONS
        .iter()
        .filter(|(v, _)| *v > current && *v <= target)
    {
        let tx = conn.transaction().map_err(super::other)?;
        tx.execute_batch(sql).map_err(super::other)?;
        tx.execute(
            "INSERT INTO schema_migrations (version, applied_at) VALUES (?1, ?2)",
            (version, crate::domain::time::Timestamp::now().millis()),
        )
        .map_err(super::other)?;
        tx.commit().map_err(super::other)?;
        applied.push(*version);
    }
    Ok(applied)
}

/// What `linkup doctor` learns about a database file without changing it.
#[derive(Debug, Clone)]
pub struct Inspection {
    pub version: i64,
    pub latest: i64,
    pub journal_mode: String,
    pub integrity: String,
}

/// Opens the file read-only and reports its schema version and health; `None` if it does not
/// exist yet.
pub fn inspect(path: &std::path::Path) -> Result<Option<Inspection>, StoreError> {
    if !path.exists() {
        return Ok(None);
    }
    let conn = Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(super::other)?;
    configure(&conn).map_err(super::other)?;
    let has_table: bool = conn
        .query_row(
            "SELECT COUNT(*) > 0 FROM sqlite_master WHERE name = 'schema_migrations'",
            [],
            |r| r.get(0),
        )
        .map_err(super::other)?;
    let version = if has_table {
        conn.query_row(
            "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
            [],
            |r| r.get(0),
        )
        .map_err(super::other)?
    } else {
        0
    };
    let journal_mode = conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .map_err(super::other)?;
    let integrity = conn
        .query_row("PRAGMA quick_check", [], |r| r.get(0))
        .map_err(super::other)?;
    Ok(Some(Inspection {
        version,
        latest: latest_version(),
        journal_mode,
        integrity,
    }))
}
