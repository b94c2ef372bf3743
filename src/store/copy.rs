//! Copies an embedded SQLite database into an empty PostgreSQL database, ids and all, so an
//! install can move to several nodes without losing a message, a session or a cursor.
//! (`linkup copy-to-postgres`.)

use std::path::Path;

use rusqlite::types::Value;
use sqlx::{AssertSqlSafe, PgConnection, Postgres};

use super::StoreError;
use super::postgres::failure;
use super::sqlite::other;

/// A column's PostgreSQL type, which decides how a SQLite value is bound.
#[derive(Clone, Copy)]
enum Kind {
    BigInt,
    SmallInt,
    Text,
    Bytes,
    Bool,
}

use Kind::*;

/// Every table, parents first, with its columns.
const TABLES: &[(&str, &[(&str, Kind)])] = &[
    (
        "users",
        &[
            ("id", BigInt),
            ("username", Text),
            ("display_name", Text),
            ("password_hash", Text),
            ("created_at", BigInt),
            ("last_seen_at", BigInt),
            // Accounts (v2 safety).
            ("status", BigInt),
            ("reset_hash", Text),
            ("reset_until", BigInt),
            ("reset_used", BigInt),
            ("exported_at", BigInt),
        ],
    ),
    (
        "sessions",
        &[
            ("id_hash", Bytes),
            ("user_id", BigInt),
            ("csrf_token", Text),
            ("created_at", BigInt),
            ("expires_at", BigInt),
        ],
    ),
    (
        "api_tokens",
        &[
            ("token_hash", Bytes),
            ("user_id", BigInt),
            ("created_at", BigInt),
            ("id", Text),
            ("last_used_at", BigInt),
            ("expires_at", BigInt),
        ],
    ),
    (
        "conversations",
        &[
            ("id", BigInt),
            ("kind", Text),
            ("created_at", BigInt),
            ("title", Text),
            ("description", Text),
            ("settings", Text),
            ("created_by", BigInt),
            ("client_id", Text),
            ("creation", Text),
        ],
    ),
    (
        "conversation_members",
        &[
            ("user_id", BigInt),
            ("conversation_id", BigInt),
            ("role", Text),
            ("joined_at", BigInt),
            ("joined_id", BigInt),
            ("joined_rank", BigInt),
            ("left_id", BigInt),
            ("left_info", Text),
            ("delivered_id", BigInt),
            ("read_id", BigInt),
            // Safety (v8): the member's request state.
            ("request", BigInt),
        ],
    ),
    (
        "member_ranges",
        &[
            ("conversation_id", BigInt),
            ("user_id", BigInt),
            ("from_id", BigInt),
            ("to_id", BigInt),
        ],
    ),
    (
        "receipt_log",
        &[
            ("conversation_id", BigInt),
            ("user_id", BigInt),
            ("status", SmallInt),
            ("up_to_id", BigInt),
            ("at", BigInt),
        ],
    ),
    (
        "direct_conversations",
        &[
            ("user_low", BigInt),
            ("user_high", BigInt),
            ("conversation_id", BigInt),
        ],
    ),
    (
        "messages",
        &[
            ("id", BigInt),
            ("conversation_id", BigInt),
            ("seq", BigInt),
            ("kind", SmallInt),
            ("sender_id", BigInt),
            ("recipient_id", BigInt),
            ("client_id", Text),
            ("body", Text),
            ("system", Text),
            ("created_at", BigInt),
            ("edited_at", BigInt),
            ("deleted", Bool),
            ("reply_to_id", BigInt),
            ("deleted_by", BigInt),
        ],
    ),
    (
        "reactions",
        &[
            ("message_id", BigInt),
            ("user_id", BigInt),
            ("emoji", Text),
            ("rank", BigInt),
            ("emoji_rank", BigInt),
            ("at", BigInt),
        ],
    ),
    (
        "uploads",
        &[
            ("id", Text),
            ("uploader_id", BigInt),
            ("filename", Text),
            ("content_type", Text),
            ("size", BigInt),
            ("sha256", Text),
            ("width", BigInt),
            ("height", BigInt),
            ("thumbnail", Bool),
            ("created_at", BigInt),
            ("attached", Bool),
            ("gone_at", BigInt),
            ("removed", Bool),
        ],
    ),
    (
        "message_attachments",
        &[
            ("message_id", BigInt),
            ("position", BigInt),
            ("upload_id", Text),
        ],
    ),
    (
        "events",
        &[
            ("user_id", BigInt),
            ("cursor", BigInt),
            ("kind", SmallInt),
            ("message_id", BigInt),
            ("data", Text),
            ("created_at", BigInt),
        ],
    ),
    // Accounts, reports and operators (v2 safety).
    (
        "retired_usernames",
        &[("username", Text), ("until", BigInt)],
    ),
    (
        "reports",
        &[
            ("id", BigInt),
            ("reporter_id", BigInt),
            ("message_id", BigInt),
            ("reason", Text),
            ("at", BigInt),
            ("message", Text),
        ],
    ),
    (
        "report_uploads",
        &[("report_id", BigInt), ("upload_id", Text)],
    ),
    // Safety (v8).
    (
        "blocks",
        &[
            ("blocker_id", BigInt),
            ("blocked_id", BigInt),
            ("created_at", BigInt),
        ],
    ),
];

