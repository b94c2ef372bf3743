//! What every fuzz target runs, once per input: the parsers the server runs on what clients send,
//! called through the library's public entry points exactly as the server calls them, with the
//! invariants each must keep. Nothing here may panic on any input but a broken invariant.
//!
//! The fuzz targets (`fuzz_targets/*.rs`) are one line each around these functions, and
//! `tests/fuzz_corpus.rs` at the root runs every kept corpus file and crash artifact through
//! the same functions in `cargo test` (it includes this file as a module), so a crash found
//! once stays fixed.

use std::io::Cursor;

use axum::body::Body;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::{HeaderValue, Method, StatusCode, Uri, header};
use axum::response::IntoResponse;
use bytes::Bytes;
use futures_util::FutureExt;
use serde::de::DeserializeOwned;
use serde_json::Value;

use linkup::domain::MessageStatus;
use linkup::domain::code;
use linkup::domain::error::Error;
use linkup::domain::group::{Description, Role, Settings, SettingsPatch, Title};
use linkup::domain::ids::ConversationId;
use linkup::domain::input::{
    self, Body as MessageBody, ClientId, DisplayName, NamePrefix, Password, Username,
};
use linkup::domain::reaction::Emoji;
use linkup::domain::upload::{self, MAX_ATTACHMENTS, MAX_FILENAME_CHARS, UploadId};
use linkup::media;
use linkup::messages::{Draft, Target};
use linkup::web::error::ApiError;
use linkup::web::extract::{ApiJson, ApiQuery};
use linkup::ws::frames::{self, ClientFrame};

/// The server's default `--max-body-chars`.
const MAX_BODY_CHARS: usize = 4096;
/// A small body limit too, so that `body_too_long` is reached by short inputs.
const SMALL_BODY_CHARS: usize = 8;
/// The pixel cap images are processed under here: small, so a fuzz run decodes many inputs a
/// second (the server's default is 40 million).
pub const MAX_PIXELS: u64 = 1 << 16;

/// What a target runs on one input.
pub type Entry = fn(&[u8]);

/// The name of every target, as `fuzz/Cargo.toml` and `fuzz/corpus/<name>/` spell it, with
/// its function.
pub const TARGETS: [(&str, Entry); 6] = [
    ("ws_frame", ws_frame),
    ("input", input),
    ("web_request", web_request),
    ("upload_image", upload_image),
    ("gif_clean", gif_clean),
    ("mp4_location", mp4_location),
];

/// A WebSocket text frame, as `ws::connection::inbound` handles it: parsed into a client frame
/// (or an error frame echoing the `client_id`), then a `send` composed into a draft, a
/// `receipt` checked, a `typing` frame's target named. The frame a socket answers with is JSON.
pub fn ws_frame(data: &[u8]) {
    // A text frame is UTF-8: the socket refuses anything else before it is parsed.
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match frames::parse(text) {
        Ok(frame) => {
            assert!(text.trim_start().starts_with('{'), "a frame is an object");
            match frame {
                ClientFrame::Send {
                    client_id,
                    body,
                    to,
                    conversation_id,
                    reply_to,
                    attachments,
                } => {
                    for max in [MAX_BODY_CHARS, SMALL_BODY_CHARS] {
                        let target = || target(to.clone(), conversation_id);
                        let draft = Draft::compose(
                            target,
                            &client_id,
                            &body,
                            reply_to.as_ref(),
                            attachments.as_ref(),
                            max,
                        );
                        match draft {
                            Ok(draft) => {
                                assert_eq!(draft.client_id.as_str(), client_id);
                                assert!(draft.attachments.len() <= MAX_ATTACHMENTS);
                                assert!(draft.body.as_str().chars().count() <= max);
                                assert!(!draft.body.is_empty() || !draft.attachments.is_empty());
                                assert!(draft.reply_to.is_none_or(|id| id.0 > 0));
                            }
                            Err(error) => error_frame(&error, Some(&client_id)),
                        }
                    }
                }
                ClientFrame::Receipt {
                    status,
                    message_ids,
                } => {
                    if let Err(error) = MessageStatus::parse_target(&status) {
                        error_frame(&error, None);
                    }
                    match input::message_ids(&message_ids) {
                        Ok(ids) => {
                            assert_eq!(ids.len(), message_ids.len());
                            assert!(ids.iter().all(|id| id.0 > 0));
                        }
                        Err(error) => error_frame(&error, None),
                    }
                }
                ClientFrame::Typing {
                    to,
                    conversation_id,
                    ..
                } => {
                    if let Err(error) = target(to, conversation_id) {
                        error_frame(&error, None);
                    }
                }
                ClientFrame::Ping => {}
            }
        }
        Err(bad) => {
            assert!(
                [code::INVALID_JSON, code::INVALID_FRAME, code::UNKNOWN_TYPE]
                    .contains(&bad.error.code()),
                "{:?}",
                bad.error
            );
            error_frame(&bad.error, bad.client_id.as_deref());
        }
    }
}

