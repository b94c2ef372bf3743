//! Uploads on PostgreSQL, as SQLite's `uploads`: recording one, a user's usage inside the
//! quota's window, whether a viewer may download one (the access rule in the query), the sweep,
//! a send's attachments, and the attachments each message of a page carries.

use sqlx::postgres::PgRow;
use sqlx::{AssertSqlSafe, PgConnection, PgPool, Row};

use super::failure;
use super::ranges::visible_to;
use crate::domain::Message;
use crate::domain::ids::{MessageId, UserId};
use crate::domain::time::Timestamp;
use crate::domain::upload::{Upload, UploadId, WINDOW_MILLIS};
use crate::store::StoreError;
use crate::store::carried::set_attachments;
use crate::store::statements::{
    ATTACH, ATTACHABLE, GONE_NOT_REMOVED, INSERT_UPLOAD, MARK_ATTACHED, MARK_GONE, MARK_REMOVED,
    PURGE_REMOVED, UPLOAD_USAGE,
};
use crate::store::uploads::{NewUpload, UploadUsage, invalid_attachment};

const UPLOAD_COLUMNS: &str =
    "u.id, u.filename, u.content_type, u.size, u.sha256, u.width, u.height, u.thumbnail";

fn upload_from_row(row: &PgRow) -> Result<Upload, sqlx::Error> {
    Ok(Upload {
        id: UploadId::from_trusted(row.try_get("id")?),
        filename: row.try_get("filename")?,
        content_type: row.try_get("content_type")?,
        size: row.try_get("size")?,
        sha256: row.try_get("sha256")?,
        width: row.try_get("width")?,
        height: row.try_get("height")?,
        thumbnail: row.try_get("thumbnail")?,
    })
}

pub async fn create_upload(pool: &PgPool, new: &NewUpload) -> Result<(), StoreError> {
    let u = &new.upload;
    sqlx::query(INSERT_UPLOAD)
        .bind(u.id.as_str())
        .bind(new.uploader.0)
        .bind(&u.filename)
        .bind(&u.content_type)
        .bind(u.size)
        .bind(&u.sha256)
        .bind(u.width)
        .bind(u.height)
        .bind(u.thumbnail)
        .bind(new.at.millis())
        .execute(pool)
        .await
        .map_err(failure)?;
    Ok(())
}

pub async fn upload_usage(
    pool: &PgPool,
    user: UserId,
    since: Timestamp,
) -> Result<UploadUsage, StoreError> {
    let (bytes, oldest): (i64, Option<i64>) = sqlx::query_as(UPLOAD_USAGE)
        .bind(user.0)
        .bind(since.millis())
        .fetch_one(pool)
        .await
        .map_err(failure)?;
    Ok(UploadUsage {
        bytes,
        oldest: oldest.map(Timestamp),
    })
}

pub async fn readable_upload(
    pool: &PgPool,
    viewer: UserId,
    id: &UploadId,
    now: Timestamp,
) -> Result<Option<Upload>, StoreError> {
    let sql = format!(
        "SELECT {UPLOAD_COLUMNS} FROM uploads u WHERE u.id = $1 AND u.gone_at IS NULL AND ( \
         (u.uploader_id = $2 AND ((NOT u.attached AND u.created_at > $3) \
           OR EXISTS (SELECT 1 FROM message_attachments a WHERE a.upload_id = u.id))) \
         OR EXISTS (SELECT 1 FROM message_attachments a JOIN messages m ON m.id = a.message_id \
           WHERE a.upload_id = u.id AND {}))",
        visible_to("$2")
    );
    let row = sqlx::query(AssertSqlSafe(sql))
        .bind(id.as_str())
        .bind(viewer.0)
        .bind(now.millis() - WINDOW_MILLIS)
        .fetch_optional(pool)
        .await
        .map_err(failure)?;
    row.as_ref()
        .map(upload_from_row)
        .transpose()
        .map_err(failure)
}

