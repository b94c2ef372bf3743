//! `POST /api/messages/{id}/report`: a member reports a message to operators.

use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::ToSchema;

use super::error::ApiError;
use super::extract::{ApiJson, ApiPath};
use crate::app::AppState;
use crate::auth::Caller;
use crate::domain::input;
use crate::domain::{Error, code};
use crate::reports::{self, Reason};

#[derive(Deserialize, ToSchema)]
pub struct ReportBody {
    /// Why: 1–1000 characters once trimmed (else `invalid_reason`).
    #[serde(default)]
    #[schema(value_type = String, example = "Spam: the same link sent to everyone")]
    reason: Option<serde_json::Value>,
}

/// Reports a message one can see (a past member: within their range) to operators, who get a
/// copy of it as it is now even if it is deleted later; a repeat changes nothing.
#[utoipa::path(post, path = "/api/messages/{id}/report", request_body = ReportBody, tag = "messages",
    params(("id" = i64, Path, description = "a message id", minimum = 1)),
    responses((status = 202, description = "reported (or already reported by the caller)"),
              (status = 400, description = "`invalid_reason`, `invalid_report` (one's own message)"),
              (status = 404, description = "`message_not_found`"),
              (status = 409, description = "`message_deleted`")))]
pub async fn report(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<ReportBody>,
) -> Result<StatusCode, ApiError> {
    let id = input::path_message_id(&id)?;
    let reason = match &body.reason {
        Some(serde_json::Value::String(reason)) => Reason::parse(reason)?,
        _ => {
            return Err(Error::invalid(code::INVALID_REASON, "reason must be a string").into());
        }
    };
    reports::report(&state, &caller.user, id, reason).await?;
    Ok(StatusCode::ACCEPTED)
}