/// Tables whose ids come from a sequence that must continue after the copied rows.
const SEQUENCES: &[&str] = &["users", "conversations", "messages", "reports"];

/// Rows copied per INSERT (PostgreSQL allows 65,535 parameters per statement).
const ROWS_PER_INSERT: usize = 2_000;

/// Rows copied, per table.
pub type CopyReport = Vec<(&'static str, usize)>;

/// Reads every table inside one read transaction, so the copy is a consistent snapshot even
/// if a server still writes (stop it first all the same: later writes would not be copied).
fn read_all(sqlite: &Path) -> Result<Vec<Vec<Vec<Value>>>, StoreError> {
    let conn =
        rusqlite::Connection::open_with_flags(sqlite, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .map_err(other)?;
    conn.execute_batch("BEGIN").map_err(other)?;
    let version: i64 = conn
        .query_row("SELECT MAX(version) FROM schema_migrations", [], |r| {
            r.get(0)
        })
        .map_err(other)?;
    if version != super::sqlite::schema::latest_version() {
        return Err(StoreError::Conflict(format!(
            "the SQLite database is at schema version {version}: migrate it first (linkup migrate)"
        )));
    }
    let mut tables = Vec::with_capacity(TABLES.len());
    for (table, columns) in TABLES {
        let names: Vec<&str> = columns.iter().map(|(name, _)| *name).collect();
        let mut stmt = conn
            .prepare(&format!("SELECT {} FROM {table}", names.join(", ")))
            .map_err(other)?;
        let rows = stmt
            .query_map([], |row| {
                (0..columns.len())
                    .map(|i| row.get::<_, Value>(i))
                    .collect::<Result<Vec<_>, _>>()
            })
            .map_err(other)?;
        tables.push(rows.collect::<Result<_, _>>().map_err(other)?);
    }
    conn.execute_batch("COMMIT").map_err(other)?;
    Ok(tables)
}

fn bind<'q>(
    query: sqlx::query::Query<'q, Postgres, sqlx::postgres::PgArguments>,
    value: &Value,
    kind: Kind,
) -> sqlx::query::Query<'q, Postgres, sqlx::postgres::PgArguments> {
    let integer = match value {
        Value::Integer(n) => Some(*n),
        _ => None,
    };
    match kind {
        BigInt => query.bind(integer),
        SmallInt => query.bind(integer.map(|n| n as i16)),
        Bool => query.bind(integer.map(|n| n != 0)),
        Text => query.bind(match value {
            Value::Text(text) => Some(text.clone()),
            _ => None,
        }),
        Bytes => query.bind(match value {
            Value::Blob(bytes) => Some(bytes.clone()),
            _ => None,
        }),
    }
}

async fn insert_rows(
    pg: &mut PgConnection,
    table: &str,
    columns: &[(&str, Kind)],
    rows: &[Vec<Value>],
) -> Result<(), StoreError> {
    let names: Vec<&str> = columns.iter().map(|(name, _)| *name).collect();
    for chunk in rows.chunks(ROWS_PER_INSERT) {
        let placeholders: Vec<String> = (0..chunk.len())
            .map(|r| {
                let cells: Vec<String> = (0..columns.len())
                    .map(|c| format!("${}", r * columns.len() + c + 1))
                    .collect();
                format!("({})", cells.join(", "))
            })
            .collect();
        let sql = format!(
            "INSERT INTO {table} ({}) VALUES {}",
            names.join(", "),
            placeholders.join(", ")
        );
        let mut query = sqlx::query(AssertSqlSafe(sql));
        for row in chunk {
            for (value, (_, kind)) in row.iter().zip(columns) {
                query = bind(query, value, *kind);
            }
        }
        query.execute(&mut *pg).await.map_err(failure)?;
    }
    Ok(())
}

/// Copies every row of the SQLite database at `sqlite` into the PostgreSQL database of `pg`
/// (migrated by the caller, and empty), in one transaction: all or nothing. The SQLite database
/// must be at this build's schema version (`Conflict` otherwise).
pub async fn sqlite_to_postgres(
    sqlite: &Path,
    pg: &sqlx::PgPool,
) -> Result<CopyReport, StoreError> {
    let mut tx = pg.begin().await.map_err(failure)?;
    let users: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users")
        .fetch_one(&mut *tx)
        .await
        .map_err(failure)?;
    if users > 0 {
        return Err(StoreError::Conflict(
            "the PostgreSQL database already has users; copy into an empty one".into(),
        ));
    }
    let path = sqlite.to_path_buf();
    let tables = tokio::task::spawn_blocking(move || read_all(&path))
        .await
        .map_err(|e| StoreError::Other(e.to_string()))??;
    let mut report = Vec::new();
    for ((table, columns), rows) in TABLES.iter().zip(tables) {
        insert_rows(&mut tx, table, columns, &rows).await?;
        report.push((*table, rows.len()));
    }
    for table in SEQUENCES {
        let sql = format!(
            "SELECT setval(pg_get_serial_sequence('{table}', 'id'), COALESCE((SELECT MAX(id) FROM {table}), 0) + 1, false)"
        );
        sqlx::query(AssertSqlSafe(sql))
            .execute(&mut *tx)
            .await
            .map_err(failure)?;
    }
    tx.commit().await.map_err(failure)?;
    Ok(report)
}
