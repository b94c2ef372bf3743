//! The PostgreSQL schema and its migrations, applied in order under an advisory lock so that
//! several nodes starting at once migrate exactly once.

use sqlx::{AssertSqlSafe, PgPool};

use super::failure;
use crate::store::StoreError;

/// Migrations in order; a released migration is never edited, only appended to.
const MIGRATIONS: &[(i64, &str)] = &[
    (
        1,
        r#"
    CREATE TABLE users (
        id BIGSERIAL PRIMARY KEY,
        username TEXT NOT NULL UNIQUE,
        display_name TEXT NOT NULL,
        password_hash TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        last_cursor BIGINT NOT NULL DEFAULT 0,
        last_seen_at BIGINT
    );
    CREATE TABLE sessions (
        id_hash BYTEA PRIMARY KEY,
        user_id BIGINT NOT NULL REFERENCES users(id),
        csrf_token TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        expires_at BIGINT NOT NULL
    );
    CREATE INDEX sessions_by_user ON sessions(user_id);
    CREATE TABLE api_tokens (
        token_hash BYTEA PRIMARY KEY,
        user_id BIGINT NOT NULL REFERENCES users(id),
        created_at BIGINT NOT NULL
    );
    CREATE TABLE conversations (
        id BIGSERIAL PRIMARY KEY,
        kind TEXT NOT NULL DEFAULT 'direct',
        last_seq BIGINT NOT NULL DEFAULT 0,
        last_message_id BIGINT,
        updated_at BIGINT NOT NULL
    );
    CREATE TABLE conversation_members (
        user_id BIGINT NOT NULL REFERENCES users(id),
        conversation_id BIGINT NOT NULL REFERENCES conversations(id),
        PRIMARY KEY (user_id, conversation_id)
    );
    CREATE INDEX members_by_conversation ON conversation_members(conversation_id);
    CREATE TABLE direct_conversations (
        user_low BIGINT NOT NULL,
        user_high BIGINT NOT NULL,
        conversation_id BIGINT NOT NULL REFERENCES conversations(id),
        PRIMARY KEY (user_low, user_high)
    );
    CREATE TABLE messages (
        id BIGSERIAL PRIMARY KEY,
        conversation_id BIGINT NOT NULL REFERENCES conversations(id),
        seq BIGINT NOT NULL,
        sender_id BIGINT NOT NULL REFERENCES users(id),
        recipient_id BIGINT NOT NULL REFERENCES users(id),
        client_id TEXT NOT NULL,
        body TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        status SMALLINT NOT NULL DEFAULT 0,
        delivered_at BIGINT,
        read_at BIGINT,
        edited_at BIGINT,
        deleted BOOLEAN NOT NULL DEFAULT FALSE,
        UNIQUE (sender_id, client_id),
        UNIQUE (conversation_id, seq)
    );
    CREATE INDEX messages_by_conversation ON messages(conversation_id, id);
    CREATE INDEX messages_unread ON messages(recipient_id, conversation_id, status);
    CREATE TABLE events (
        user_id BIGINT NOT NULL REFERENCES users(id),
        cursor BIGINT NOT NULL,
        kind SMALLINT NOT NULL,
        message_id BIGINT,
        data TEXT,
        created_at BIGINT NOT NULL,
        PRIMARY KEY (user_id, cursor)
    );
    "#,
    ),
    // No counter rows rewritten by every send and receipt: each was a new row version of a
    // hot `users` or `conversations` row, and every lookup of those rows (foreign keys, locks)
    // then walked chains of dead versions. Rows are still locked to order writers; the values
    // come from the end of the index the write appends to. The unread index only holds
    // unread messages and no status, so a `delivered` receipt can update in place (HOT).
    (
        2,
        r#"
    ALTER TABLE users DROP COLUMN last_cursor;
    ALTER TABLE conversations DROP COLUMN last_seq;
    ALTER TABLE conversations DROP COLUMN last_message_id;
    ALTER TABLE conversations RENAME COLUMN updated_at TO created_at;
    UPDATE conversations c SET created_at = COALESCE(
        (SELECT MIN(m.created_at) FROM messages m WHERE m.conversation_id = c.id), c.created_at);
    DROP INDEX messages_unread;
    CREATE INDEX messages_unread ON messages(recipient_id, conversation_id, id)
        WHERE read_at IS NULL;
    "#,
    ),
    // Room on every page of `messages` for the version a `delivered` receipt writes: the new
    // version then stays on its page and no index changes (HOT). At 50 × 8 the HOT share of
    // those updates went from 34 % to 62 % and the dead versions a 10 s run leaves from
    // 142,000–154,000 to 97,000–101,000; throughput moved within the noise (BENCHMARKS.md,
    // fifth round). It applies to pages written from now on; existing ones keep theirs until
    // rewritten. Like every migration, it stops older builds from opening the database.
    (
        3,
        r#"
    ALTER TABLE messages SET (fillfactor = 80);
    "#,
    ),
    // Groups and up-to receipts (v2), as SQLite's version 4: conversations gain what a group
    // has; members gain a role, when and at which message they joined, where they left, and
    // their two receipt watermarks (message ids); `member_ranges` holds each membership's
    // visible range; `receipt_log` when each watermark advance happened. A direct
    // conversation's parties become members from its start, their watermarks the newest
    // message to them v1 had delivered or read, and v1's per-message times become the log.
    // Messages gain a kind and a system record and lose the per-message status; a group's (or
    // a system message's) recipient and client id may be empty.
    (
        4,
        r#"
    ALTER TABLE conversations ADD COLUMN title TEXT,
        ADD COLUMN description TEXT NOT NULL DEFAULT '',
        ADD COLUMN settings TEXT,
        ADD COLUMN created_by BIGINT REFERENCES users(id),
        ADD COLUMN client_id TEXT,
        ADD COLUMN creation TEXT;
    CREATE UNIQUE INDEX groups_by_client_id ON conversations(created_by, client_id)
        WHERE client_id IS NOT NULL;

    ALTER TABLE conversation_members ADD COLUMN role TEXT NOT NULL DEFAULT 'member',
        ADD COLUMN joined_at BIGINT NOT NULL DEFAULT 0,
        ADD COLUMN joined_id BIGINT NOT NULL DEFAULT 0,
        ADD COLUMN joined_rank BIGINT NOT NULL DEFAULT 0,
        ADD COLUMN left_id BIGINT,
        ADD COLUMN left_info TEXT,
        ADD COLUMN delivered_id BIGINT NOT NULL DEFAULT 0,
        ADD COLUMN read_id BIGINT NOT NULL DEFAULT 0;
    UPDATE conversation_members me SET
        joined_at = c.created_at,
        delivered_id = COALESCE((SELECT MAX(m.id) FROM messages m
            WHERE m.conversation_id = me.conversation_id AND m.recipient_id = me.user_id
              AND m.status >= 1), 0),
        read_id = COALESCE((SELECT MAX(m.id) FROM messages m
            WHERE m.conversation_id = me.conversation_id AND m.recipient_id = me.user_id
              AND m.status >= 2), 0)
        FROM conversations c WHERE c.id = me.conversation_id;

    CREATE TABLE member_ranges (
        conversation_id BIGINT NOT NULL REFERENCES conversations(id),
        user_id BIGINT NOT NULL REFERENCES users(id),
        from_id BIGINT NOT NULL,
        to_id BIGINT,
        PRIMARY KEY (conversation_id, user_id, from_id)
    );
    INSERT INTO member_ranges (conversation_id, user_id, from_id, to_id)
        SELECT conversation_id, user_id, 0, NULL FROM conversation_members;

    CREATE TABLE receipt_log (
        conversation_id BIGINT NOT NULL REFERENCES conversations(id),
        user_id BIGINT NOT NULL REFERENCES users(id),
        status SMALLINT NOT NULL,
        up_to_id BIGINT NOT NULL,
        at BIGINT NOT NULL,
        PRIMARY KEY (conversation_id, user_id, status, up_to_id)
    );
    INSERT INTO receipt_log (conversation_id, user_id, status, up_to_id, at)
        SELECT conversation_id, recipient_id, 1, id, delivered_at FROM messages
        WHERE delivered_at IS NOT NULL;
    INSERT INTO receipt_log (conversation_id, user_id, status, up_to_id, at)
        SELECT conversation_id, recipient_id, 2, id, read_at FROM messages
        WHERE read_at IS NOT NULL;

    DROP INDEX messages_unread;
    ALTER TABLE messages DROP COLUMN status,
        DROP COLUMN delivered_at,
        DROP COLUMN read_at,
        ALTER COLUMN recipient_id DROP NOT NULL,
        ALTER COLUMN client_id DROP NOT NULL,
        ADD COLUMN kind SMALLINT NOT NULL DEFAULT 0,
        ADD COLUMN system TEXT;
    "#,
    ),
    (
        5,
        r#"
    ALTER TABLE messages ADD COLUMN reply_to_id BIGINT,
        ADD COLUMN deleted_by BIGINT REFERENCES users(id);
    CREATE TABLE reactions (
        message_id BIGINT NOT NULL REFERENCES messages(id),
        user_id BIGINT NOT NULL REFERENCES users(id),
        emoji TEXT NOT NULL,
        rank BIGINT NOT NULL,
        emoji_rank BIGINT NOT NULL,
        at BIGINT NOT NULL,
        PRIMARY KEY (message_id, user_id)
    );
    CREATE INDEX reactions_in_order ON reactions(message_id, emoji_rank, rank);
    "#,
    ),
    (
        6,
        r#"
    CREATE TABLE uploads (
        id TEXT PRIMARY KEY,
        uploader_id BIGINT NOT NULL REFERENCES users(id),
        filename TEXT NOT NULL,
        content_type TEXT NOT NULL,
        size BIGINT NOT NULL,
        sha256 TEXT NOT NULL,
        width BIGINT,
        height BIGINT,
        thumbnail BOOLEAN NOT NULL DEFAULT FALSE,
        created_at BIGINT NOT NULL,
        attached BOOLEAN NOT NULL DEFAULT FALSE,
        gone_at BIGINT,
        removed BOOLEAN NOT NULL DEFAULT FALSE
    );
    CREATE INDEX uploads_by_uploader ON uploads(uploader_id, created_at);
    CREATE INDEX uploads_to_sweep ON uploads(removed, created_at);
    CREATE TABLE message_attachments (
        message_id BIGINT NOT NULL REFERENCES messages(id),
        position BIGINT NOT NULL,
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
    ALTER TABLE api_tokens ADD COLUMN id TEXT;
    ALTER TABLE api_tokens ADD COLUMN last_used_at BIGINT;
    ALTER TABLE api_tokens ADD COLUMN expires_at BIGINT;
    UPDATE api_tokens SET id = substr(md5(random()::text || encode(token_hash, 'hex')), 1, 24);
    ALTER TABLE api_tokens ALTER COLUMN id SET NOT NULL;
    CREATE UNIQUE INDEX api_tokens_by_id ON api_tokens(id);
    CREATE INDEX api_tokens_by_user ON api_tokens(user_id, created_at);
    CREATE INDEX api_tokens_by_expiry ON api_tokens(expires_at) WHERE expires_at IS NOT NULL;
    CREATE INDEX sessions_by_expiry ON sessions(expires_at);
    "#,
    ),
    // Safety (v2), as SQLite's version 8: blocks, and each member's request state
    // (`store::safety`: 0 none; in a direct conversation 1 a pending message request for that
    // member, 2 declined by them; in a group 3 a pending group request, 4 declined by leaving).
    (
        8,
        r#"
    CREATE TABLE blocks (
        blocker_id BIGINT NOT NULL REFERENCES users(id),
        blocked_id BIGINT NOT NULL REFERENCES users(id),
        created_at BIGINT NOT NULL,
        PRIMARY KEY (blocker_id, blocked_id)
    );
    CREATE INDEX blocks_by_blocked ON blocks(blocked_id, blocker_id);
    ALTER TABLE conversation_members ADD COLUMN request BIGINT NOT NULL DEFAULT 0;
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
    ALTER TABLE users ADD COLUMN status BIGINT NOT NULL DEFAULT 0;
    ALTER TABLE users ADD COLUMN reset_hash TEXT;
    ALTER TABLE users ADD COLUMN reset_until BIGINT;
    ALTER TABLE users ADD COLUMN reset_used BIGINT NOT NULL DEFAULT 0;
    ALTER TABLE users ADD COLUMN exported_at BIGINT;
    CREATE TABLE retired_usernames (
        username TEXT PRIMARY KEY,
        until BIGINT NOT NULL
    );
    CREATE TABLE reports (
        id BIGSERIAL PRIMARY KEY,
        reporter_id BIGINT NOT NULL REFERENCES users(id),
        message_id BIGINT NOT NULL,
        reason TEXT NOT NULL,
        at BIGINT NOT NULL,
        message TEXT NOT NULL,
        UNIQUE (reporter_id, message_id)
    );
    CREATE INDEX reports_by_time ON reports(at);
    CREATE TABLE report_uploads (
        report_id BIGINT NOT NULL REFERENCES reports(id),
        upload_id TEXT NOT NULL,
        PRIMARY KEY (report_id, upload_id)
    );
    CREATE INDEX report_uploads_by_upload ON report_uploads(upload_id);
    "#,
    ),
];

/// An arbitrary constant naming LinkUp's migration lock.
const MIGRATION_LOCK: i64 = 0x6c69_6e6b_7570;

pub fn latest_version() -> i64 {
    MIGRATIONS.last().map(|(v, _)| *v).unwrap_or(0)
}

/// The version recorded in the database (0 for an empty one).
pub async fn current_version(pool: &PgPool) -> Result<i64, StoreError> {
    sqlx::query(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)",
    )
    .execute(pool)
    .await
    .map_err(failure)?;
    sqlx::query_scalar("SELECT COALESCE(MAX(version), 0)::BIGINT FROM schema_migrations")
        .fetch_one(pool)
        .await
        .map_err(failure)
}