/// Records that message `id` carries `uploads`, in order (checked by `attachable` once the
/// batch's conversations were locked).
pub async fn record_attachments(
    conn: &mut PgConnection,
    id: MessageId,
    uploads: &[UploadId],
) -> Result<(), StoreError> {
    for (position, upload) in uploads.iter().enumerate() {
        sqlx::query(ATTACH)
            .bind(id.0)
            .bind(position as i64)
            .bind(upload.as_str())
            .execute(&mut *conn)
            .await
            .map_err(failure)?;
        sqlx::query(MARK_ATTACHED)
            .bind(upload.as_str())
            .execute(&mut *conn)
            .await
            .map_err(failure)?;
    }
    Ok(())
}

/// Whether each of `uploads` is the sender's and a message may carry it (checked before the
/// batch draws ids, so a send with a bad one fails alone).
pub async fn attachable(
    conn: &mut PgConnection,
    sender: UserId,
    uploads: &[UploadId],
    at: Timestamp,
) -> Result<Result<(), StoreError>, StoreError> {
    for upload in uploads {
        let usable: i64 = sqlx::query_scalar(ATTACHABLE)
            .bind(upload.as_str())
            .bind(sender.0)
            .bind(at.millis() - WINDOW_MILLIS)
            .fetch_one(&mut *conn)
            .await
            .map_err(failure)?;
        if usable == 0 {
            return Ok(Err(invalid_attachment(upload)));
        }
    }
    Ok(Ok(()))
}

/// Fills in every message's `attachments`.
pub async fn attach(
    conn: &mut PgConnection,
    messages: &mut [&mut Message],
) -> Result<(), StoreError> {
    if messages.is_empty() {
        return Ok(());
    }
    let ids: Vec<i64> = messages.iter().map(|m| m.id.0).collect();
    let sql = format!(
        "SELECT a.message_id, {UPLOAD_COLUMNS} FROM message_attachments a JOIN uploads u ON u.id = a.upload_id \
         WHERE a.message_id = ANY($1) ORDER BY a.message_id, a.position"
    );
    let rows = sqlx::query(AssertSqlSafe(sql))
        .bind(&ids)
        .fetch_all(conn)
        .await
        .map_err(failure)?;
    let rows: Vec<(i64, Upload)> = rows
        .iter()
        .map(|row| Ok((row.try_get("message_id")?, upload_from_row(row)?)))
        .collect::<Result<_, sqlx::Error>>()
        .map_err(failure)?;
    set_attachments(messages, &rows);
    Ok(())
}

pub async fn sweep_uploads(
    pool: &PgPool,
    now: Timestamp,
    limit: u32,
) -> Result<Vec<UploadId>, StoreError> {
    sqlx::query(MARK_GONE)
        .bind(now.millis())
        .bind(now.millis() - WINDOW_MILLIS)
        .execute(pool)
        .await
        .map_err(failure)?;
    let ids: Vec<String> = sqlx::query_scalar(GONE_NOT_REMOVED)
        .bind(i64::from(limit))
        .fetch_all(pool)
        .await
        .map_err(failure)?;
    Ok(ids.into_iter().map(UploadId::from_trusted).collect())
}

pub async fn uploads_removed(
    pool: &PgPool,
    ids: &[UploadId],
    forget_before: Timestamp,
) -> Result<(), StoreError> {
    for id in ids {
        sqlx::query(MARK_REMOVED)
            .bind(id.as_str())
            .execute(pool)
            .await
            .map_err(failure)?;
    }
    sqlx::query(PURGE_REMOVED)
        .bind(forget_before.millis())
        .execute(pool)
        .await
        .map_err(failure)?;
    Ok(())
}

/// The uploads of `user` that are not gone, oldest first (for their export).
pub async fn user_uploads(pool: &PgPool, user: UserId) -> Result<Vec<Upload>, StoreError> {
    let sql = format!(
        "SELECT {UPLOAD_COLUMNS} FROM uploads u WHERE u.uploader_id = $1 AND u.gone_at IS NULL \
         ORDER BY u.created_at, u.id"
    );
    let rows = sqlx::query(AssertSqlSafe(sql))
        .bind(user.0)
        .fetch_all(pool)
        .await
        .map_err(failure)?;
    rows.iter()
        .map(upload_from_row)
        .collect::<Result<_, _>>()
        .map_err(failure)
}
