//! The WebSocket surface: `/ws/chat/{username}/`, `/ws/groups/{id}/` and `/ws/notifications/`,
//! declared once with typed parameters. This module authenticates the upgrade (bearer token in the header or
//! `access_token`, or the session cookie from an allowed `Origin`), checks the cursor and the
//! per-user connection cap, and hands the socket to `connection`.

pub mod connection;
pub mod frames;

use axum::extract::State;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::http::{HeaderMap, header};
use axum::response::Response;
use serde::Deserialize;

use crate::app::AppState;
use crate::auth::{Caller, SESSION_COOKIE};
use crate::domain::code;
use crate::domain::error::Error;
use crate::domain::input;
use crate::web::error::ApiError;
use crate::web::extract::{ApiPath, ApiQuery, cookie};
use crate::{accounts, conversations, groups, sync};
use connection::{Connection, Scope};

/// The largest frame or message a client may send; more closes the socket with 1009.
pub const MAX_FRAME_BYTES: usize = 64 * 1024;
/// Each socket's read buffer, allocated at the upgrade and held while the socket is open (the
/// largest part of an idle socket's memory). It also bounds one read from the socket: client
/// frames are a few hundred bytes, so one read takes one or two of them; a larger frame grows
/// the buffer to its length and takes a read per 512 bytes. 2 KiB cost 1.5 KiB more a socket
/// and no throughput (BENCHMARKS.md, *Memory per idle socket*).
const READ_BUFFER_BYTES: usize = 512;
/// Outgoing frames gather in the socket's buffer until it is flushed (once per turn of the
/// connection loop) or holds this much; the buffer only grows on sockets that write a lot.
const WRITE_BUFFER_BYTES: usize = 8 * 1024;

#[derive(Debug, Deserialize)]
pub struct WsQuery {
    /// Replay events after this cursor before going live.
    since: Option<String>,
    /// A bearer token, for clients that cannot set headers.
    access_token: Option<String>,
}

/// `GET /ws/notifications/`: every event concerning the user.
pub async fn notifications(
    State(app): State<AppState>,
    headers: HeaderMap,
    ApiQuery(query): ApiQuery<WsQuery>,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Result<Response, ApiError> {
    let caller = authenticate(&app, &headers, query.access_token.as_deref()).await?;
    open(
        app,
        caller,
        Scope::Everything,
        query.since.as_deref(),
        upgrade,
    )
    .await
}

/// `GET /ws/chat/{username}/`: the conversation with one person.
pub async fn chat(
    State(app): State<AppState>,
    ApiPath(username): ApiPath<String>,
    headers: HeaderMap,
    ApiQuery(query): ApiQuery<WsQuery>,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Result<Response, ApiError> {
    let caller = authenticate(&app, &headers, query.access_token.as_deref()).await?;
    let other = input::named_user(&username)?;
    // The conversation's id if it has begun; one that starts later is learnt from its first
    // message.
    let (other, conversation) = conversations::direct(&app, &caller.user, &other).await?;
    let scope = Scope::Chat {
        other,
        conversation,
    };
    open(app, caller, scope, query.since.as_deref(), upgrade).await
}

/// `GET /ws/groups/{id}/`: one group. Refused before the upgrade for a group the caller never
/// belonged to (404 `conversation_not_found`) or has left (403 `not_a_member`).
pub async fn group(
    State(app): State<AppState>,
    ApiPath(id): ApiPath<String>,
    headers: HeaderMap,
    ApiQuery(query): ApiQuery<WsQuery>,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Result<Response, ApiError> {
    let caller = authenticate(&app, &headers, query.access_token.as_deref()).await?;
    let id = input::path_conversation_id(&id)?;
    if groups::get(&app, &caller.user, id).await?.role.is_none() {
        return Err(Error::forbidden(
            code::NOT_A_MEMBER,
            "you are no longer a member of this group",
        )
        .into());
    }
    open(
        app,
        caller,
        Scope::Group(id),
        query.since.as_deref(),
        upgrade,
    )
    .await
}

/// Bearer token (header, then `access_token`), else the session cookie from an allowed origin.
async fn authenticate(
    app: &AppState,
    headers: &HeaderMap,
    access_token: Option<&str>,
) -> Result<Caller, ApiError> {
    let header_token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(crate::auth::bearer_token);
    if let Some(token) = header_token.or(access_token) {
        return accounts::caller_from_token(app, token.trim())
            .await?
            .ok_or(Error::NotAuthenticated.into());
    }
    let Some(session) = cookie(headers, SESSION_COOKIE) else {
        return Err(Error::NotAuthenticated.into());
    };
    let origin = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok());
    let allowed = origin.is_some_and(|o| {
        app.settings
            .allowed_origins
            .iter()
            .any(|a| a.eq_ignore_ascii_case(o))
    });
    if !allowed {
        return Err(Error::OriginNotAllowed(origin.unwrap_or("(none)").to_owned()).into());
    }
    accounts::caller_from_session(app, session)
        .await?
        .ok_or(Error::NotAuthenticated.into())
}

async fn open(
    app: AppState,
    caller: Caller,
    scope: Scope,
    since: Option<&str>,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Result<Response, ApiError> {
    let upgrade = upgrade.map_err(|_| {
        Error::invalid(
            code::WEBSOCKET_REQUIRED,
            "this route only accepts WebSocket upgrade requests",
        )
    })?;
    if app.shutdown.is_cancelled() {
        return Err(Error::Unavailable.into());
    }
    let since = since.map(input::since).transpose()?;
    let start = sync::start_cursor(&app, &caller.user, since).await?;
    // Counted and registered in one step: concurrent connects cannot pass the cap together.
    let cap = app.settings.max_sockets_per_user;
    let registration = app
        .hub
        .subscribe(
            caller.user.id,
            caller.credential.digest().to_vec(),
            app.settings.ws_queue,
            cap,
        )
        .map_err(|_| Error::TooManyConnections(cap))?;
    let tasks = app.tasks.clone();
    Ok(upgrade
        .read_buffer_size(READ_BUFFER_BYTES)
        .write_buffer_size(WRITE_BUFFER_BYTES)
        .max_write_buffer_size(1024 * 1024)
        .max_message_size(MAX_FRAME_BYTES)
        .max_frame_size(MAX_FRAME_BYTES)
        .on_upgrade(move |socket| {
            // The connection gets a task of its own, and axum's upgrade task (which would hold
            // this closure's captures beside the connection for the socket's whole life) ends.
            let (subscription, first) = registration;
            let connection = Connection::new(app, socket, caller, scope, start);
            tasks.spawn(connection.run(subscription, first));
            std::future::ready(())
        }))
}
