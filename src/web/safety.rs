//! `/api/blocks*` and `/api/conversations/{username}/accept|decline`: blocks and message
//! requests (PROTOCOL.md, Safety and privacy).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;
use utoipa::ToSchema;

use super::error::ApiError;
use super::extract::ApiPath;
use super::views::UserView;
use crate::app::AppState;
use crate::auth::Caller;
use crate::domain::input;
use crate::safety;

/// The people the caller blocks.
#[derive(Debug, Serialize, ToSchema)]
pub struct BlockedView {
    pub blocked: Vec<UserView>,
}

/// Blocks a user: no messages either way in your direct conversation, no typing or presence,
/// no adds to groups. Blocking again is a no-op.
#[utoipa::path(put, path = "/api/blocks/{username}", tag = "safety",
    params(("username" = String, Path, description = "the person to block")),
    responses((status = 204), (status = 400, description = "`cannot_message_self`"),
              (status = 404, description = "`user_not_found`")))]
pub async fn block(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(username): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    let name = input::named_user(&username)?;
    safety::block(&state, &caller.user, &name).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Unblocks a user (not blocked: a no-op).
#[utoipa::path(delete, path = "/api/blocks/{username}", tag = "safety",
    params(("username" = String, Path, description = "the person to unblock")),
    responses((status = 204), (status = 400, description = "`cannot_message_self`"),
              (status = 404, description = "`user_not_found`")))]
pub async fn unblock(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(username): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    let name = input::named_user(&username)?;
    safety::unblock(&state, &caller.user, &name).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The people the caller blocks, in the order blocked.
#[utoipa::path(get, path = "/api/blocks", tag = "safety",
    responses((status = 200, body = BlockedView)))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<BlockedView>, ApiError> {
    let blocked = safety::blocked(&state, &caller.user).await?;
    Ok(Json(BlockedView {
        blocked: blocked.into_iter().map(UserView::from).collect(),
    }))
}

/// Accepts the message request from `username` (a no-op when nothing is pending): it stops
/// being a request for good, and the read receipts it withheld reach the sender.
#[utoipa::path(post, path = "/api/conversations/{username}/accept", tag = "safety",
    params(("username" = String, Path, description = "the request's sender")),
    responses((status = 204), (status = 400, description = "`cannot_message_self`"),
              (status = 404, description = "`user_not_found`")))]
pub async fn accept(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(username): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    let name = input::named_user(&username)?;
    safety::accept(&state, &caller.user, &name).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Declines the pending message request from `username` (a no-op when nothing is pending):
/// the conversation leaves your list and their further messages are refused until you write
/// to them.
#[utoipa::path(post, path = "/api/conversations/{username}/decline", tag = "safety",
    params(("username" = String, Path, description = "the request's sender")),
    responses((status = 204), (status = 400, description = "`cannot_message_self`"),
              (status = 404, description = "`user_not_found`")))]
pub async fn decline(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(username): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    let name = input::named_user(&username)?;
    safety::decline(&state, &caller.user, &name).await?;
    Ok(StatusCode::NO_CONTENT)
}
