//! Changes to a sent message: `PATCH /api/messages/{id}` (edit), `DELETE /api/messages/{id}`
//! (delete for everyone), `PUT` and `DELETE /api/messages/{id}/reaction`. Each answers the
//! message as the caller sees it after the change.

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use utoipa::ToSchema;

use super::error::ApiError;
use super::extract::{ApiJson, ApiPath};
use crate::app::AppState;
use crate::auth::Caller;
use crate::domain::input::{self, Body};
use crate::domain::reaction::Emoji;
use crate::domain::{Error, Message, code};
use crate::edits;

#[derive(Deserialize, ToSchema)]
pub struct EditBody {
    /// The new body, by the rules of a send's (`invalid_body`, `body_too_long`).
    #[schema(example = "Lunch at one?")]
    body: String,
}

#[derive(Deserialize, ToSchema)]
pub struct ReactionBody {
    /// One RGI emoji sequence (Emoji 15.1), at most 32 bytes (else `invalid_emoji`); stored
    /// fully-qualified.
    #[serde(default)]
    #[schema(value_type = String, example = "👍")]
    emoji: Option<serde_json::Value>,
}

/// Edits one's own text message within `--edit-window-secs`; the same body again changes
/// nothing.
#[utoipa::path(patch, path = "/api/messages/{id}", request_body = EditBody, tag = "messages",
    params(("id" = i64, Path, description = "a message id", minimum = 1)),
    responses((status = 200, body = Message),
              (status = 400, description = "`not_editable`, `invalid_body`, `body_too_long`"),
              (status = 403, description = "`not_sender`, `edit_window_passed`, `not_a_member`"),
              (status = 404, description = "`message_not_found`"),
              (status = 409, description = "`message_deleted`")))]
pub async fn edit(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<EditBody>,
) -> Result<Json<Message>, ApiError> {
    let id = input::path_message_id(&id)?;
    // Empty only for a message with attachments: the store knows which.
    let body = Body::parse_caption(&body.body, state.settings.max_body_chars)?;
    Ok(Json(edits::edit(&state, &caller.user, id, body).await?))
}

/// Deletes a message for everyone: one's own within `--delete-window-secs`, or any in a group
/// one owns or administers; deleting again changes nothing.
#[utoipa::path(delete, path = "/api/messages/{id}", tag = "messages",
    params(("id" = i64, Path, description = "a message id", minimum = 1)),
    responses((status = 200, body = Message),
              (status = 400, description = "`not_editable`"),
              (status = 403, description = "`not_sender`, `delete_window_passed`, `not_a_member`"),
              (status = 404, description = "`message_not_found`")))]
pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Message>, ApiError> {
    let id = input::path_message_id(&id)?;
    Ok(Json(edits::delete(&state, &caller.user, id).await?))
}

/// Sets the caller's one reaction on a message, replacing any earlier one.
#[utoipa::path(put, path = "/api/messages/{id}/reaction", request_body = ReactionBody, tag = "messages",
    params(("id" = i64, Path, description = "a message id", minimum = 1)),
    responses((status = 200, body = Message),
              (status = 400, description = "`invalid_emoji`, `not_reactable`"),
              (status = 403, description = "`not_a_member`"),
              (status = 404, description = "`message_not_found`"),
              (status = 409, description = "`message_deleted`")))]
pub async fn react(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<ReactionBody>,
) -> Result<Json<Message>, ApiError> {
    let id = input::path_message_id(&id)?;
    let emoji = match body.emoji.as_ref().and_then(serde_json::Value::as_str) {
        Some(text) => Emoji::parse(text)?,
        None => {
            return Err(Error::invalid(
                code::INVALID_EMOJI,
                "emoji must be a string holding one emoji",
            )
            .into());
        }
    };
    Ok(Json(
        edits::react(&state, &caller.user, id, Some(emoji)).await?,
    ))
}

/// Removes the caller's reaction on a message; removing none changes nothing.
#[utoipa::path(delete, path = "/api/messages/{id}/reaction", tag = "messages",
    params(("id" = i64, Path, description = "a message id", minimum = 1)),
    responses((status = 200, body = Message),
              (status = 400, description = "`not_reactable`"),
              (status = 403, description = "`not_a_member`"),
              (status = 404, description = "`message_not_found`"),
              (status = 409, description = "`message_deleted`")))]
pub async fn unreact(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Message>, ApiError> {
    let id = input::path_message_id(&id)?;
    Ok(Json(edits::react(&state, &caller.user, id, None).await?))
}