/// Where a frame goes on `/ws/notifications/`: `to` or `conversation_id`, not both.
fn target(to: Option<String>, conversation_id: Option<i64>) -> Result<Target, Error> {
    match (to, conversation_id) {
        (Some(_), Some(_)) | (None, None) => Err(Error::invalid(code::INVALID_FRAME, "fuzz")),
        (Some(to), None) => Ok(Target::User(input::named_user(&to)?)),
        (None, Some(id)) => Ok(Target::Conversation(ConversationId(
            input::message_id(id, "conversation_id")?.0,
        ))),
    }
}

/// The error frame a socket sends for `error`: a JSON object naming its code and echoing the
/// `client_id`.
fn error_frame(error: &Error, client_id: Option<&str>) {
    let text = frames::error_text(error, client_id);
    let frame: Value = serde_json::from_str(&text).expect("an error frame is JSON");
    assert_eq!(frame["type"], "error", "{text}");
    assert_eq!(frame["code"], error.code(), "{text}");
    assert_eq!(frame["client_id"].as_str(), client_id, "{text}");
}

/// One piece of client text (a path segment, a query value, a JSON string) through every
/// parser of `domain::input` and the other domain types' `parse`, each keeping its promise: what
/// parses, parses again to itself.
pub fn input(data: &[u8]) {
    let Ok(raw) = std::str::from_utf8(data) else {
        return;
    };
    match Username::parse(raw) {
        Ok(name) => {
            assert_eq!(name.as_str(), raw.to_ascii_lowercase());
            assert!((3..=32).contains(&name.as_str().len()));
            assert_eq!(Username::parse(name.as_str()).ok(), Some(name.clone()));
            assert_eq!(input::named_user(raw).ok(), Some(name));
        }
        Err(error) => {
            assert_eq!(error.code(), code::INVALID_USERNAME);
            let unknown = input::named_user(raw).expect_err("not a username");
            assert_eq!(unknown.code(), code::USER_NOT_FOUND);
        }
    }
    if let Ok(id) = ClientId::parse(raw) {
        assert_eq!(id.as_str(), raw);
        assert_eq!(id.to_string(), raw);
    }
    for max in [MAX_BODY_CHARS, SMALL_BODY_CHARS] {
        match MessageBody::parse(raw, max) {
            Ok(body) => {
                assert_eq!(body.as_str(), raw.trim());
                assert!(!body.is_empty() && body.as_str().chars().count() <= max);
                assert!(!body.as_str().contains('\0'));
                assert_eq!(MessageBody::parse(body.as_str(), max).ok(), Some(body));
            }
            Err(error) => assert!(
                [code::INVALID_BODY, code::BODY_TOO_LONG].contains(&error.code()),
                "{error:?}"
            ),
        }
        if let Ok(caption) = MessageBody::parse_caption(raw, max) {
            assert_eq!(caption.as_str(), raw.trim());
        }
    }
    if let Ok(prefix) = NamePrefix::parse(raw)
        && let Some(prefix) = prefix.as_str()
    {
        assert!(prefix.len() <= 32);
        assert_eq!(
            NamePrefix::parse(prefix)
                .ok()
                .as_ref()
                .and_then(NamePrefix::as_str),
            Some(prefix)
        );
    }
    if let Ok(name) = DisplayName::parse(raw) {
        let name = name.into_inner();
        let again = DisplayName::parse(&name).expect("a display name parses again");
        assert_eq!(again.into_inner(), name);
    }
    let _ = Password::parse(raw.to_owned());
    // Ids, cursors and page sizes: plain decimal digits (leading zeros allowed), the number
    // they write.
    let digits = !raw.is_empty() && raw.bytes().all(|b| b.is_ascii_digit());
    for n in [
        input::before_id(raw).map(|id| id.0),
        input::after_id(raw).map(|id| id.0),
        input::since(raw).map(|cursor| cursor.0),
        input::path_message_id(raw).map(|id| id.0),
        input::path_conversation_id(raw).map(|id| id.0),
    ]
    .into_iter()
    .flatten()
    {
        assert!(n >= 0 && digits);
        assert_eq!(raw.parse::<i64>().ok(), Some(n));
    }
    if let Ok(limit) = input::limit(raw, 200) {
        assert!((1..=200).contains(&limit) && digits);
        assert_eq!(raw.parse::<u32>().ok(), Some(limit));
    }
    let size = input::page_size(Some(raw), 50, 200);
    assert_eq!(size.ok(), input::limit(raw, 200).ok());
    if let Ok(emoji) = Emoji::parse(raw) {
        assert_eq!(Emoji::parse(emoji.as_str()).ok(), Some(emoji));
    }
    if let Ok(title) = Title::parse(raw) {
        assert_eq!(title.as_str(), raw.trim());
        assert_eq!(Title::parse(title.as_str()).ok(), Some(title));
    }
    if let Ok(description) = Description::parse(raw) {
        assert_eq!(description.as_str(), raw.trim());
        assert_eq!(
            Description::parse(description.as_str()).ok(),
            Some(description)
        );
    }
    if let Ok(role) = Role::parse_assignable(raw) {
        assert_eq!(role.as_str(), raw);
    }
    if let Ok(status) = MessageStatus::parse_target(raw) {
        assert_eq!(serde_json::to_value(status).ok(), Some(Value::from(raw)));
    }
    if let Ok(id) = UploadId::parse(raw) {
        assert_eq!(id.as_str(), raw);
    }
    // A filename is a label: one segment, no control characters, at most 255 characters,
    // and what a download names it is a valid header value.
    let name = upload::filename(raw);
    assert!(!name.is_empty());
    assert!(name.chars().count() <= MAX_FILENAME_CHARS, "{name:?}");
    assert!(!name.contains(['/', '\\']) && !name.chars().any(char::is_control));
    assert!(name != "." && name != "..");
    let disposition = upload::attachment_disposition(&name);
    assert!(
        HeaderValue::from_str(&disposition).is_ok(),
        "{disposition:?}"
    );
}

