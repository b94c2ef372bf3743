//! Uploads over HTTP: `POST /api/uploads?filename=NAME` (the raw file as the body, streamed;
//! exempt from the JSON rule and the request size limit) and `GET`/`HEAD
//! /api/uploads/{id}[/thumbnail]` with the headers that keep a file from ever running as a page
//! of this origin: inline only for the allowlisted media types, a sandboxing CSP, `nosniff`,
//! private caching by ETag, and one byte range at a time.

use std::ops::Range;

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use serde::Deserialize;

use super::error::ApiError;
use super::extract::{ApiPath, ApiQuery};
use crate::app::AppState;
use crate::auth::Caller;
use crate::domain::upload::{Upload, UploadId, attachment_disposition, inline};
use crate::domain::{Error, code};
use crate::uploads;

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UploadQuery {
    /// The file's name, a label only (cut at the last `/` or `\`, without control characters).
    filename: Option<String>,
}

/// Receives a file, streamed: 201 with the upload.
#[utoipa::path(post, path = "/api/uploads", tag = "uploads", params(UploadQuery),
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses((status = 201, body = Upload),
              (status = 400, description = "`empty_upload`"),
              (status = 413, description = "`upload_too_large`"),
              (status = 429, description = "`upload_quota_exceeded`")))]
pub async fn upload(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<UploadQuery>,
    headers: HeaderMap,
    body: Body,
) -> Result<(StatusCode, Json<Upload>), ApiError> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let name = query.filename.unwrap_or_default();
    let stream = body.into_data_stream();
    let upload = uploads::receive(&state, &caller.user, &name, declared, stream).await?;
    Ok((StatusCode::CREATED, Json(upload)))
}

/// The file, to its uploader and to members who can see a message carrying it.
#[utoipa::path(get, path = "/api/uploads/{id}", tag = "uploads",
    params(("id" = String, Path, description = "an upload id")),
    responses((status = 200, content_type = "application/octet-stream"), (status = 206), (status = 304),
              (status = 404, description = "`upload_not_found`"),
              (status = 416, description = "`range_not_satisfiable`")))]
pub async fn download(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let id = UploadId::parse(&id)?;
    let upload = uploads::describe(&state, &caller.user, &id).await?;
    let etag = format!("\"{}\"", upload.sha256);
    if matches_etag(&headers, &etag) {
        return Ok(not_modified(&etag));
    }
    let size = upload.size.max(0) as u64;
    let range = match requested_range(&headers, size) {
        Ok(range) => range,
        Err(()) => return Ok(unsatisfiable(size)),
    };
    let download = uploads::open(&state, &upload, false, range.clone()).await?;
    let mut response = Response::new(Body::from_stream(download.body));
    let headers = response.headers_mut();
    describe_file(headers, &upload, &etag);
    match range {
        Some(range) => {
            *response.status_mut() = StatusCode::PARTIAL_CONTENT;
            let headers = response.headers_mut();
            set(
                headers,
                header::CONTENT_LENGTH,
                &(range.end - range.start).to_string(),
            );
            set(
                headers,
                header::CONTENT_RANGE,
                &format!("bytes {}-{}/{size}", range.start, range.end - 1),
            );
        }
        None => set(
            response.headers_mut(),
            header::CONTENT_LENGTH,
            &size.to_string(),
        ),
    }
    Ok(response)
}

/// The image's thumbnail (JPEG, or PNG for an image with transparency).
#[utoipa::path(get, path = "/api/uploads/{id}/thumbnail", tag = "uploads",
    params(("id" = String, Path, description = "an upload id")),
    responses((status = 200, content_type = "image/jpeg"), (status = 304),
              (status = 404, description = "`upload_not_found`, `thumbnail_not_found`")))]
pub async fn thumbnail(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let id = UploadId::parse(&id)?;
    let upload = uploads::describe(&state, &caller.user, &id).await?;
    let download = uploads::open(&state, &upload, true, None).await?;
    let chunks: Vec<_> = download.body.collect().await;
    let mut bytes = Vec::with_capacity(download.size as usize);
    for chunk in chunks {
        let chunk = chunk.map_err(|e| Error::Internal(anyhow::anyhow!("thumbnail: {e}")))?;
        bytes.extend_from_slice(&chunk);
    }
    let etag = format!("\"{}\"", uploads::sha256_hex(&bytes));
    if matches_etag(&headers, &etag) {
        return Ok(not_modified(&etag));
    }
    let content_type = if bytes.starts_with(b"\x89PNG") {
        "image/png"
    } else {
        "image/jpeg"
    };
    let size = bytes.len() as u64;
    let range = match requested_range(&headers, size) {
        Ok(range) => range,
        Err(()) => return Ok(unsatisfiable(size)),
    };
    let (status, body) = match &range {
        Some(range) => (
            StatusCode::PARTIAL_CONTENT,
            bytes[range.start as usize..range.end as usize].to_vec(),
        ),
        None => (StatusCode::OK, bytes),
    };
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    set(headers, header::CONTENT_TYPE, content_type);
    set(headers, header::CONTENT_DISPOSITION, "inline");
    shared_headers(headers, &etag);
    if let Some(range) = range {
        set(
            headers,
            header::CONTENT_RANGE,
            &format!("bytes {}-{}/{size}", range.start, range.end - 1),
        );
    }
    Ok(response)
}

