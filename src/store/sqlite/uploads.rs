//! Uploads on SQLite: recording one, a user's usage inside the quota's window, whether a viewer
//! may download one (the access rule in the query), the sweep that marks uploads gone and
//! lists the bytes to remove, and the attachments each message of a page carries.

use rusqlite::{Connection, OptionalExtension, Row, params};

use super::other;
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

fn upload_from_row(row: &Row<'_>, at: usize) -> rusqlite::Result<Upload> {
    Ok(Upload {
        id: UploadId::from_trusted(row.get(at)?),
        filename: row.get(at + 1)?,
        content_type: row.get(at + 2)?,
        size: row.get(at + 3)?,
        sha256: row.get(at + 4)?,
        width: row.get(at + 5)?,
        height: row.get(at + 6)?,
        thumbnail: row.get(at + 7)?,
    })
}

pub fn create_upload(conn: &Connection, new: &NewUpload) -> Result<(), StoreError> {
    let u = &new.upload;
    conn.prepare_cached(INSERT_UPLOAD)
        .and_then(|mut s| {
            s.execute(params![
                u.id.as_str(),
                new.uploader.0,
                u.filename,
                u.content_type,
                u.size,
                u.sha256,
                u.width,
                u.height,
                u.thumbnail,
                new.at.millis()
            ])
        })
        .map_err(other)?;
    Ok(())
}

pub fn upload_usage(
    conn: &Connection,
    user: UserId,
    since: Timestamp,
) -> Result<UploadUsage, StoreError> {
    conn.prepare_cached(UPLOAD_USAGE)
        .and_then(|mut s| {
            s.query_row(params![user.0, since.millis()], |r| {
                Ok(UploadUsage {
                    bytes: r.get(0)?,
                    oldest: r.get::<_, Option<i64>>(1)?.map(Timestamp),
                })
            })
        })
        .map_err(other)
}

pub fn readable_upload(
    conn: &Connection,
    viewer: UserId,
    id: &UploadId,
    now: Timestamp,
) -> Result<Option<Upload>, StoreError> {
    let sql = format!(
        "SELECT {UPLOAD_COLUMNS} FROM uploads u WHERE u.id = ?1 AND u.gone_at IS NULL AND ( \
         (u.uploader_id = ?2 AND ((NOT u.attached AND u.created_at > ?3) \
           OR EXISTS (SELECT 1 FROM message_attachments a WHERE a.upload_id = u.id))) \
         OR EXISTS (SELECT 1 FROM message_attachments a JOIN messages m ON m.id = a.message_id \
           WHERE a.upload_id = u.id AND {}))",
        visible_to(2)
    );
    conn.prepare_cached(&sql)
        .and_then(|mut s| {
            s.query_row(
                params![id.as_str(), viewer.0, now.millis() - WINDOW_MILLIS],
                |r| upload_from_row(r, 0),
            )
            .optional()
        })
        .map_err(other)
}

/// Checks the send's attachments and records that message `id` carries them, in order.
pub fn attach_all(
    conn: &Connection,
    id: MessageId,
    sender: UserId,
    uploads: &[UploadId],
    at: Timestamp,
) -> Result<(), StoreError> {
    for (position, upload) in uploads.iter().enumerate() {
        let usable: i64 = conn
            .prepare_cached(ATTACHABLE)
            .and_then(|mut s| {
                s.query_row(
                    params![upload.as_str(), sender.0, at.millis() - WINDOW_MILLIS],
                    |r| r.get(0),
                )
            })
            .map_err(other)?;
        if usable == 0 {
            return Err(invalid_attachment(upload));
        }
        conn.prepare_cached(ATTACH)
            .and_then(|mut s| s.execute(params![id.0, position as i64, upload.as_str()]))
            .and_then(|_| conn.prepare_cached(MARK_ATTACHED))
            .and_then(|mut s| s.execute([upload.as_str()]))
            .map_err(other)?;
    }
    Ok(())
}

/// The ids of the uploads message `id` carries, in order.
pub fn carried(conn: &Connection, id: MessageId) -> Result<Vec<UploadId>, StoreError> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT upload_id FROM message_attachments WHERE message_id = ?1 ORDER BY position",
        )
        .map_err(other)?;
    stmt.query_map([id.0], |r| r.get(0).map(UploadId::from_trusted))
        .map_err(other)?
        .collect::<Result<_, _>>()
        .map_err(other)
}

/// Fills in every message's `attachments`.
pub fn attach(conn: &Connection, messages: &mut [&mut Message]) -> Result<(), StoreError> {
    if messages.is_empty() {
        return Ok(());
    }
    let ids: Vec<i64> = messages.iter().map(|m| m.id.0).collect();
    let list = serde_json::to_string(&ids).map_err(|e| StoreError::Other(e.to_string()))?;
    let sql = format!(
        "SELECT a.message_id, {UPLOAD_COLUMNS} FROM message_attachments a JOIN uploads u ON u.id = a.upload_id \
         WHERE a.message_id IN (SELECT value FROM json_each(?1)) ORDER BY a.message_id, a.position"
    );
    let mut stmt = conn.prepare_cached(&sql).map_err(other)?;
    let rows: Vec<(i64, Upload)> = stmt
        .query_map([list], |r| Ok((r.get(0)?, upload_from_row(r, 1)?)))
        .map_err(other)?
        .collect::<Result<_, _>>()
        .map_err(other)?;
    set_attachments(messages, &rows);
    Ok(())
}

pub fn sweep_uploads(
    conn: &Connection,
    now: Timestamp,
    limit: u32,
) -> Result<Vec<UploadId>, StoreError> {
    conn.prepare_cached(MARK_GONE)
        .and_then(|mut s| s.execute(params![now.millis(), now.millis() - WINDOW_MILLIS]))
        .map_err(other)?;
    let mut stmt = conn.prepare_cached(GONE_NOT_REMOVED).map_err(other)?;
    stmt.query_map([i64::from(limit)], |r| r.get(0).map(UploadId::from_trusted))
        .map_err(other)?
        .collect::<Result<_, _>>()
        .map_err(other)
}

pub fn uploads_removed(
    conn: &Connection,
    ids: &[UploadId],
    forget_before: Timestamp,
) -> Result<(), StoreError> {
    for id in ids {
        conn.prepare_cached(MARK_REMOVED)
            .and_then(|mut s| s.execute([id.as_str()]))
            .map_err(other)?;
    }
    conn.prepare_cached(PURGE_REMOVED)
        .and_then(|mut s| s.execute([forget_before.millis()]))
        .map_err(other)?;
    Ok(())
}

/// The uploads of `user` that are not gone, oldest first (for their export).
pub fn user_uploads(conn: &Connection, user: UserId) -> Result<Vec<Upload>, StoreError> {
    let sql = format!(
        "SELECT {UPLOAD_COLUMNS} FROM uploads u WHERE u.uploader_id = ?1 AND u.gone_at IS NULL \
         ORDER BY u.created_at, u.id"
    );
    let mut stmt = conn.prepare_cached(&sql).map_err(other)?;
    stmt.query_map([user.0], |r| upload_from_row(r, 0))
        .map_err(other)?
        .collect::<Result<_, _>>()
        .map_err(other)
}