/// A request's JSON body or query string through the web layer's extractors (`ApiJson`,
/// `ApiQuery`) into each body and query type, and a JSON value through the parsers that take
/// one (settings, attachments, `reply_to`). The first byte chooses; a refusal is a 4xx.
pub fn web_request(data: &[u8]) {
    use linkup::web::{accounts, conversations, edits, groups, receipts, sync, uploads};
    let Some((&choice, rest)) = data.split_first() else {
        return;
    };
    match choice % 18 {
        0 => body::<accounts::SignupBody>(rest),
        1 => body::<accounts::LoginBody>(rest),
        2 => body::<conversations::SendBody>(rest),
        3 => body::<conversations::ReadBody>(rest),
        4 => body::<edits::EditBody>(rest),
        5 => body::<edits::ReactionBody>(rest),
        6 => body::<groups::CreateGroupBody>(rest),
        7 => body::<groups::UpdateGroupBody>(rest),
        8 => body::<groups::AddMembersBody>(rest),
        9 => body::<groups::RoleBody>(rest),
        10 => body::<receipts::StatusBody>(rest),
        11 => query::<accounts::SearchQuery>(rest),
        12 => query::<conversations::HistoryQuery>(rest),
        13 => query::<conversations::ConversationSyncQuery>(rest),
        14 => query::<sync::SyncQuery>(rest),
        15 => query::<uploads::UploadQuery>(rest),
        _ => json_value(rest),
    }
}

/// `ApiJson<T>` on a POST with `rest` as its JSON body.
fn body<T: DeserializeOwned>(rest: &[u8]) {
    let request = Request::builder()
        .method(Method::POST)
        .uri("/api/fuzz")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(rest.to_vec()))
        .expect("a request");
    let extracted = ApiJson::<T>::from_request(request, &())
        .now_or_never()
        .expect("an in-memory body is read at once");
    if let Err(error) = extracted {
        assert!(
            serde_json::from_slice::<T>(rest).is_err()
                || !rest.trim_ascii_start().starts_with(b"{"),
            "ApiJson refused a body serde reads as an object"
        );
        refused(error);
    }
}

