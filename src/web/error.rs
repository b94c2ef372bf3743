//! `ApiError`: every failure as a JSON body `{"error": {"code", "message"}}` with a fitting
//! status. 500s say nothing about their cause to the client; the cause goes to the log.

use axum::Json;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::domain::code;
use crate::domain::error::Error;

#[derive(Debug)]
pub enum ApiError {
    Domain(Error),
    RouteNotFound,
    MethodNotAllowed,
    PayloadTooLarge,
    UnsupportedMediaType,
}

impl From<Error> for ApiError {
    fn from(err: Error) -> Self {
        ApiError::Domain(err)
    }
}

impl From<crate::store::StoreError> for ApiError {
    fn from(err: crate::store::StoreError) -> Self {
        ApiError::Domain(err.into())
    }
}

impl ApiError {
    fn parts(&self) -> (StatusCode, &'static str, String) {
        match self {
            ApiError::RouteNotFound => (
                StatusCode::NOT_FOUND,
                code::NOT_FOUND,
                "no such route".into(),
            ),
            ApiError::MethodNotAllowed => (
                StatusCode::METHOD_NOT_ALLOWED,
                code::METHOD_NOT_ALLOWED,
                "this route does not accept that method".into(),
            ),
            ApiError::PayloadTooLarge => (
                StatusCode::PAYLOAD_TOO_LARGE,
                code::PAYLOAD_TOO_LARGE,
                "the request body is too large".into(),
            ),
            ApiError::UnsupportedMediaType => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                code::UNSUPPORTED_MEDIA_TYPE,
                "send the body as JSON with Content-Type: application/json".into(),
            ),
            ApiError::Domain(err) => {
                let status = match err {
                    Error::Invalid { .. } | Error::CannotMessageSelf => StatusCode::BAD_REQUEST,
                    Error::NotAuthenticated | Error::InvalidCredentials => StatusCode::UNAUTHORIZED,
                    Error::Forbidden { .. }
                    | Error::CsrfMissing
                    | Error::CsrfMismatch
                    | Error::OriginNotAllowed(_) => StatusCode::FORBIDDEN,
                    Error::UserNotFound(_)
                    | Error::MessageNotFound
                    | Error::ConversationNotFound
                    | Error::UploadNotFound
                    | Error::ThumbnailNotFound
                    | Error::MemberNotFound => StatusCode::NOT_FOUND,
                    Error::UploadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
                    Error::UsernameTaken(_)
                    | Error::MessageDeleted
                    | Error::ClientIdConflict(_)
                    | Error::GroupClientIdConflict(_) => StatusCode::CONFLICT,
                    Error::RateLimited { .. }
                    | Error::UploadQuotaExceeded { .. }
                    | Error::TooManyConnections(_) => StatusCode::TOO_MANY_REQUESTS,
                    Error::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
                    Error::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
                    // -- Authentication (auth) --
                    Error::TokenNotFound => StatusCode::NOT_FOUND,
                };
                (status, err.code(), err.to_string())
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let ApiError::Domain(Error::Internal(cause)) = &self {
            tracing::error!(error = ?cause, "request failed");
        }
        let (status, code, message) = self.parts();
        let mut response = (
            status,
            Json(json!({"error": {"code": code, "message": message}})),
        )
            .into_response();
        if let ApiError::Domain(
            Error::RateLimited { retry_after } | Error::UploadQuotaExceeded { retry_after, .. },
        ) = &self
        {
            let secs = retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0);
            if let Ok(value) = HeaderValue::from_str(&secs.max(1).to_string()) {
                response.headers_mut().insert(header::RETRY_AFTER, value);
            }
        }
        response
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        match rejection.status() {
            StatusCode::PAYLOAD_TOO_LARGE => ApiError::PayloadTooLarge,
            StatusCode::UNSUPPORTED_MEDIA_TYPE => ApiError::UnsupportedMediaType,
            _ => {
                let code = match rejection {
                    JsonRejection::JsonDataError(_) => code::INVALID_REQUEST,
                    _ => code::INVALID_JSON,
                };
                ApiError::Domain(Error::invalid(code, rejection.body_text()))
            }
        }
    }
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> Self {
        ApiError::Domain(Error::invalid(code::INVALID_QUERY, rejection.body_text()))
    }
}

impl From<PathRejection> for ApiError {
    fn from(rejection: PathRejection) -> Self {
        ApiError::Domain(Error::invalid(code::INVALID_PATH, rejection.body_text()))
    }
}

/// The 405 for known routes with another method.
pub async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}
