//! Extractors that turn every rejection into an `ApiError`, and the authentication extractor.

use axum::extract::{FromRequest, FromRequestParts, Path, Query};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, header};

use super::error::ApiError;
use crate::accounts;
use crate::app::AppState;
use crate::auth::{CSRF_HEADER, Caller, SESSION_COOKIE, check_csrf};
use crate::domain::error::Error;

/// `axum::Json` with JSON errors.
#[derive(FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct ApiJson<T>(pub T);

/// `axum::extract::Query` with JSON errors.
#[derive(FromRequestParts)]
#[from_request(via(Query), rejection(ApiError))]
pub struct ApiQuery<T>(pub T);

/// `axum::extract::Path` with JSON errors.
#[derive(FromRequestParts)]
#[from_request(via(Path), rejection(ApiError))]
pub struct ApiPath<T>(pub T);

/// The value of cookie `name` in a `Cookie` header.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// The bearer token of an `Authorization` header, if one was sent.
fn bearer(parts: &Parts) -> Option<Result<&str, Error>> {
    let value = parts.headers.get(header::AUTHORIZATION)?;
    Some(
        value
            .to_str()
            .ok()
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            })
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or(Error::NotAuthenticated),
    )
}

/// Who is calling: a bearer token wins over a cookie; a cookie session must pass the CSRF rule.
impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let caller = if let Some(token) = bearer(parts) {
            accounts::caller_from_token(state, token?).await?
        } else if let Some(session) = cookie(&parts.headers, SESSION_COOKIE) {
            accounts::caller_from_session(state, session).await?
        } else {
            None
        };
        let caller = caller.ok_or(Error::NotAuthenticated)?;
        let unsafe_method = !matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS);
        let header = parts
            .headers
            .get(CSRF_HEADER)
            .map(|v| v.to_str().unwrap_or("\u{0}"));
        check_csrf(&caller.credential, unsafe_method, header)?;
        Ok(caller)
    }
}