/// Applies the missing migrations, each in its own transaction, holding an advisory lock.
pub async fn migrate(pool: &PgPool) -> Result<Vec<i64>, StoreError> {
    migrate_to(pool, latest_version()).await
}

/// Applies the missing migrations up to `target` only (tests build older databases with it).
pub async fn migrate_to(pool: &PgPool, target: i64) -> Result<Vec<i64>, StoreError> {
    let mut conn = pool.acquire().await.map_err(failure)?;
    sqlx::query("SELECT pg_advisory_lock($1)")
        .bind(MIGRATION_LOCK)
        .execute(&mut *conn)
        .await
        .map_err(failure)?;
    let result = apply(pool, target).await;
    let _ = sqlx::query("SELECT pg_advisory_unlock($1)")
        .bind(MIGRATION_LOCK)
        .execute(&mut *conn)
        .await;
    result
}

async fn apply(pool: &PgPool, target: i64) -> Result<Vec<i64>, StoreError> {
    let current = current_version(pool).await?;
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
        let mut tx = pool.begin().await.map_err(failure)?;
        sqlx::raw_sql(AssertSqlSafe(*sql))
            .execute(&mut *tx)
            .await
            .map_err(failure)?;
        sqlx::query("INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)")
            .bind(version)
            .bind(crate::domain::time::Timestamp::now().millis())
            .execute(&mut *tx)
            .await
            .map_err(failure)?;
        tx.commit().await.map_err(failure)?;
        applied.push(*version);
    }
    Ok(applied)
}

/// What `linkup doctor` learns about a PostgreSQL database without changing it.
#[derive(Debug, Clone)]
pub struct Inspection {
    pub server_version: String,
    pub version: i64,
    pub latest: i64,
}

/// Connects once to `url` and reads the server's version and the schema version.
pub async fn inspect(url: &str) -> Result<Inspection, StoreError> {
    use sqlx::Connection;
    let mut conn = sqlx::PgConnection::connect(url).await.map_err(failure)?;
    let server_version: String = sqlx::query_scalar("SHOW server_version")
        .fetch_one(&mut conn)
        .await
        .map_err(failure)?;
    let has_table: bool = sqlx::query_scalar("SELECT to_regclass('schema_migrations') IS NOT NULL")
        .fetch_one(&mut conn)
        .await
        .map_err(failure)?;
    let version = if has_table {
        sqlx::query_scalar("SELECT COALESCE(MAX(version), 0)::BIGINT FROM schema_migrations")
            .fetch_one(&mut conn)
            .await
            .map_err(failure)?
    } else {
        0
    };
    let _ = conn.close().await;
    Ok(Inspection {
        server_version,
        version,
        latest: latest_version(),
    })
}
