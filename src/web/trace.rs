//! What the request log says of a request: its method, version and URI, with the value of an
//! `access_token` query parameter (a WebSocket's bearer token) replaced, so no log line ever
//! holds a credential. Headers are not logged at all (`Authorization`, `Cookie`).

use axum::extract::Request;
use axum::http::Uri;
use tracing::Span;

/// The placeholder logged instead of a token.
const REDACTED: &str = "[redacted]";

/// The span `tower_http`'s trace layer opens for each request.
pub fn request_span(request: &Request) -> Span {
    tracing::debug_span!(
        "request",
        method = %request.method(),
        uri = %redacted(request.uri()),
        version = ?request.version(),
    )
}

/// The URI as it may be logged: every `access_token` parameter's value replaced, however its
/// name is percent-encoded or cased.
pub fn redacted(uri: &Uri) -> String {
    let Some(query) = uri.query() else {
        return uri.to_string();
    };
    let pairs: Vec<String> = query
        .split('&')
        .map(|pair| {
            let name = pair.split_once('=').map_or(pair, |(name, _)| name);
            if is_token_name(name) {
                format!("{name}={REDACTED}")
            } else {
                pair.to_owned()
            }
        })
        .collect();
    format!("{}?{}", uri.path(), pairs.join("&"))
}

/// Whether a raw query parameter name decodes to `access_token` (any case, `+` or `%XX`
/// escapes included), so a disguised name is redacted too.
fn is_token_name(raw: &str) -> bool {
    let spaced = raw.replace('+', " ");
    let decoded: Vec<u8> = percent_encoding::percent_decode_str(&spaced).collect();
    decoded.eq_ignore_ascii_case(b"access_token")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uri(s: &str) -> Uri {
        s.parse().unwrap()
    }

    #[test]
    fn access_tokens_never_reach_the_log() {
        assert_eq!(
            redacted(&uri("/ws/notifications/?access_token=lu_secret&since=4")),
            "/ws/notifications/?access_token=[redacted]&since=4"
        );
        for disguised in [
            "/ws/chat/bob/?since=1&ACCESS_TOKEN=lu_secret",
            "/ws/chat/bob/?access%5Ftoken=lu_secret",
            "/ws/chat/bob/?access_token=lu_secret&access_token=lu_secret",
            "/ws/chat/bob/?%61ccess_token=lu_secret",
        ] {
            let logged = redacted(&uri(disguised));
            assert!(!logged.contains("lu_secret"), "{disguised} → {logged}");
        }
        assert_eq!(
            redacted(&uri("/api/sync?since=3&limit=5")),
            "/api/sync?since=3&limit=5"
        );
        assert_eq!(redacted(&uri("/api/me")), "/api/me");
    }
}
