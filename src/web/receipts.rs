//! Receipts: `POST /api/messages/status` (a member marks messages delivered or read, up to
//! each conversation's newest id named) and `GET /api/messages/{id}/receipts` ("message info"
//! for the sender).

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use utoipa::ToSchema;

use super::error::ApiError;
use super::extract::{ApiJson, ApiPath};
use super::views::{MessageReceiptsView, UpdatedView};
use crate::app::AppState;
use crate::auth::Caller;
use crate::domain::MessageStatus;
use crate::domain::input;
use crate::receipts;

#[derive(Deserialize, ToSchema)]
pub struct StatusBody {
    /// 1–1000 ids of messages to the caller.
    #[schema(min_items = 1, max_items = 1000, example = json!([1]))]
    #[schema(inline, value_type = Vec<PositiveId>)]
    message_ids: Vec<i64>,
    #[schema(value_type = ReceiptStatus)]
    status: String,
}

// Two types that only describe the body in the OpenAPI document: the fields stay plain `i64` and
// text, so that a bad value gets its own error code (`invalid_message_id`, `invalid_status`)
// rather than serde's `invalid_request`.

/// A message id in a request: a positive integer.
#[derive(ToSchema)]
#[schema(as = PositiveId, minimum = 1, format = Int64)]
#[allow(dead_code)]
struct PositiveId(i64);

/// The status a recipient may set.
#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
#[allow(dead_code)]
enum ReceiptStatus {
    Delivered,
    Read,
}

/// The recipient marks messages delivered or read (forward only); returns the ids changed.
#[utoipa::path(post, path = "/api/messages/status", request_body = StatusBody, tag = "messages",
    responses((status = 200, body = UpdatedView),
              (status = 400, description = "`invalid_status`, `invalid_message_ids`, `invalid_message_id`"),
              (status = 404, description = "`message_not_found`")))]
pub async fn set_status(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<StatusBody>,
) -> Result<Json<UpdatedView>, ApiError> {
    let status = MessageStatus::parse_target(&body.status)?;
    let ids = input::message_ids(&body.message_ids)?;
    let marked = receipts::mark(&state, &caller.user, ids, status).await?;
    Ok(Json(marked.into()))
}

/// Where the caller's message stands with each member who was there when it was sent.
#[utoipa::path(get, path = "/api/messages/{id}/receipts", tag = "messages",
    params(("id" = i64, Path, description = "a message id", minimum = 1)),
    responses((status = 200, body = MessageReceiptsView),
              (status = 403, description = "`not_sender`"),
              (status = 404, description = "`message_not_found`")))]
pub async fn message_receipts(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<MessageReceiptsView>, ApiError> {
    let id = input::path_message_id(&id)?;
    let receipts = receipts::info(&state, &caller.user, id).await?;
    Ok(Json(receipts.into()))
}