/// The headers of a file: inline only for the allowlisted types (an image only once it was
/// decoded, within the pixel cap), else a download of bytes.
fn describe_file(headers: &mut HeaderMap, upload: &Upload, etag: &str) {
    let undecoded_image =
        crate::media::image_format(&upload.content_type).is_some() && upload.width.is_none();
    if inline(&upload.content_type) && !undecoded_image {
        set(headers, header::CONTENT_TYPE, &upload.content_type);
        set(headers, header::CONTENT_DISPOSITION, "inline");
    } else {
        set(headers, header::CONTENT_TYPE, "application/octet-stream");
        set(
            headers,
            header::CONTENT_DISPOSITION,
            &attachment_disposition(&upload.filename),
        );
    }
    shared_headers(headers, etag);
}

/// What every file answer carries.
fn shared_headers(headers: &mut HeaderMap, etag: &str) {
    set(
        headers,
        header::CONTENT_SECURITY_POLICY,
        "sandbox; default-src 'none'",
    );
    set(headers, header::CACHE_CONTROL, "private, no-cache");
    set(headers, header::ETAG, etag);
    set(headers, header::ACCEPT_RANGES, "bytes");
}

fn set(headers: &mut HeaderMap, name: header::HeaderName, value: &str) {
    if let Ok(value) = HeaderValue::from_str(value) {
        headers.insert(name, value);
    }
}

fn matches_etag(headers: &HeaderMap, etag: &str) -> bool {
    headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(',')
                .any(|tag| tag.trim() == etag || tag.trim() == "*")
        })
}

fn not_modified(etag: &str) -> Response {
    let mut response = StatusCode::NOT_MODIFIED.into_response();
    shared_headers(response.headers_mut(), etag);
    response
}

fn unsatisfiable(size: u64) -> Response {
    let error = Error::invalid(
        code::RANGE_NOT_SATISFIABLE,
        format!("the range lies outside the file's {size} bytes"),
    );
    let mut response = ApiError::from(error).into_response();
    *response.status_mut() = StatusCode::RANGE_NOT_SATISFIABLE;
    set(
        response.headers_mut(),
        header::CONTENT_RANGE,
        &format!("bytes */{size}"),
    );
    response
}

/// The one byte range `Range` asks for inside `size` bytes: `None` for the whole file (no
/// header, one that is not a single `bytes=` range, or several ranges), `Err` when it lies
/// outside the file.
fn requested_range(headers: &HeaderMap, size: u64) -> Result<Option<Range<u64>>, ()> {
    let Some(spec) = headers
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().strip_prefix("bytes="))
    else {
        return Ok(None);
    };
    if spec.contains(',') {
        return Ok(None);
    }
    let Some((start, end)) = spec.trim().split_once('-') else {
        return Ok(None);
    };
    let number = |s: &str| s.trim().parse::<u64>().ok();
    let range = match (start.trim().is_empty(), number(start), number(end)) {
        // bytes=-N: the last N bytes.
        (true, _, Some(last)) if last > 0 => size.saturating_sub(last)..size,
        (true, _, _) => return Err(()),
        (false, Some(first), None) if end.trim().is_empty() => first..size,
        (false, Some(first), Some(last)) if last >= first => first..(last + 1).min(size),
        _ => return Ok(None),
    };
    if range.start >= size || range.is_empty() {
        return Err(());
    }
    Ok(Some(range))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range(value: &str, size: u64) -> Result<Option<Range<u64>>, ()> {
        let mut headers = HeaderMap::new();
        headers.insert(header::RANGE, HeaderValue::from_str(value).unwrap());
        requested_range(&headers, size)
    }

    #[test]
    fn one_range_is_served_and_one_outside_the_file_is_refused() {
        assert_eq!(range("bytes=0-9", 100), Ok(Some(0..10)));
        assert_eq!(range("bytes=90-", 100), Ok(Some(90..100)));
        assert_eq!(range("bytes=-5", 100), Ok(Some(95..100)));
        assert_eq!(range("bytes=50-1000", 100), Ok(Some(50..100)));
        assert_eq!(range("bytes=100-", 100), Err(()));
        assert_eq!(range("bytes=-0", 100), Err(()));
        assert_eq!(range("bytes=0-1,5-6", 100), Ok(None));
        assert_eq!(range("items=0-1", 100), Ok(None));
        assert_eq!(range("bytes=9-2", 100), Ok(None));
    }
}
