//! `linkup bench uploads`: what attachments cost the server. Large files (random bytes, so
//! nothing is an image) are uploaded back to back, `--in-flight` at a time, for `--duration`:
//! megabytes per second stored. Then `--images` photos of `--image-side` pixels a side (JPEG)
//! are uploaded the same way, each cleaned and given a thumbnail before its 201: images per
//! second. With `--server-pid` (a server on this machine), the server's resident memory before,
//! at its peak while the large files stream, and after.

use std::io::Cursor;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::{Context, bail};
use bytes::Bytes;
use clap::Args;
use serde::Serialize;
use tokio::time::Instant;

use super::Target;
use super::connections::vm_rss_kib;
use super::report::{Table, Tabular, per_second};
use super::users;

#[derive(Debug, Clone, Args)]
pub struct UploadsArgs {
    /// Size of each large file, in MiB.
    #[arg(long, default_value_t = 8)]
    pub file_mib: usize,
    /// Uploads in flight at once.
    #[arg(long, default_value_t = 4)]
    pub in_flight: usize,
    /// Photos to upload after the large files (0: none).
    #[arg(long, default_value_t = 40)]
    pub images: usize,
    /// Each photo's width in pixels (its height is three quarters of it).
    #[arg(long, default_value_t = 2000)]
    pub image_side: u32,
}

#[derive(Debug, Clone, Serialize)]
pub struct UploadsReport {
    pub scenario: &'static str,
    pub url: String,
    pub file_mib: usize,
    pub files: u64,
    pub files_s: f64,
    pub mib_per_s: f64,
    pub images: usize,
    pub image_bytes: usize,
    pub images_s: f64,
    pub thumbnails_per_s: f64,
    pub server_rss_before_kib: Option<u64>,
    pub server_rss_peak_kib: Option<u64>,
    pub server_rss_after_kib: Option<u64>,
}

pub async fn run(target: &Target, args: &UploadsArgs) -> anyhow::Result<UploadsReport> {
    anyhow::ensure!(args.file_mib > 0, "--file-mib must be positive");
    let people = users::users(target, 1).await?;
    let token = people[0].token.clone();
    let rss_before = target.args.server_pid.and_then(vm_rss_kib);
    let peak = Arc::new(AtomicU64::new(rss_before.unwrap_or(0)));
    let watcher = target.args.server_pid.map(|pid| {
        let peak = peak.clone();
        tokio::spawn(async move {
            loop {
                if let Some(rss) = vm_rss_kib(pid) {
                    peak.fetch_max(rss, Ordering::Relaxed);
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        })
    });

    let file = Bytes::from(random_bytes(args.file_mib << 20));
    let started = Instant::now();
    let deadline = started + target.args.duration;
    let files = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for _ in 0..args.in_flight.max(1) {
        let (target_http, base, token, file, files) = (
            target.http.clone(),
            target.base.clone(),
            token.clone(),
            file.clone(),
            files.clone(),
        );
        tasks.push(tokio::spawn(async move {
            while Instant::now() < deadline {
                upload(&target_http, &base, &token, "data.bin", file.clone()).await?;
                files.fetch_add(1, Ordering::Relaxed);
            }
            anyhow::Ok(())
        }));
    }
    for task in tasks {
        task.await.context("an upload task")??;
    }
    let files_s = started.elapsed().as_secs_f64();
    if let Some(watcher) = watcher {
        watcher.abort();
    }
    let rss_peak = target.args.server_pid.map(|_| peak.load(Ordering::Relaxed));
    let files = files.load(Ordering::Relaxed);

    let photo = Bytes::from(photo(args.image_side)?);
    let image_started = Instant::now();
    let next = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for _ in 0..args.in_flight.max(1) {
        let (http, base, token, photo, next) = (
            target.http.clone(),
            target.base.clone(),
            token.clone(),
            photo.clone(),
            next.clone(),
        );
        let total = args.images as u64;
        tasks.push(tokio::spawn(async move {
            while next.fetch_add(1, Ordering::Relaxed) < total {
                let answer = upload(&http, &base, &token, "photo.jpg", photo.clone()).await?;
                if answer["thumbnail"] != true {
                    bail!("a photo came back without a thumbnail: {answer}");
                }
            }
            anyhow::Ok(())
        }));
    }
    for task in tasks {
        task.await.context("an image task")??;
    }
    let images_s = image_started.elapsed().as_secs_f64();
    Ok(UploadsReport {
        scenario: "uploads",
        url: target.base.clone(),
        file_mib: args.file_mib,
        files,
        files_s,
        mib_per_s: (files * args.file_mib as u64) as f64 / files_s.max(1e-9),
        images: args.images,
        image_bytes: photo.len(),
        images_s,
        thumbnails_per_s: per_second(args.images as u64, images_s),
        server_rss_before_kib: rss_before,
        server_rss_peak_kib: rss_peak,
        server_rss_after_kib: target.args.server_pid.and_then(vm_rss_kib),
    })
}

async fn upload(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    name: &str,
    bytes: Bytes,
) -> anyhow::Result<serde_json::Value> {
    let response = http
        .post(format!("{base}/api/uploads?filename={name}"))
        .bearer_auth(token)
        .body(bytes)
        .send()
        .await
        .context("POST /api/uploads")?;
    let status = response.status();
    let body: serde_json::Value = response.json().await.context("an upload's answer")?;
    if status.as_u16() != 201 {
        bail!("POST /api/uploads answered {status}: {body}");
    }
    Ok(body)
}

/// Bytes no sniffer takes for a known type (a cheap xorshift stream).
fn random_bytes(len: usize) -> Vec<u8> {
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut out = Vec::with_capacity(len);
    while out.len() < len {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        out.extend_from_slice(&state.to_le_bytes());
    }
    out.truncate(len);
    out
}

/// A photo-like JPEG of `side` × `side * 3 / 4` pixels (gradients, so it compresses as photos do).
fn photo(side: u32) -> anyhow::Result<Vec<u8>> {
    let height = (side * 3 / 4).max(1);
    let image = image::RgbImage::from_fn(side.max(1), height, |x, y| {
        image::Rgb([(x % 256) as u8, (y % 256) as u8, ((x ^ y) % 256) as u8])
    });
    let mut out = Vec::new();
    image::DynamicImage::ImageRgb8(image)
        .write_to(&mut Cursor::new(&mut out), image::ImageFormat::Jpeg)
        .context("encoding the bench's photo")?;
    Ok(out)
}

impl Tabular for UploadsReport {
    fn table(&self) -> Table {
        let mib =
            |v: Option<u64>| v.map_or("-".into(), |v| format!("{:.1} MiB", v as f64 / 1024.0));
        let mut t = Table::new(format!("linkup bench uploads — {}", self.url));
        t.row(
            "large files",
            format!(
                "{} × {} MiB in {:.1} s: {:.1} MiB/s",
                self.files, self.file_mib, self.files_s, self.mib_per_s
            ),
        )
        .row(
            "photos",
            format!(
                "{} × {} KiB in {:.1} s: {:.1} thumbnails/s",
                self.images,
                self.image_bytes / 1024,
                self.images_s,
                self.thumbnails_per_s
            ),
        )
        .row(
            "server memory",
            format!(
                "{} before, {} at the peak, {} after",
                mib(self.server_rss_before_kib),
                mib(self.server_rss_peak_kib),
                mib(self.server_rss_after_kib)
            ),
        );
        t
    }
}
