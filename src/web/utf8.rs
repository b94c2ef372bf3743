//! Addresses under `/api/` and `/ws/` must be UTF-8 once percent-decoded, in the path and in the
//! query: otherwise the answer is a JSON 400 (`invalid_path` / `invalid_query`), before any
//! handler runs. Without this, a query value would be decoded lossily (`%FF` read as U+FFFD)
//! and a handler would act on text the client never sent.

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::error::ApiError;
use crate::domain::code;
use crate::domain::error::Error;

/// Refuses an API or WebSocket address that is not UTF-8; passes everything else on.
pub async fn only_utf8(request: Request, next: Next) -> Response {
    let uri = request.uri();
    let path = uri.path();
    let api = path == "/api" || path.starts_with("/api/") || path.starts_with("/ws/");
    if api {
        if !decodes_to_utf8(path) {
            let error = Error::invalid(code::INVALID_PATH, "the path is not UTF-8 once decoded");
            return ApiError::Domain(error).into_response();
        }
        if !uri.query().is_none_or(decodes_to_utf8) {
            let error = Error::invalid(code::INVALID_QUERY, "the query is not UTF-8 once decoded");
            return ApiError::Domain(error).into_response();
        }
    }
    next.run(request).await
}

/// Whether `raw` is UTF-8 after its `%XX` escapes are decoded (a `%` not followed by two hex
/// digits stands for itself, as in form decoding).
fn decodes_to_utf8(raw: &str) -> bool {
    if !raw.contains('%') {
        return true;
    }
    percent_encoding::percent_decode_str(raw)
        .decode_utf8()
        .is_ok()
}

#[cfg(test)]
mod tests {
    use super::decodes_to_utf8;

    #[test]
    fn escapes_are_decoded_before_the_check() {
        assert!(decodes_to_utf8("/api/users"));
        assert!(decodes_to_utf8("q=%C3%A9t%C3%A9"));
        assert!(decodes_to_utf8("q=100%"));
        assert!(decodes_to_utf8("q=%zz%4"));
        assert!(!decodes_to_utf8("q=%FF"));
        assert!(!decodes_to_utf8("/api/conversations/al%C3%28ce/messages"));
        assert!(!decodes_to_utf8("q=%C3"));
    }
}
