//! The HTTP surface: routes, middleware and the OpenAPI document. Handlers only translate
//! between HTTP and the domain actions; they hold no business rules. The web chat's pages and
//! their embedded static files are served here too (`pages`, `assets`).

pub mod account;
pub mod accounts;
pub mod assets;
pub mod conversations;
pub mod edits;
pub mod error;
pub mod extract;
pub mod groups;
pub mod openapi;
pub mod ops;
pub mod pages;
pub mod receipts;
pub mod reports;
pub mod safety;
pub mod sync;
pub mod template;
pub mod trace;
pub mod uploads;
pub mod views;
// Transport hardening: API and WebSocket addresses must be UTF-8.
pub mod utf8;

use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

use crate::app::AppState;
use crate::metrics::RequestLabels;
use error::ApiError;
pub use openapi::ApiDoc;

/// Every route of the server.
pub fn router(state: AppState) -> Router {
    let api = Router::new()
        .route("/api/auth/signup", post(accounts::signup))
        .route("/api/auth/login", post(accounts::login))
        .route("/api/auth/logout", post(accounts::logout))
        .route(
            "/api/auth/tokens",
            post(accounts::issue_token).get(accounts::tokens),
        )
        .route("/api/me", get(accounts::me))
        .route("/api/users", get(accounts::search))
        .route("/api/conversations", get(conversations::list))
        .route(
            "/api/conversations/{username}/messages",
            get(conversations::history).post(conversations::send),
        )
        .route(
            "/api/conversations/{username}/read",
            post(conversations::read),
        )
        .route(
            "/api/conversations/{username}/sync",
            get(conversations::sync),
        )
        .route("/api/groups", post(groups::create))
        .route("/api/groups/{id}", get(groups::get).patch(groups::update))
        .route(
            "/api/groups/{id}/members",
            get(groups::members).post(groups::add),
        )
        .route(
            "/api/groups/{id}/members/{username}",
            delete(groups::remove).patch(groups::set_role),
        )
        .route("/api/groups/{id}/leave", post(groups::leave))
        .route("/api/groups/{id}/accept", post(groups::accept))
        .route(
            "/api/groups/{id}/messages",
            get(groups::history).post(groups::send),
        )
        .route("/api/groups/{id}/read", post(groups::read))
        .route("/api/groups/{id}/sync", get(groups::sync))
        .route("/api/messages/status", post(receipts::set_status))
        .route(
            "/api/messages/{id}",
            axum::routing::patch(edits::edit).delete(edits::delete),
        )
        .route(
            "/api/messages/{id}/reaction",
            axum::routing::put(edits::react).delete(edits::unreact),
        )
        .route(
            "/api/messages/{id}/receipts",
            get(receipts::message_receipts),
        )
        .route(
            "/api/uploads",
            post(uploads::upload).layer(DefaultBodyLimit::disable()),
        )
        .route("/api/uploads/{id}", get(uploads::download))
        .route("/api/uploads/{id}/thumbnail", get(uploads::thumbnail))
        .route("/api/sync", get(sync::events))
        .route("/api/openapi.json", get(ops::openapi))
        .route("/healthz", get(ops::healthz))
        .route("/readyz", get(ops::readyz))
        .route("/metrics", get(ops::metrics))
        // Accounts, reports and operators (v2 safety).
        .route("/api/me", delete(account::delete_me))
        .route("/api/me/export", get(account::export))
        .route("/api/messages/{id}/report", post(reports::report))
        .route("/ws/notifications/", get(crate::ws::notifications))
        .route("/ws/chat/{username}/", get(crate::ws::chat))
        .route("/ws/groups/{id}/", get(crate::ws::group))
        // -- Authentication (auth) --
        .route("/api/auth/tokens/{id}", delete(accounts::revoke_token))
        .route("/api/me/password", post(accounts::change_password))
        // Safety: blocks and message requests.
        .route("/api/blocks", get(safety::list))
        .route(
            "/api/blocks/{username}",
            axum::routing::put(safety::block).delete(safety::unblock),
        )
        .route("/api/conversations/{username}/accept", post(safety::accept))
        .route(
            "/api/conversations/{username}/decline",
            post(safety::decline),
        )
        .merge(pages::routes());
    let max_body = state.settings.max_request_bytes;
    api.fallback(pages::not_found)
        .method_not_allowed_fallback(error::method_not_allowed)
        // Transport hardening: a JSON 400 for API and WebSocket addresses that are not UTF-8.
        .layer(middleware::from_fn(utf8::only_utf8))
        .layer(DefaultBodyLimit::max(max_body))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            record_request,
        ))
        .layer(CatchPanicLayer::custom(|_| {
            ApiError::Domain(crate::domain::error::Error::Internal(anyhow::anyhow!(
                "handler panicked"
            )))
            .into_response()
        }))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        // Answers are per caller and change: none is kept by a cache, unless it says otherwise
        // (static assets, file downloads).
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ))
        // Request spans name the URI without the `access_token` a WebSocket may carry.
        .layer(TraceLayer::new_for_http().make_span_with(trace::request_span))
        .with_state(state)
}

/// Counts each request by method, route template and status (labels bounded: see `metrics`).
async fn record_request(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = crate::metrics::method_label(request.method());
    let response = next.run(request).await;
    let labels = RequestLabels {
        method,
        route,
        status: response.status().as_u16(),
    };
    state.metrics.requests.get_or_create(&labels).inc();
    response
}
