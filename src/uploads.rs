//! Uploads: receiving a file (streamed to a scratch file, counted, hashed, its type sniffed from
//! its bytes, an image cleaned and given a thumbnail off the async threads), storing its bytes
//! and its row; opening one for a viewer the access rule admits; and the sweep that removes the
//! bytes no message may carry any more.

use std::path::{Path, PathBuf};
use std::time::Duration;

use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;

use crate::app::App;
use crate::blobs::{BlobError, Download};
use crate::domain::error::Error;
use crate::domain::time::Timestamp;
use crate::domain::upload::{Upload, UploadId, WINDOW_MILLIS, filename};
use crate::domain::{User, code};
use crate::media;
use crate::store::NewUpload;

/// How much of the start of a file is kept to sniff its type.
const SNIFF_BYTES: usize = 8192;

/// The key of an upload's thumbnail.
pub fn thumbnail_key(id: &UploadId) -> String {
    format!("{}.thumb", id.as_str())
}

fn storage(err: BlobError) -> Error {
    Error::Internal(anyhow::anyhow!("upload storage: {err}"))
}

/// Receives a file from `uploader`: refused before anything is read when `declared` (the
/// request's length) is over the limit or the quota, else streamed and stored.
pub async fn receive<S, E>(
    app: &App,
    uploader: &User,
    name: &str,
    declared: Option<u64>,
    body: S,
) -> Result<Upload, Error>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
    E: std::fmt::Display,
{
    let limit = app.settings.max_upload_bytes;
    if declared.is_some_and(|size| size > limit) {
        return Err(Error::UploadTooLarge(limit));
    }
    let now = Timestamp::now();
    check_quota(app, uploader, declared.unwrap_or(0), now).await?;
    let scratch = Scratch::create(&app.settings.upload_scratch).await?;
    let received = scratch.fill(body, limit).await?;
    if received.size == 0 {
        return Err(Error::invalid(code::EMPTY_UPLOAD, "the file is empty"));
    }
    check_quota(app, uploader, received.size, now).await?;

    let id = UploadId::random();
    let content_type = media::sniff(&received.head);
    let mut upload = Upload {
        id: id.clone(),
        filename: filename(name),
        content_type: content_type.clone(),
        size: received.size as i64,
        sha256: received.sha256,
        width: None,
        height: None,
        thumbnail: false,
    };
    match media::image_format(&content_type) {
        Some(format) => {
            let original = Bytes::from(tokio::fs::read(&scratch.path).await.map_err(internal)?);
            let max_pixels = app.settings.max_image_pixels;
            let _slot = app.image_slots.acquire().await.map_err(internal)?;
            let processed =
                tokio::task::spawn_blocking(move || media::process(original, format, max_pixels))
                    .await
                    .map_err(internal)?;
            upload.size = processed.bytes.len() as i64;
            upload.sha256 = sha256_hex(&processed.bytes);
            upload.width = processed.dimensions.map(|(w, _)| i64::from(w));
            upload.height = processed.dimensions.map(|(_, h)| i64::from(h));
            if let Some((thumbnail, _)) = processed.thumbnail {
                app.blobs
                    .put_bytes(&thumbnail_key(&id), thumbnail)
                    .await
                    .map_err(storage)?;
                upload.thumbnail = true;
            }
            app.blobs
                .put_bytes(id.as_str(), processed.bytes)
                .await
                .map_err(storage)?;
        }
        None => {
            if media::is_movie(&content_type) {
                upload.sha256 = erase_location(scratch.path.clone()).await?;
            }
            app.blobs
                .put_file(id.as_str(), &scratch.path)
                .await
                .map_err(storage)?
        }
    }
    app.store
        .create_upload(NewUpload {
            upload: upload.clone(),
            uploader: uploader.id,
            at: now,
        })
        .await?;
    Ok(upload)
}

/// Refuses an upload of `size` more bytes that would take `user` over the quota.
async fn check_quota(app: &App, user: &User, size: u64, now: Timestamp) -> Result<(), Error> {
    let quota = app.settings.upload_quota_bytes;
    let usage = app
        .store
        .upload_usage(user.id, Timestamp(now.millis() - WINDOW_MILLIS))
        .await?;
    if (usage.bytes.max(0) as u64).saturating_add(size) <= quota {
        return Ok(());
    }
    let frees_at = usage
        .oldest
        .map_or(now.millis(), |t| t.millis() + WINDOW_MILLIS);
    let wait = (frees_at - now.millis()).max(1000) as u64;
    Err(Error::UploadQuotaExceeded {
        quota,
        retry_after: Duration::from_millis(wait),
    })
}

