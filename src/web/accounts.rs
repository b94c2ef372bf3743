//! `/api/auth/*` (sign-up, login, logout, bearer tokens: issued, listed, revoked), `/api/me`
//! (and its password) and `/api/users`.

use axum::Json;
use axum::extract::Path;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use utoipa::ToSchema;

use super::error::ApiError;
use super::extract::{ApiJson, ApiQuery, cookie};
use super::views::{MeView, TokenItemView, TokenView, TokensView, UsersView};
use crate::accounts::{self, Login, SessionGrant, Signup};
use crate::app::AppState;
use crate::auth::address::ClientAddress;
use crate::auth::{Caller, Credential, SESSION_COOKIE, secrets};
use crate::domain::input::{NamePrefix, Password};
use crate::limits::Attempt;

#[derive(Deserialize, ToSchema)]
pub struct SignupBody {
    /// 3–32 of `a-z 0-9 _ . -`; upper case is accepted and stored lower-case.
    #[schema(pattern = r"^[A-Za-z0-9_.-]{3,32}$", example = "carol")]
    username: String,
    /// 8–1024 characters.
    #[schema(min_length = 8, max_length = 1024, example = "password123")]
    password: String,
    /// 1–64 characters once trimmed, no control characters, bidirectional controls or
    /// invisible spaces (U+061C, U+200B, U+200E–U+200F, U+202A–U+202E, U+2060, U+2066–U+2069,
    /// U+FEFF; the pattern: something that is not white space, none of those inside the white
    /// space trimmed off); defaults to the username.
    #[schema(
        pattern = r"^[\t\n\u000b\u000c\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*[^\u0000-\u001f\u007f-\u009f\u061c\u200b\u200e\u200f\u202a-\u202e\u2060\u2066-\u2069\ufeff]*[^\u0000-\u001f\u007f-\u009f\u061c\u200b\u200e\u200f\u202a-\u202e\u2060\u2066-\u2069\ufeff \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000][^\u0000-\u001f\u007f-\u009f\u061c\u200b\u200e\u200f\u202a-\u202e\u2060\u2066-\u2069\ufeff]*[\t\n\u000b\u000c\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$",
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
              (status = 409, description = "`username_taken`"), (status = 429, description = "`rate_limited` (attempts per client address, or too many passwords waiting to be checked)")))]
pub async fn signup(
    State(state): State<AppState>,
    from: ClientAddress,
    headers: HeaderMap,
    ApiJson(body): ApiJson<SignupBody>,
) -> Result<Response, ApiError> {
    let input = Signup::parse(&body.username, body.password, body.display_name.as_deref())?;
    let grant = accounts::signup(&state, input, from, previous_session(&headers)).await?;
    Ok(granted(&state, StatusCode::CREATED, grant))
}

/// Logs in with a fresh session id.
#[utoipa::path(post, path = "/api/auth/login", request_body = LoginBody, tag = "accounts", security(()),
    responses((status = 200, body = MeView, headers(("Set-Cookie" = String, description = "the session cookie"))),
              (status = 401, description = "`invalid_credentials`"), (status = 429, description = "`rate_limited` (attempts per username and client address, or per client address)")))]
pub async fn login(
    State(state): State<AppState>,
    from: ClientAddress,
    headers: HeaderMap,
    ApiJson(body): ApiJson<LoginBody>,
) -> Result<Response, ApiError> {
    let previous = previous_session(&headers);
    let credentials = Login::parse(&body.username, body.password)?;
    let grant = accounts::login(&state, &credentials, from, previous).await?;
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
              (status = 429, description = "`rate_limited` (attempts per username and client address, or per client address)")))]
pub async fn issue_token(
    State(state): State<AppState>,
    from: ClientAddress,
    ApiJson(body): ApiJson<LoginBody>,
) -> Result<Response, ApiError> {
    let credentials = Login::parse(&body.username, body.password)?;
    let user = accounts::verify_credentials(&state, &credentials, Attempt::Token, from).await?;
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

// -- Authentication (auth) --

#[derive(Deserialize, ToSchema)]
pub struct PasswordBody {
    /// The password the account has now.
    #[schema(example = "my-current-password")]
    current_password: String,
    /// 8–1024 characters.
    #[schema(min_length = 8, max_length = 1024, example = "a-new-password-1")]
    new_password: String,
}

/// The caller's bearer tokens (never their secrets), oldest first.
#[utoipa::path(get, path = "/api/auth/tokens", tag = "accounts",
    responses((status = 200, body = TokensView)))]
pub async fn tokens(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<TokensView>, ApiError> {
    let tokens = accounts::tokens(&state, &caller).await?;
    Ok(Json(TokensView {
        tokens: tokens.into_iter().map(TokenItemView::from).collect(),
    }))
}

/// Revokes one of the caller's bearer tokens; sockets opened with it close.
#[utoipa::path(delete, path = "/api/auth/tokens/{id}", tag = "accounts",
    params(("id" = String, Path, description = "the token's `id` from the token list")),
    responses((status = 204, description = "revoked"),
              (status = 404, description = "`token_not_found`")))]
pub async fn revoke_token(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    accounts::revoke_token(&state, &caller, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Changes the caller's password and ends every other session and token of theirs.
#[utoipa::path(post, path = "/api/me/password", request_body = PasswordBody, tag = "accounts",
    responses((status = 204, description = "changed; every other session and token ended"),
              (status = 400, description = "`invalid_password` (the new password)"),
              (status = 403, description = "`wrong_password`"),
              (status = 429, description = "`rate_limited` (counted with logins)")))]
pub async fn change_password(
    State(state): State<AppState>,
    caller: Caller,
    from: ClientAddress,
    ApiJson(body): ApiJson<PasswordBody>,
) -> Result<StatusCode, ApiError> {
    let new = Password::parse(body.new_password)?;
    accounts::change_password(&state, &caller, body.current_password, &new, from).await?;
    Ok(StatusCode::NO_CONTENT)
}
