//! Extractors that turn every rejection into an `ApiError`, and the authentication extractor.

use axum::Json;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Path, Query, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, header};
use serde::de::{DeserializeOwned, Visitor};
use serde::{Deserialize, Deserializer};

use super::error::ApiError;
use crate::accounts;
use crate::app::AppState;
use crate::auth::address::{ClientAddress, client_address};
use crate::auth::{CSRF_HEADER, Caller, SESSION_COOKIE, bearer_token, check_csrf};
use crate::domain::error::Error;

/// `axum::Json` with JSON errors, for bodies that are JSON objects (as the OpenAPI document says):
/// serde's derive would also read a struct from an array of its fields in order
/// (`["c1", "hi"]`), so the struct is read through [`ObjectOnly`].
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let Json(Object(value)) = Json::<Object<T>>::from_request(request, state).await?;
        Ok(ApiJson(value))
    }
}

/// A `T` read only from a JSON object; an array is a data error (`invalid_request`).
struct Object<T>(T);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Object<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        T::deserialize(ObjectOnly(deserializer)).map(Object)
    }
}

/// Hands a struct's visitor to `deserialize_map`, which refuses arrays, instead of
/// `deserialize_struct`, which takes both; everything else goes to `deserialize_any`. Only the
/// outermost value goes through it: fields are read by the wrapped deserializer as usual.
struct ObjectOnly<D>(D);

impl<'de, D: Deserializer<'de>> Deserializer<'de> for ObjectOnly<D> {
    type Error = D::Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
        self.0.deserialize_any(visitor)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        self.0.deserialize_map(visitor)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map enum identifier
        ignored_any
    }
}

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

/// The bearer token of an `Authorization` header, if one was sent (the scheme name in any
/// case).
fn bearer(parts: &Parts) -> Option<Result<&str, Error>> {
    let value = parts.headers.get(header::AUTHORIZATION)?;
    Some(
        value
            .to_str()
            .ok()
            .and_then(bearer_token)
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

/// Where the request comes from, as the login limits count it: the TCP peer, or the client a
/// trusted proxy names in `X-Forwarded-For` (`auth::address`).
impl FromRequestParts<AppState> for ClientAddress {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        // Every server serves with connect info; a router driven without a socket (no peer)
        // counts as one unspecified address.
        let peer = parts
            .extensions
            .get::<ConnectInfo<std::net::SocketAddr>>()
            .map_or(std::net::IpAddr::from([0, 0, 0, 0]), |c| c.0.ip());
        // Read lossily, never skipped: a proxy appends its hop to the line the client sent,
        // and bytes the client put there that are not ASCII must not hide that hop.
        let forwarded: Vec<String> = parts
            .headers
            .get_all("x-forwarded-for")
            .iter()
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
            .collect();
        Ok(client_address(
            peer,
            forwarded.iter().map(String::as_str),
            &state.settings.trusted_proxies,
        ))
    }
}
