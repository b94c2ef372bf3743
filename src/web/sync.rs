//! `GET /api/sync`: the caller's event stream after a cursor.

use axum::Json;
use axum::extract::State;
use serde::Deserialize;

use super::error::ApiError;
use super::extract::ApiQuery;
use super::views::EventsView;
use crate::app::AppState;
use crate::auth::Caller;
use crate::domain::Cursor;
use crate::domain::input;
use crate::sync;

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SyncQuery {
    /// The last cursor the client processed (0 or absent: from the start); never beyond the
    /// caller's latest cursor.
    #[param(value_type = Option<i64>, minimum = 0, example = 0)]
    since: Option<String>,
    /// 1–1000, default 100.
    #[param(value_type = Option<i64>, minimum = 1, maximum = 1000, example = 100)]
    limit: Option<String>,
}

/// The caller's events after cursor `since`, in order.
#[utoipa::path(get, path = "/api/sync", params(SyncQuery), tag = "messages",
    responses((status = 200, body = EventsView), (status = 400, description = "`invalid_cursor`, `invalid_limit`")))]
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
