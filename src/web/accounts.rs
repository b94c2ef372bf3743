//! `/api/auth/*`, `/api/me` and `/api/users`.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use utoipa::ToSchema;

use super::error::ApiError;
use super::extract::{ApiJson, ApiQuery, cookie};
use super::views::{MeView, TokenView, UsersView};
use crate::accounts::{self, Login, SessionGrant, Signup};
use crate::app::AppState;
use crate::auth::{Caller, Credential, SESSION_COOKIE, secrets};
use crate::domain::input::NamePrefix;

#[derive(Deserialize, ToSchema)]
pub struct SignupBody {
    /// 3–32 of `a-z 0-9 _ . -`; upper case is accepted and stored lower-case.
    #[schema(pattern = r"^[A-Za-z0-9_.-]{3,32}$", example = "carol")]
    username: String,
    /// 8–1024 characters.
    #[schema(min_length = 8, max_length = 1024, example = "password123")]
    password: String,
    /// 1–64 characters once trimmed, no control characters (the pattern: something that is not
    /// white space, no control character inside the white space trimmed off); defaults to the
    /// username.
    #[schema(
        pattern = r"^[\t\n\u000b\u000c\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*[^\u0000-\u001f\u007f-\u009f]*[^\u0000-\u001f\u007f-\u009f \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000][^\u0000-\u001f\u007f-\u009f]*[\t\n\u000b\u000c\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$",
        example = "Carol Chen"
    )]
    display_name: Option<String>,
}

#[derive(Deserialize, ToSchema)]
pub struct LoginBody {
    #[schema(example = "carol")]
    username: String,
    #[schema(example = "password123")]
    password: String,
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SearchQuery {
    /// Username prefix, trimmed and compared case-insensitively; over 32 bytes: 400
    /// `invalid_query`.
    #[param(example = "da")]
    q: Option<String>,
}

fn session_cookie(state: &AppState, value: &str, max_age: i64) -> HeaderValue {
    let secure = if state.settings.secure_cookies {
        "; Secure"
    } else {
        ""
    };
    let cookie = format!(
        "{SESSION_COOKIE}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}"
    );
    HeaderValue::from_str(&cookie)
        .unwrap_or_else(|_| HeaderValue::from_static("linkup_session=; Max-Age=0"))
}

fn granted(state: &AppState, status: StatusCode, grant: SessionGrant) -> Response {
    let body = MeView {
        user: grant.user.into(),
        csrf_token: Some(grant.csrf_token),
    };
    let cookie = session_cookie(state, &grant.session_id, state.settings.session_ttl_secs);
    (status, [(header::SET_COOKIE, cookie)], Json(body)).into_response()
}

/// Creates an account and logs it in.
#[utoipa::path(post, path = "/api/auth/signup", request_body = SignupBody, tag = "accounts", security(()),
    responses((status = 201, body = MeView, headers(("Set-Cookie" = String, description = "the session cookie"))),
              (status = 400, description = "`invalid_username`, `invalid_password`, `invalid_display_name`"),
              (status = 409, description = "`username_taken`"), (status = 429, description = "`rate_limited`")))]
pub async fn signup(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<SignupBody>,
) -> Result<Response, ApiError> {
    let input = Signup::parse(&body.username, body.password, body.display_name.as_deref())?;
    let grant = accounts::signup(&state, input).await?;
    Ok(granted(&state, StatusCode::CREATED, grant))
}

/// Logs in with a fresh session id.
#[utoipa::path(post, path = "/api/auth/login", request_body = LoginBody, tag = "accounts", security(()),
    responses((status = 200, body = MeView, headers(("Set-Cookie" = String, description = "the session cookie"))),
              (status = 401, description = "`invalid_credentials`"), (status = 429, description = "`rate_limited`")))]
pub async fn login(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<LoginBody>,
) -> Result<Response, ApiError> {
    let previous = previous_session(&headers);
    let credentials = Login::parse(&body.username, body.password)?;
    let grant = accounts::login(&state, &credentials, previous).await?;
    Ok(granted(&state, StatusCode::OK, grant))
}

fn previous_session(headers: &HeaderMap) -> Option<Vec<u8>> {
    cookie(headers, SESSION_COOKIE).map(secrets::digest)
}

/// Ends the session (or revokes the bearer token) the request used.
#[utoipa::path(post, path = "/api/auth/logout", tag = "accounts",
    responses((status = 204, description = "ended", headers(("Set-Cookie" = String, description = "clears the session cookie")))))]
pub async fn logout(State(state): State<AppState>, caller: Caller) -> Result<Response, ApiError> {
    accounts::logout(&state, &caller).await?;
    let clear = session_cookie(&state, "", 0);
    Ok((StatusCode::NO_CONTENT, [(header::SET_COOKIE, clear)]).into_response())
}

/// Issues a bearer token for programs, given the account's credentials.
#[utoipa::path(post, path = "/api/auth/tokens", request_body = LoginBody, tag = "accounts", security(()),
    responses((status = 201, body = TokenView), (status = 401, description = "`invalid_credentials`"),
              (status = 429, description = "`rate_limited`")))]
pub async fn issue_token(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<LoginBody>,
) -> Result<Response, ApiError> {
    let credentials = Login::parse(&body.username, body.password)?;
    let user = accounts::verify_credentials(&state, &credentials).await?;
    let token = accounts::issue_token(&state, &user).await?;
    Ok((StatusCode::CREATED, Json(TokenView { token })).into_response())
}

/// The caller and their CSRF token.
#[utoipa::path(get, path = "/api/me", tag = "accounts", responses((status = 200, body = MeView)))]
pub async fn me(caller: Caller) -> Json<MeView> {
    let csrf_token = match caller.credential {
        Credential::Session { csrf_token, .. } => Some(csrf_token),
        Credential::Token { .. } => None,
    };
    Json(MeView {
        user: caller.user.into(),
        csrf_token,
    })
}

/// People whose username starts with `q`.
#[utoipa::path(get, path = "/api/users", params(SearchQuery), tag = "accounts", responses((status = 200, body = UsersView)))]
pub async fn search(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<SearchQuery>,
) -> Result<Json<UsersView>, ApiError> {
    let prefix = NamePrefix::parse(query.q.as_deref().unwrap_or(""))?;
    let users = accounts::search(&state, &caller.user, &prefix, 20).await?;
    Ok(Json(UsersView {
        users: users.into_iter().map(Into::into).collect(),
    }))
}
