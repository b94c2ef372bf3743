//! `POST /api/messages/status` and `GET /api/sync`.

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use utoipa::ToSchema;

use super::error::ApiError;
use super::extract::{ApiJson, ApiQuery};
use super::views::{ErrorView, EventsView, UpdatedView};
use crate::app::AppState;
use crate::auth::Caller;
use crate::domain::input;
use crate::domain::{Cursor, MessageStatus};
use crate::{receipts, sync};

#[derive(Deserialize, ToSchema)]
pub struct StatusBody {
    message_ids: Vec<i64>,
    /// `delivered` or `read`.
    status: String,
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct SyncQuery {
    /// The last cursor the client processed (0 or absent: from the start).
    since: Option<String>,
    /// 1–1000, default 100.
    limit: Option<String>,
}

/// The recipient marks messages delivered or read (forward only); returns the ids changed.
#[utoipa::path(post, path = "/api/messages/status", request_body = StatusBody, tag = "messages",
    responses((status = 200, body = UpdatedView), (status = 400, body = ErrorView), (status = 404, body = ErrorView)))]
pub async fn set_status(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<StatusBody>,
) -> Result<Json<UpdatedView>, ApiError> {
    let status = MessageStatus::parse_target(&body.status)?;
    let ids = input::message_ids(&body.message_ids)?;
    let updated = receipts::mark(&state, &caller.user, ids, status).await?;
    Ok(Json(UpdatedView { updated }))
}

/// The caller's events after cursor `since`, in order.
#[utoipa::path(get, path = "/api/sync", params(SyncQuery), tag = "messages",
    responses((status = 200, body = EventsView), (status = 400, body = ErrorView)))]
pub async fn events(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<SyncQuery>,
) -> Result<Json<EventsView>, ApiError> {
    let since = query.since.as_deref().map(input::since).transpose()?;
    let limit = input::page_size(query.limit.as_deref(), sync::DEFAULT_PAGE, sync::MAX_PAGE)?;
    let page = sync::events_since(&state, &caller.user, since.unwrap_or(Cursor(0)), limit).await?;
    Ok(Json(EventsView {
        events: page.events,
        next: page.next,
        has_more: page.has_more,
    }))
}
