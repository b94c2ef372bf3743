//! `POST /api/messages/status`: a recipient marks messages delivered or read.

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use utoipa::ToSchema;

use super::error::ApiError;
use super::extract::ApiJson;
use super::views::{ErrorView, UpdatedView};
use crate::app::AppState;
use crate::auth::Caller;
use crate::receipts;

#[derive(Deserialize, ToSchema)]
pub struct StatusBody {
    message_ids: Vec<i64>,
    /// `delivered` or `read`.
    status: String,
}

/// The recipient marks messages delivered or read (forward only); returns the ids changed.
#[utoipa::path(post, path = "/api/messages/status", request_body = StatusBody, tag = "messages",
    responses((status = 200, body = UpdatedView), (status = 400, body = ErrorView), (status = 404, body = ErrorView)))]
pub async fn set_status(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<StatusBody>,
) -> Result<Json<UpdatedView>, ApiError> {
    let updated = receipts::mark(&state, &caller.user, &body.message_ids, &body.status).await?;
    Ok(Json(UpdatedView { updated }))
}