/// The bytes of `upload` (as `describe` gave it to a viewer) or of its thumbnail, whole or the
/// byte `range` of them.
pub async fn open(
    app: &App,
    upload: &Upload,
    thumbnail: bool,
    range: Option<std::ops::Range<u64>>,
) -> Result<Download, Error> {
    let key = if thumbnail {
        if !upload.thumbnail {
            return Err(Error::ThumbnailNotFound);
        }
        thumbnail_key(&upload.id)
    } else {
        upload.id.as_str().to_owned()
    };
    app.blobs.get(&key, range).await.map_err(|err| match err {
        BlobError::NotFound if thumbnail => Error::ThumbnailNotFound,
        BlobError::NotFound => Error::UploadNotFound,
        other => storage(other),
    })
}

/// Upload `id` as `viewer` may see it; `upload_not_found` otherwise.
pub async fn describe(app: &App, viewer: &User, id: &UploadId) -> Result<Upload, Error> {
    app.store
        .readable_upload(viewer.id, id.clone(), Timestamp::now())
        .await?
        .ok_or(Error::UploadNotFound)
}

/// Removes scratch files left by uploads that a crash cut short (at start-up). Only files an
/// hour old go: another process sharing the directory may be receiving one now.
pub fn clear_scratch(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let stale = |entry: &std::fs::DirEntry| {
        entry
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|at| at.elapsed().ok())
            .is_some_and(|age| age > Duration::from_secs(3600))
    };
    for entry in entries.flatten() {
        if entry.file_name().to_string_lossy().starts_with("upload-") && stale(&entry) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// Removes the bytes of uploads no message may carry any more; returns how many went.
pub async fn sweep(app: &App) -> Result<usize, Error> {
    let now = Timestamp::now();
    let gone = app.store.sweep_uploads(now, 200).await?;
    let mut removed = Vec::with_capacity(gone.len());
    for id in gone {
        let both = app.blobs.delete(id.as_str()).await;
        let thumb = app.blobs.delete(&thumbnail_key(&id)).await;
        match both.and(thumb) {
            Ok(()) => removed.push(id),
            Err(err) => {
                tracing::warn!(error = %err, upload = id.as_str(), "could not remove an upload's bytes; will retry")
            }
        }
    }
    let count = removed.len();
    app.store
        .uploads_removed(removed, Timestamp(now.millis() - WINDOW_MILLIS))
        .await?;
    Ok(count)
}

/// Zeroes where a video was shot, in place (off the async threads); returns the file's new
/// SHA-256.
async fn erase_location(path: PathBuf) -> Result<String, Error> {
    tokio::task::spawn_blocking(move || -> std::io::Result<String> {
        use std::io::{Read, Seek, SeekFrom, Write};
        let mut file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(&path)?;
        media::location::erase(&mut file)?;
        file.flush()?;
        file.seek(SeekFrom::Start(0))?;
        let mut hasher = Sha256::new();
        let mut chunk = vec![0u8; 1 << 20];
        loop {
            let read = file.read(&mut chunk)?;
            if read == 0 {
                break;
            }
            hasher.update(&chunk[..read]);
        }
        Ok(hex(&hasher.finalize()))
    })
    .await
    .map_err(internal)?
    .map_err(internal)
}

fn internal(err: impl std::fmt::Display) -> Error {
    Error::Internal(anyhow::anyhow!("upload: {err}"))
}

/// The hex SHA-256 of `bytes`, as uploads and their ETags name them.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// What arrived of a file.
struct Received {
    size: u64,
    sha256: String,
    head: Vec<u8>,
}

/// A scratch file readable by the server only, removed when dropped.
struct Scratch {
    path: PathBuf,
}

impl Scratch {
    async fn create(dir: &Path) -> Result<Scratch, Error> {
        tokio::fs::create_dir_all(dir).await.map_err(internal)?;
        let path = dir.join(format!("upload-{}", UploadId::random().as_str()));
        Ok(Scratch { path })
    }

    /// Writes `body` into the file, refusing it (and keeping nothing) past `limit` bytes.
    async fn fill<S, E>(&self, mut body: S, limit: u64) -> Result<Received, Error>
    where
        S: Stream<Item = Result<Bytes, E>> + Unpin,
        E: std::fmt::Display,
    {
        let mut file = tokio::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&self.path)
            .await
            .map_err(internal)?;
        let mut hasher = Sha256::new();
        let mut size = 0u64;
        let mut head = Vec::new();
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(|e| {
                Error::invalid(
                    code::INVALID_REQUEST,
                    format!("the upload was cut short: {e}"),
                )
            })?;
            size += chunk.len() as u64;
            if size > limit {
                return Err(Error::UploadTooLarge(limit));
            }
            if head.len() < SNIFF_BYTES {
                let take = (SNIFF_BYTES - head.len()).min(chunk.len());
                head.extend_from_slice(&chunk[..take]);
            }
            hasher.update(&chunk);
            file.write_all(&chunk).await.map_err(internal)?;
        }
        file.flush().await.map_err(internal)?;
        Ok(Received {
            size,
            sha256: hex(&hasher.finalize()),
            head,
        })
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}
