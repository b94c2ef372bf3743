//! Where upload bytes live: one interface (`object_store`) over the data directory by default,
//! or S3-compatible object storage (`--object-store-url s3://bucket/prefix`) that every node of
//! a cluster shares. Keys are an upload's id, plus `.thumb` for its thumbnail; every key of an
//! object store lies under its prefix.
//!
//! Files go in streamed from a temporary file (multipart for large ones) and come out streamed,
//! whole or as one byte range, so neither direction holds a whole file in memory.

use std::ops::Range;
use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;
use futures_util::stream::BoxStream;
use futures_util::{StreamExt, TryStreamExt};
use object_store::aws::AmazonS3Builder;
use object_store::buffered::BufWriter;
use object_store::local::LocalFileSystem;
use object_store::path::Path as Key;
use object_store::prefix::PrefixStore;
use object_store::{GetOptions, GetRange, ObjectStore, ObjectStoreExt, PutPayload};
use tokio::io::AsyncWriteExt;

/// Why storage failed.
#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    #[error("no such object")]
    NotFound,
    #[error("object storage: {0}")]
    Storage(String),
    #[error("bad object storage configuration: {0}")]
    Config(String),
}

impl From<object_store::Error> for BlobError {
    fn from(err: object_store::Error) -> Self {
        match err {
            object_store::Error::NotFound { .. } => BlobError::NotFound,
            other => BlobError::Storage(other.to_string()),
        }
    }
}

impl From<std::io::Error> for BlobError {
    fn from(err: std::io::Error) -> Self {
        BlobError::Storage(err.to_string())
    }
}

/// An object's bytes as they stream out, with the object's whole size and the range sent.
pub struct Download {
    pub size: u64,
    pub range: Range<u64>,
    pub body: BoxStream<'static, Result<Bytes, BlobError>>,
}

/// Upload bytes, wherever they are kept.
#[derive(Clone)]
pub struct Blobs {
    store: Arc<dyn ObjectStore>,
    /// Where they are, for `doctor` and the logs (never with credentials).
    pub place: String,
}

impl Blobs {
    /// Files under `dir` (created if missing).
    pub fn local(dir: &Path) -> Result<Blobs, BlobError> {
        std::fs::create_dir_all(dir)?;
        let store = LocalFileSystem::new_with_prefix(dir)?;
        Ok(Blobs {
            store: Arc::new(store),
            place: dir.display().to_string(),
        })
    }

    /// An S3-compatible bucket, `s3://bucket/prefix`: credentials, region and endpoint from the
    /// `AWS_*` environment variables; plain http allowed for a custom endpoint; path-style
    /// addressing.
    pub fn s3(url: &str) -> Result<Blobs, BlobError> {
        let rest = url
            .strip_prefix("s3://")
            .ok_or_else(|| BlobError::Config(format!("{url:?} is not s3://bucket/prefix")))?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Err(BlobError::Config(format!("{url:?} names no bucket")));
        }
        let mut builder = AmazonS3Builder::from_env()
            .with_bucket_name(bucket)
            .with_allow_http(true)
            .with_virtual_hosted_style_request(false);
        if let Ok(endpoint) = std::env::var("AWS_ENDPOINT_URL") {
            builder = builder.with_endpoint(endpoint);
        }
        if std::env::var("AWS_REGION").is_err() && std::env::var("AWS_DEFAULT_REGION").is_err() {
            builder = builder.with_region("us-east-1");
        }
        let s3 = builder
            .build()
            .map_err(|e| BlobError::Config(e.to_string()))?;
        let prefix = prefix.trim_matches('/');
        let store: Arc<dyn ObjectStore> = if prefix.is_empty() {
            Arc::new(s3)
        } else {
            Arc::new(PrefixStore::new(s3, prefix))
        };
        Ok(Blobs {
            store,
            place: format!("s3://{bucket}/{prefix}"),
        })
    }

    /// Stores the file at `path` under `key`, streamed.
    pub async fn put_file(&self, key: &str, path: &Path) -> Result<(), BlobError> {
        let mut file = tokio::fs::File::open(path).await?;
        let mut writer = BufWriter::new(self.store.clone(), Key::from(key));
        match tokio::io::copy(&mut file, &mut writer).await {
            Ok(_) => {}
            Err(err) => {
                let _ = writer.abort().await;
                return Err(err.into());
            }
        }
        writer.shutdown().await?;
        Ok(())
    }

    /// Stores `bytes` under `key`.
    pub async fn put_bytes(&self, key: &str, bytes: Bytes) -> Result<(), BlobError> {
        self.store
            .put(&Key::from(key), PutPayload::from_bytes(bytes))
            .await?;
        Ok(())
    }

    /// The object under `key`, whole or the byte `range` of it (which must lie inside it).
    pub async fn get(&self, key: &str, range: Option<Range<u64>>) -> Result<Download, BlobError> {
        let options = GetOptions {
            range: range.map(GetRange::Bounded),
            ..GetOptions::default()
        };
        let result = self.store.get_opts(&Key::from(key), options).await?;
        let size = result.meta.size;
        let range = result.range.clone();
        let body = result.into_stream().map_err(BlobError::from).boxed();
        Ok(Download { size, range, body })
    }

    /// Removes the object under `key`; one already gone is not an error.
    pub async fn delete(&self, key: &str) -> Result<(), BlobError> {
        match self.store.delete(&Key::from(key)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(err) => Err(err.into()),
        }
    }

    /// Whether the storage answers: a write, a read and a delete of a small probe object.
    pub async fn check(&self) -> Result<(), BlobError> {
        let key = format!(
            ".probe-{}",
            crate::domain::upload::UploadId::random().as_str()
        );
        self.put_bytes(&key, Bytes::from_static(b"ok")).await?;
        let read = self.get(&key, None).await?;
        let _ = read.body.collect::<Vec<_>>().await;
        self.delete(&key).await
    }
}
