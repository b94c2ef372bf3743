//! Uploads: a file someone sent to the server to attach to messages, its id, the name it is
//! kept under, and how it may be served.
//!
//! An id is random (256 bits, URL-safe base64), never derived from the content and never
//! reused; anything that is not an id's shape names no upload. A filename is only ever a label:
//! the last path segment of what the client gave, without control characters, at most 255
//! characters. Only a short allowlist of media types is ever served inline; everything else is
//! a download of `application/octet-stream`, so no upload can run as a page of this origin.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::error::Error;

/// An upload's id: 22–64 of `[A-Za-z0-9_-]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct UploadId(String);

impl UploadId {
    /// A new random id: 32 random bytes, 43 characters.
    pub fn random() -> Self {
        let bytes: [u8; 32] = rand::random();
        UploadId(URL_SAFE_NO_PAD.encode(bytes))
    }

    /// An id as a client wrote it; anything else names no upload (`upload_not_found`).
    pub fn parse(raw: &str) -> Result<Self, Error> {
        let valid = (22..=64).contains(&raw.len())
            && raw
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        if valid {
            Ok(UploadId(raw.to_owned()))
        } else {
            Err(Error::UploadNotFound)
        }
    }

    /// Wraps an id read back from the store.
    pub fn from_trusted(stored: String) -> Self {
        UploadId(stored)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// How long an upload no message carries yet stays, and the quota's rolling window, in
/// milliseconds: 24 hours.
pub const WINDOW_MILLIS: i64 = 24 * 60 * 60 * 1000;

/// The most attachments one message carries.
pub const MAX_ATTACHMENTS: usize = 10;

/// The most characters a filename keeps.
pub const MAX_FILENAME_CHARS: usize = 255;

/// The name an upload is kept under, from what the client gave: cut at the last `/` or `\`,
/// without control characters; empty, `.` or `..` becomes `file`; over 255 characters it is cut
/// to 255, keeping the extension.
pub fn filename(raw: &str) -> String {
    let last = raw.rsplit(['/', '\\']).next().unwrap_or("");
    let clean: String = last.chars().filter(|c| !c.is_control()).collect();
    let clean = clean.trim();
    if clean.is_empty() || clean == "." || clean == ".." {
        return "file".to_owned();
    }
    let chars: Vec<char> = clean.chars().collect();
    if chars.len() <= MAX_FILENAME_CHARS {
        return clean.to_owned();
    }
    let extension: Vec<char> = match clean.rfind('.') {
        Some(dot) if clean.len() - dot <= 16 && dot > 0 => clean[dot..].chars().collect(),
        _ => Vec::new(),
    };
    let keep = MAX_FILENAME_CHARS - extension.len();
    chars[..keep].iter().chain(extension.iter()).collect()
}

/// An upload as its uploader sees it once stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Upload {
    #[schema(value_type = String)]
    pub id: UploadId,
    pub filename: String,
    /// Decided from the bytes, never from the name or the request's `Content-Type`.
    pub content_type: String,
    /// Of the stored bytes (after metadata removal and orientation).
    pub size: i64,
    /// Hex SHA-256 of the stored bytes.
    pub sha256: String,
    pub width: Option<i64>,
    pub height: Option<i64>,
    /// Whether a thumbnail is served.
    pub thumbnail: bool,
}

/// The media types served inline; everything else is served as a download.
pub const INLINE_TYPES: [&str; 10] = [
    "image/jpeg",
    "image/png",
    "image/gif",
    "image/webp",
    "video/mp4",
    "audio/mp4",
    "video/webm",
    "audio/mpeg",
    "audio/ogg",
    "audio/wav",
];

/// Whether `content_type` may be shown inline.
pub fn inline(content_type: &str) -> bool {
    INLINE_TYPES.contains(&content_type)
}

/// The `Content-Disposition` of a download of `filename` (RFC 6266): an ASCII fallback and the
/// UTF-8 name percent-encoded.
pub fn attachment_disposition(filename: &str) -> String {
    let fallback: String = filename
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let mut encoded = String::new();
    for byte in filename.bytes() {
        if byte.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&byte) {
            encoded.push(byte as char);
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    format!("attachment; filename=\"{fallback}\"; filename*=UTF-8''{encoded}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_random_and_only_their_shape_parses() {
        let a = UploadId::random();
        assert_eq!(a.as_str().len(), 43);
        assert_ne!(a, UploadId::random());
        assert!(UploadId::parse(a.as_str()).is_ok());
        for bad in [
            "short",
            "../../etc/passwd-aaaaaaaaaaaaaaa",
            &"a".repeat(65),
            "aaaaaaaaaaaaaaaaaaaaa!",
        ] {
            assert!(UploadId::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn filenames_are_a_last_segment_without_control_characters() {
        assert_eq!(filename("../../etc/passwd"), "passwd");
        assert_eq!(filename("C:\\Users\\me\\cv.pdf"), "cv.pdf");
        assert_eq!(filename("a\u{0}b\nc.txt"), "abc.txt");
        for empty in ["", ".", "..", "dir/", "  "] {
            assert_eq!(filename(empty), "file", "{empty:?}");
        }
        let long = format!("{}.pdf", "é".repeat(300));
        let kept = filename(&long);
        assert_eq!(kept.chars().count(), 255);
        assert!(kept.ends_with(".pdf"));
    }

    #[test]
    fn only_allowlisted_types_are_inline() {
        assert!(inline("image/png"));
        for no in [
            "image/svg+xml",
            "text/html",
            "application/pdf",
            "application/octet-stream",
        ] {
            assert!(!inline(no), "{no}");
        }
    }

    #[test]
    fn downloads_name_the_file_in_ascii_and_utf8() {
        assert_eq!(
            attachment_disposition("résumé \"v2\".pdf"),
            "attachment; filename=\"r_sum_ _v2_.pdf\"; filename*=UTF-8''r%C3%A9sum%C3%A9%20%22v2%22.pdf"
        );
    }
}
