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
use crate::accounts::{self, SessionGrant, SignupInput};
use crate::app::AppState;
use crate::auth::{Caller, Credential, SESSION_COOKIE, secrets};

#[derive(Deserialize, ToSchema)]
pub struct SignupBody {
    username: String,
    password: String,
    display_name: Option<String>,
}

#[derive(Deserialize, ToSchema)]
pub struct LoginBody {
    username: String,
    password: String,
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct SearchQuery {
    /// Username prefix.
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
#[utoipa::path(post, path = "/api/auth/signup", request_body = SignupBody, tag = "accounts",
    responses((status = 201, body = MeView), (status = 400, body = super::views::ErrorView), (status = 409, body = super::views::ErrorView)))]
pub async fn signup(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<SignupBody>,
) -> Result<Response, ApiError> {
    let input = SignupInput {
        username: body.username,
        password: body.password,
        display_name: body.display_name,
    };
    let grant = accounts::signup(&state, input).await?;
    Ok(granted(&state, StatusCode::CREATED, grant))
}

/// Logs in with a fresh session id.
#[utoipa::path(post, path = "/api/auth/login", request_body = LoginBody, tag = "accounts",
    responses((status = 200, body = MeView), (status = 401, body = super::views::ErrorView)))]
pub async fn login(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<LoginBody>,
) -> Result<Response, ApiError> {
    let previous = previous_session(&headers);
    let grant = accounts::login(&state, &body.username, body.password, previous).await?;
    Ok(granted(&state, StatusCode::OK, grant))
}

fn previous_session(headers: &HeaderMap) -> Option<Vec<u8>> {
    cookie(headers, SESSION_COOKIE).map(secrets::digest)
}

/// Ends the session (or revokes the bearer token) the request used.
#[utoipa::path(post, path = "/api/auth/logout", tag = "accounts", responses((status = 204)))]
pub async fn logout(State(state): State<AppState>, caller: Caller) -> Result<Response, ApiError> {
    accounts::logout(&state, &caller).await?;
    let clear = session_cookie(&state, "", 0);
    Ok((StatusCode::NO_CONTENT, [(header::SET_COOKIE, clear)]).into_response())
}

/// Issues a bearer token for programs, given the account's credentials.
#[utoipa::path(post, path = "/api/auth/tokens", request_body = LoginBody, tag = "accounts",
    responses((status = 201, body = TokenView), (status = 401, body = super::views::ErrorView)))]
pub async fn issue_token(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<LoginBody>,
) -> Result<Response, ApiError> {
    let user = accounts::verify_credentials(&state, &body.username, body.password).await?;
    let token = accounts::issue_token(&state, &user).await?;
    Ok((StatusCode::CREATED, Json(TokenView { token })).into_response())
}

/// The caller and their CSRF token.
#[utoipa::path(get, path = "/api/me", tag = "accounts", responses((status = 200, body = MeView), (status = 401, body = super::views::ErrorView)))]
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
    let users =
        accounts::search(&state, &caller.user, query.q.as_deref().unwrap_or(""), 20).await?;
    Ok(Json(UsersView {
        users: users.into_iter().map(Into::into).collect(),
    }))
}