/// `ApiQuery<T>` on a GET whose query string is `rest` (bytes a URI cannot hold
/// percent-encoded).
fn query<T: DeserializeOwned>(rest: &[u8]) {
    let mut uri = String::from("/api/fuzz?");
    for &b in rest {
        if b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@/?%".contains(&b) {
            uri.push(b as char);
        } else {
            uri.push_str(&format!("%{b:02X}"));
        }
    }
    let Ok(uri) = uri.parse::<Uri>() else {
        return;
    };
    let request = Request::builder()
        .uri(uri)
        .body(Body::empty())
        .expect("a request");
    let (mut parts, _) = request.into_parts();
    let extracted = ApiQuery::<T>::from_request_parts(&mut parts, &())
        .now_or_never()
        .expect("a query is read at once");
    if let Err(error) = extracted {
        refused(error);
    }
}

/// A refusal is a client error with a JSON body naming its code.
fn refused(error: ApiError) {
    let response = error.into_response();
    let status = response.status();
    assert!(status.is_client_error(), "{status}");
    assert_ne!(status, StatusCode::NOT_FOUND);
}

/// A JSON value through `SettingsPatch::parse`, `input::attachments` and `input::reply_to`.
fn json_value(rest: &[u8]) {
    let Ok(value) = serde_json::from_slice::<Value>(rest) else {
        return;
    };
    match SettingsPatch::parse(&value) {
        Ok(patch) => {
            let settings = patch.applied_to(Settings::default());
            let changes = patch.changes(Settings::default());
            assert_eq!(changes.is_empty(), settings == Settings::default());
            assert!(
                patch.changes(settings).is_empty(),
                "a patch applied changes nothing"
            );
        }
        Err(error) => assert_eq!(error.code(), code::INVALID_SETTINGS),
    }
    match input::attachments(Some(&value)) {
        Ok(ids) => {
            assert!(ids.len() <= MAX_ATTACHMENTS);
            for (i, id) in ids.iter().enumerate() {
                assert!(!ids[..i].contains(id), "distinct");
            }
        }
        Err(error) => assert_eq!(error.code(), code::INVALID_ATTACHMENT),
    }
    match input::reply_to(Some(&value)) {
        Ok(id) => assert!(id.is_none_or(|id| id.0 > 0)),
        Err(error) => assert_eq!(error.code(), code::INVALID_REPLY_TO),
    }
}

/// An uploaded file as `uploads` receives it: typed from its bytes, and an image among the
/// types processed cleaned, measured and, within the pixel cap, decoded and given a thumbnail.
pub fn upload_image(data: &[u8]) {
    let content_type = media::sniff(data);
    let Some(format) = media::image_format(&content_type) else {
        return;
    };
    let done = media::process(Bytes::copy_from_slice(data), format, MAX_PIXELS);
    if let Some((width, height)) = done.dimensions {
        assert!(u64::from(width) * u64::from(height) <= MAX_PIXELS);
        // What was decoded is stored in its own format.
        assert_eq!(media::sniff(&done.bytes), content_type);
    } else {
        assert!(
            done.thumbnail.is_none(),
            "a thumbnail only of a decoded image"
        );
    }
    if let Some((thumbnail, kind)) = &done.thumbnail {
        assert_eq!(media::sniff(thumbnail), *kind);
    }
}

/// A GIF read block by block: what is kept is still a GIF, ends with its trailer, is no longer
/// than what came, and is already clean.
pub fn gif_clean(data: &[u8]) {
    let Some(cleaned) = media::gif::clean(data) else {
        return;
    };
    assert_eq!(cleaned.bytes[..6], data[..6]);
    assert_eq!(cleaned.bytes.last(), Some(&0x3B));
    assert!(cleaned.bytes.len() <= data.len());
    assert_eq!(media::sniff(&cleaned.bytes), "image/gif");
    let (width, height) = cleaned.extent;
    assert!(width <= 2 * u32::from(u16::MAX) && height <= 2 * u32::from(u16::MAX));
    let again = media::gif::clean(&cleaned.bytes).expect("a cleaned GIF is read again");
    assert_eq!(again, cleaned, "cleaning is done once");
}

/// A video's locations zeroed in place: nothing moves, only zeros are written, and a second
/// pass finds the same boxes and changes nothing.
pub fn mp4_location(data: &[u8]) {
    let mut file = Cursor::new(data.to_vec());
    let found = media::location::erase(&mut file).expect("a file in memory is read");
    let erased = file.into_inner();
    assert_eq!(erased.len(), data.len(), "nothing moves");
    assert!(
        erased
            .iter()
            .zip(data)
            .all(|(after, before)| after == before || *after == 0),
        "only zeros are written"
    );
    let mut again = Cursor::new(erased.clone());
    assert_eq!(media::location::erase(&mut again).ok(), Some(found));
    assert_eq!(again.into_inner(), erased, "a second pass changes nothing");
}
