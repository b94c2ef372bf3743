//! Attachments end to end (PROTOCOL.md, "Attachments"): uploads streamed in with their type
//! read from the bytes, crafted and hostile files (script under an image's name, a photo with
//! GPS data and a rotation, a PNG that declares 400 megapixels, an empty body, one byte over
//! the limit, path-like names), the headers every download carries, byte ranges and ETags,
//! who may download (uploader, member, stranger, a member who cannot see the message), the
//! quota, attaching over HTTP and WebSocket, and the Forgetting rule: once no message carries an
//! upload it is gone for everyone, and its bytes leave storage.

use std::io::Cursor;
use std::time::Duration;

use image::{DynamicImage, ImageBuffer, ImageFormat, Rgb};
use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use serde_json::{Value, json};

use crate::support::{Client, TestApp, assert_error, eventually, id};

/// Uploads `bytes` as `filename`; returns the status, headers and JSON body.
async fn upload(client: &Client, filename: &str, bytes: Vec<u8>) -> (StatusCode, Value) {
    let mut request = client
        .http
        .post(format!(
            "{}/api/uploads?filename={}",
            client.base,
            escape(filename)
        ))
        .body(bytes);
    if let Some(token) = &client.bearer {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.expect("upload sent");
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// `raw` percent-encoded for a query string.
fn escape(raw: &str) -> String {
    raw.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

async fn uploaded(client: &Client, filename: &str, bytes: Vec<u8>) -> Value {
    let (status, body) = upload(client, filename, bytes).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body
}

/// GETs `path` with extra headers; returns status, headers and the raw body.
async fn fetch(
    client: &Client,
    path: &str,
    extra: &[(&str, &str)],
) -> (StatusCode, HeaderMap, Vec<u8>) {
    let mut request = client.http.get(format!("{}{path}", client.base));
    if let Some(token) = &client.bearer {
        request = request.bearer_auth(token);
    }
    for (name, value) in extra {
        request = request.header(*name, *value);
    }
    let response = request.send().await.expect("request sent");
    let status = response.status();
    let headers = response.headers().clone();
    (
        status,
        headers,
        response.bytes().await.expect("body").to_vec(),
    )
}

fn file_path(upload: &Value) -> String {
    format!("/api/uploads/{}", upload["id"].as_str().expect("id"))
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> &'a str {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// A JPEG of `width` × `height` with an EXIF segment saying Orientation 6 (turn 90° clockwise)
/// and carrying a made-up GPS position.
fn rotated_photo_with_gps(width: u32, height: u32) -> Vec<u8> {
    let image = DynamicImage::ImageRgb8(ImageBuffer::from_fn(width, height, |x, _| {
        Rgb([if x < width / 2 { 250 } else { 5 }, 90, 40])
    }));
    let mut jpeg = Vec::new();
    image
        .write_to(&mut Cursor::new(&mut jpeg), ImageFormat::Jpeg)
        .unwrap();
    // TIFF, big-endian: one IFD0 entry, Orientation (0x0112) = 6, then the GPS words.
    let mut exif =
        b"Exif\0\0MM\0\x2a\0\0\0\x08\0\x01\x01\x12\0\x03\0\0\0\x01\0\x06\0\0\0\0\0\0".to_vec();
    exif.extend_from_slice(b"GPSLatitude 48.8584N GPSLongitude 2.2945E");
    let mut segment = vec![0xFF, 0xE1];
    segment.extend_from_slice(&((exif.len() + 2) as u16).to_be_bytes());
    segment.extend_from_slice(&exif);
    // After SOI (FF D8), before everything else.
    let mut out = jpeg[..2].to_vec();
    out.extend_from_slice(&segment);
    out.extend_from_slice(&jpeg[2..]);
    out
}

fn png(width: u32, height: u32) -> Vec<u8> {
    let image =
        DynamicImage::ImageRgb8(ImageBuffer::from_pixel(width, height, Rgb([10, 120, 200])));
    let mut out = Vec::new();
    image
        .write_to(&mut Cursor::new(&mut out), ImageFormat::Png)
        .unwrap();
    out
}

/// A PNG whose header declares `side` × `side` pixels, with a few bytes of data after it.
fn png_declaring(side: u32) -> Vec<u8> {
    let mut header = png(1, 1);
    // IHDR's width and height sit at bytes 16..24, its CRC at 29..33 (over bytes 12..29).
    header[16..20].copy_from_slice(&side.to_be_bytes());
    header[20..24].copy_from_slice(&side.to_be_bytes());
    let crc = crc32(&header[12..29]);
    header[29..33].copy_from_slice(&crc.to_be_bytes());
    header
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for byte in bytes {
        crc ^= u32::from(*byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

#[tokio::test]
async fn a_file_is_typed_by_its_bytes_and_served_as_a_download() {
    let (_app, [alice]) = TestApp::with_token_users(["alice"]).await;
    let pdf = b"%PDF-1.7\n1 0 obj <<>> endobj\n%%EOF\n".to_vec();
    let cv = uploaded(&alice, "../../etc/Curriculum vitae.pdf", pdf.clone()).await;
    assert_eq!(cv["filename"], "Curriculum vitae.pdf");
    assert_eq!(cv["content_type"], "application/pdf");
    assert_eq!(cv["size"], pdf.len());
    assert_eq!(cv["id"].as_str().map(str::len), Some(43));
    assert_eq!(
        (cv["width"].clone(), cv["thumbnail"].clone()),
        (Value::Null, json!(false))
    );
    let (status, headers, body) = fetch(&alice, &file_path(&cv), &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, pdf);
    assert_eq!(header(&headers, "content-type"), "application/octet-stream");
    assert!(
        header(&headers, "content-disposition")
            .starts_with("attachment; filename=\"Curriculum vitae.pdf\"")
    );
    assert_eq!(
        header(&headers, "content-security-policy"),
        "sandbox; default-src 'none'"
    );
    assert_eq!(header(&headers, "x-content-type-options"), "nosniff");
    assert_eq!(header(&headers, "cache-control"), "private, no-cache");
    assert_eq!(
        header(&headers, "etag"),
        format!("\"{}\"", cv["sha256"].as_str().unwrap())
    );

    // Script under an image's name is never an image, and never inline.
    for (name, bytes) in [
        (
            "cat.png",
            b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>".to_vec(),
        ),
        (
            "cat.jpg",
            b"<!DOCTYPE html><html><script>alert(document.cookie)</script></html>".to_vec(),
        ),
    ] {
        let hostile = uploaded(&alice, name, bytes).await;
        assert!(
            !hostile["content_type"]
                .as_str()
                .unwrap()
                .starts_with("image/"),
            "{hostile}"
        );
        let (_, headers, _) = fetch(&alice, &file_path(&hostile), &[]).await;
        assert_eq!(
            header(&headers, "content-type"),
            "application/octet-stream",
            "{name}"
        );
        assert!(
            header(&headers, "content-disposition").starts_with("attachment"),
            "{name}"
        );
    }
    // Not an id's shape, or nobody's: the same 404.
    for path in [
        "/api/uploads/nope",
        "/api/uploads/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    ] {
        let (status, _, body) = fetch(&alice, path, &[]).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let body: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(body["error"]["code"], "upload_not_found");
    }
}

#[tokio::test]
async fn a_photo_loses_its_metadata_and_stands_upright() {
    let (_app, [alice]) = TestApp::with_token_users(["alice"]).await;
    let photo = uploaded(&alice, "IMG_0001.JPG", rotated_photo_with_gps(1200, 800)).await;
    assert_eq!(photo["content_type"], "image/jpeg");
    assert_eq!(
        (photo["width"].as_i64(), photo["height"].as_i64()),
        (Some(800), Some(1200))
    );
    assert_eq!(photo["thumbnail"], true);
    let (status, headers, body) = fetch(&alice, &file_path(&photo), &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(header(&headers, "content-type"), "image/jpeg");
    assert_eq!(header(&headers, "content-disposition"), "inline");
    assert!(!contains(&body, b"GPSLatitude") && !contains(&body, b"Exif\0\0"));
    assert_eq!(body.len() as i64, photo["size"].as_i64().unwrap());
    let stored = image::load_from_memory(&body).unwrap();
    assert_eq!((stored.width(), stored.height()), (800, 1200));

    let (status, headers, thumb) =
        fetch(&alice, &format!("{}/thumbnail", file_path(&photo)), &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(header(&headers, "content-type"), "image/jpeg");
    let thumb = image::load_from_memory(&thumb).unwrap();
    assert_eq!(thumb.height(), 320);
    assert!((213..=214).contains(&thumb.width()), "{}", thumb.width());

    let pdf = uploaded(&alice, "a.pdf", b"%PDF-1.4\n%%EOF\n".to_vec()).await;
    let (status, _, body) = fetch(&alice, &format!("{}/thumbnail", file_path(&pdf)), &[]).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(
        serde_json::from_slice::<Value>(&body).unwrap()["error"]["code"],
        "thumbnail_not_found"
    );
}

#[tokio::test]
async fn an_image_over_the_pixel_cap_is_never_decoded() {
    let (_app, [alice]) = TestApp::with_token_users(["alice"]).await;
    let bomb = uploaded(&alice, "bomb.png", png_declaring(20_000)).await;
    assert_eq!(bomb["content_type"], "image/png");
    assert_eq!(
        (bomb["width"].clone(), bomb["height"].clone()),
        (Value::Null, Value::Null)
    );
    assert_eq!(bomb["thumbnail"], false);
    let (_, headers, _) = fetch(&alice, &file_path(&bomb), &[]).await;
    assert_eq!(header(&headers, "content-type"), "application/octet-stream");
    assert!(header(&headers, "content-disposition").starts_with("attachment"));
}

#[tokio::test]
async fn sizes_are_limited_before_and_while_the_body_is_read() {
    let app = TestApp::spawn_with(|c| c.max_upload_bytes = 1000).await;
    let [alice] = app.token_users(["alice"]).await;
    let (status, body) = upload(&alice, "empty.txt", Vec::new()).await;
    assert_error(&(status, body), StatusCode::BAD_REQUEST, "empty_upload");
    let (status, body) = upload(&alice, "big.bin", vec![7; 1001]).await;
    assert_error(
        &(status, body),
        StatusCode::PAYLOAD_TOO_LARGE,
        "upload_too_large",
    );
    let exact = uploaded(&alice, "fits.bin", vec![7; 1000]).await;
    assert_eq!(exact["size"], 1000);
}

#[tokio::test]
async fn the_quota_counts_a_rolling_day_of_uploads() {
    let app = TestApp::spawn_with(|c| c.upload_quota_bytes = 2500).await;
    let [alice, bob] = app.token_users(["alice", "bob"]).await;
    uploaded(&alice, "one.bin", vec![1; 1200]).await;
    uploaded(&alice, "two.bin", vec![2; 1200]).await;
    let request = alice
        .http
        .post(format!("{}/api/uploads?filename=three.bin", alice.base))
        .bearer_auth(alice.bearer.as_deref().unwrap())
        .body(vec![3; 200]);
    let response = request.send().await.unwrap();
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        retry > 80_000,
        "the oldest upload leaves the window in about a day: {retry}"
    );
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "upload_quota_exceeded");
    uploaded(&bob, "bobs.bin", vec![4; 1200]).await;
}

#[tokio::test]
async fn ranges_and_etags() {
    let (_app, [alice]) = TestApp::with_token_users(["alice"]).await;
    let bytes: Vec<u8> = (0..=255u8).cycle().take(1000).collect();
    let file = uploaded(&alice, "data.bin", bytes.clone()).await;
    let path = file_path(&file);
    let (status, headers, body) = fetch(&alice, &path, &[("range", "bytes=10-19")]).await;
    assert_eq!(status, StatusCode::PARTIAL_CONTENT);
    assert_eq!(body, bytes[10..20]);
    assert_eq!(header(&headers, "content-range"), "bytes 10-19/1000");
    let (status, _, body) = fetch(&alice, &path, &[("range", "bytes=-5")]).await;
    assert_eq!(
        (status, body),
        (StatusCode::PARTIAL_CONTENT, bytes[995..].to_vec())
    );
    let (status, headers, body) = fetch(&alice, &path, &[("range", "bytes=1000-")]).await;
    assert_eq!(status, StatusCode::RANGE_NOT_SATISFIABLE);
    assert_eq!(header(&headers, "content-range"), "bytes */1000");
    assert_eq!(
        serde_json::from_slice::<Value>(&body).unwrap()["error"]["code"],
        "range_not_satisfiable"
    );
    let etag = format!("\"{}\"", file["sha256"].as_str().unwrap());
    let (status, _, body) = fetch(&alice, &path, &[("if-none-match", &etag)]).await;
    assert_eq!((status, body.len()), (StatusCode::NOT_MODIFIED, 0));
}

#[tokio::test]
async fn members_who_see_the_message_download_and_strangers_do_not() {
    let (app, [alice, bob, eve]) = TestApp::with_token_users(["alice", "bob", "eve"]).await;
    let photo = uploaded(&alice, "team.png", png(64, 48)).await;
    let path = file_path(&photo);
    assert_eq!(
        fetch(&bob, &path, &[]).await.0,
        StatusCode::NOT_FOUND,
        "not carried yet"
    );
    let (status, message) = alice
        .post(
            "/api/conversations/bob/messages",
            json!({"client_id": "p1", "body": "", "attachments": [photo["id"]]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{message}");
    assert_eq!(message["body"], "");
    assert_eq!(
        message["attachments"],
        json!([{"id": photo["id"], "filename": "team.png", "content_type": "image/png",
                "size": photo["size"], "width": 64, "height": 48, "thumbnail": true}])
    );
    assert_eq!(fetch(&bob, &path, &[]).await.0, StatusCode::OK);
    assert_eq!(
        fetch(&bob, &format!("{path}/thumbnail"), &[]).await.0,
        StatusCode::OK
    );
    assert_eq!(fetch(&eve, &path, &[]).await.0, StatusCode::NOT_FOUND);
    // Someone else's upload cannot be attached, nor can a made-up id or the same one twice.
    for attachments in [
        json!([photo["id"]]),
        json!(["AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"]),
    ] {
        let (status, body) = eve
            .post(
                "/api/conversations/alice/messages",
                json!({"client_id": "e1", "body": "x", "attachments": attachments}),
            )
            .await;
        assert_error(
            &(status, body),
            StatusCode::BAD_REQUEST,
            "invalid_attachment",
        );
    }
    for attachments in [
        json!([photo["id"], photo["id"]]),
        json!("x"),
        json!([1]),
        json!(vec!["AAAAAAAAAAAAAAAAAAAAAA"; 11]),
    ] {
        let (status, body) = alice
            .post(
                "/api/conversations/bob/messages",
                json!({"client_id": "a2", "body": "x", "attachments": attachments}),
            )
            .await;
        assert_error(
            &(status, body),
            StatusCode::BAD_REQUEST,
            "invalid_attachment",
        );
    }
    // A retry compares attachments; forwarding the same upload again is allowed.
    let (status, _) = alice
        .post(
            "/api/conversations/bob/messages",
            json!({"client_id": "p1", "body": "", "attachments": []}),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "no body and no attachments"
    );
    let (status, body) = alice
        .post(
            "/api/conversations/bob/messages",
            json!({"client_id": "p1", "body": "x", "attachments": [photo["id"]]}),
        )
        .await;
    assert_error(&(status, body), StatusCode::CONFLICT, "client_id_conflict");
    let (status, _) = alice
        .post(
            "/api/conversations/bob/messages",
            json!({"client_id": "p1", "body": "", "attachments": [photo["id"]]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let group = alice.create_group_ok("Team", &["bob"]).await;
    let (status, forwarded) = alice
        .post(
            &format!("/api/groups/{group}/messages"),
            json!({"client_id": "f1", "body": "fyi", "attachments": [photo["id"]]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{forwarded}");

    // Over the socket too.
    let mut socket = app.socket(&alice, "/ws/chat/bob/").await;
    socket
        .send_json(json!({"type": "send", "client_id": "w1", "body": "again", "attachments": [photo["id"]]}))
        .await;
    let ack = socket.next_of("ack").await;
    assert_eq!(ack["message"]["attachments"][0]["id"], photo["id"]);
    let _ = id(&ack["message"]);
}

#[tokio::test]
async fn once_no_message_carries_an_upload_it_is_gone_for_everyone() {
    let (app, [alice, bob]) = TestApp::with_token_users(["alice", "bob"]).await;
    let secret = b"%PDF-1.4\nthe-contract-nobody-must-keep-9081\n%%EOF\n".to_vec();
    let file = uploaded(&alice, "contract.pdf", secret.clone()).await;
    let path = file_path(&file);
    let (_, message) = alice
        .post(
            "/api/conversations/bob/messages",
            json!({"client_id": "c1", "body": "signed", "attachments": [file["id"]]}),
        )
        .await;
    assert_eq!(fetch(&bob, &path, &[]).await.0, StatusCode::OK);
    let tombstone = alice
        .delete(&format!("/api/messages/{}", id(&message)))
        .await
        .1;
    assert_eq!(tombstone["attachments"], json!([]));
    for client in [&alice, &bob] {
        assert_eq!(
            fetch(client, &path, &[]).await.0,
            StatusCode::NOT_FOUND,
            "gone at once"
        );
    }
    let (status, body) = alice
        .post(
            "/api/conversations/bob/messages",
            json!({"client_id": "c2", "body": "again", "attachments": [file["id"]]}),
        )
        .await;
    assert_error(
        &(status, body),
        StatusCode::BAD_REQUEST,
        "invalid_attachment",
    );

    // Its bytes leave storage within 30 seconds.
    let dir = app
        .server
        .state()
        .settings
        .upload_scratch
        .with_file_name("uploads");
    let holds_secret = move || {
        std::fs::read_dir(&dir)
            .into_iter()
            .flatten()
            .flatten()
            .any(|entry| {
                std::fs::read(entry.path())
                    .is_ok_and(|bytes| contains(&bytes, b"the-contract-nobody"))
            })
    };
    eventually(
        Duration::from_secs(30),
        "the upload's bytes to be removed",
        || !holds_secret(),
    )
    .await;
}

fn boxed(kind: &[u8; 4], payload: &[u8]) -> Vec<u8> {
    let mut out = ((payload.len() + 8) as u32).to_be_bytes().to_vec();
    out.extend_from_slice(kind);
    out.extend_from_slice(payload);
    out
}

#[tokio::test]
async fn a_video_loses_where_it_was_shot() {
    let (_app, [alice]) = TestApp::with_token_users(["alice"]).await;
    let xyz = boxed(b"\xa9xyz", b"\x00\x12\x15\xc7+48.8584+002.2945/");
    let moov = boxed(
        b"moov",
        &[boxed(b"mvhd", &[0; 100]), boxed(b"udta", &xyz)].concat(),
    );
    let video = [
        boxed(b"ftyp", b"isom\0\0\x02\0isomiso2mp41"),
        boxed(b"mdat", &[9; 64]),
        moov,
    ]
    .concat();
    let clip = uploaded(&alice, "clip.mp4", video.clone()).await;
    assert_eq!(clip["content_type"], "video/mp4");
    assert_eq!(clip["size"], video.len());
    let (_, headers, body) = fetch(&alice, &file_path(&clip), &[]).await;
    assert_eq!(header(&headers, "content-type"), "video/mp4");
    assert_eq!(body.len(), video.len(), "nothing moves in the file");
    assert!(!contains(&body, b"+48.8584"), "the location is gone");
    assert!(contains(&body, &[9; 64]), "the media is untouched");
    let sha: String = {
        use sha2::{Digest, Sha256};
        Sha256::digest(&body)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    };
    assert_eq!(clip["sha256"], sha, "the hash is of the bytes served");
}
