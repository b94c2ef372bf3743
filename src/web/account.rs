//! The caller's own account (v2 safety): `DELETE /api/me` deletes it, `GET /api/me/export`
//! streams their data as one JSON document, written here page by page as the export action
//! reads it (a failure midway cuts the response short, so a client never takes a truncated
//! export for a whole one).

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use tokio::sync::mpsc;
use utoipa::ToSchema;

use super::error::ApiError;
use super::extract::ApiJson;
use super::views::{TokenItemView, UserView};
use crate::app::AppState;
use crate::auth::address::ClientAddress;
use crate::auth::{Caller, SESSION_COOKIE};
use crate::domain::time::Timestamp;
use crate::domain::{MessageId, User};
use crate::export;
use crate::store::ConversationSummary;

#[derive(Deserialize, ToSchema)]
pub struct DeleteAccountBody {
    /// The account's password (a wrong one: 403 `wrong_password`, nothing changes).
    #[schema(example = "my-secret-password")]
    password: String,
    /// Whether the account's messages become tombstones and its uploads go (default true).
    #[serde(default)]
    delete_messages: Option<bool>,
}

/// Deletes the caller's account: its sessions, tokens and sockets end, it leaves every group,
/// its reactions go and (by default) its messages become tombstones; to others it becomes a
/// reserved `deleted-…` name shown as "Deleted account".
#[utoipa::path(delete, path = "/api/me", request_body = DeleteAccountBody, tag = "accounts",
    responses((status = 204, description = "deleted", headers(("Set-Cookie" = String, description = "clears the session cookie"))),
              (status = 403, description = "`wrong_password`"),
              (status = 429, description = "`rate_limited`")))]
pub async fn delete_me(
    State(state): State<AppState>,
    caller: Caller,
    from: ClientAddress,
    ApiJson(body): ApiJson<DeleteAccountBody>,
) -> Result<Response, ApiError> {
    crate::accounts::check_password(&state, &caller.user, body.password, from).await?;
    let delete_messages = body.delete_messages.unwrap_or(true);
    crate::deletion::delete_account(&state, &caller.user, delete_messages).await?;
    let clear = HeaderValue::from_str(&format!(
        "{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("linkup_session=; Max-Age=0"));
    Ok((StatusCode::NO_CONTENT, [(header::SET_COOKIE, clear)]).into_response())
}

/// The caller's data as one JSON document, streamed: `{"exported_at", "user", "conversations":
/// [{"id", "kind", "with"|"title", "role", "left", "messages"}], "uploads", "blocks", "tokens",
/// "reports"}`. At most one an hour.
#[utoipa::path(get, path = "/api/me/export", tag = "accounts",
    responses((status = 200, description = "the export, as an attachment", content_type = "application/json",
                headers(("Content-Disposition" = String, description = "attachment; filename=\"linkup-export-USERNAME.json\""))),
              (status = 429, description = "`rate_limited`")))]
pub async fn export(State(state): State<AppState>, caller: Caller) -> Result<Response, ApiError> {
    let at = export::claim(&state, &caller.user).await?;
    let (tx, rx) = mpsc::channel::<Result<Bytes, std::io::Error>>(8);
    let disposition = format!(
        "attachment; filename=\"linkup-export-{}.json\"",
        caller.user.username
    );
    tokio::spawn(async move {
        let out = Out(tx);
        if let Err(err) = write(&state, &caller, at, &out).await {
            tracing::warn!(error = %err, "an export was cut short");
            let _ = out
                .0
                .send(Err(std::io::Error::other(err.to_string())))
                .await;
        }
    });
    let body = Body::from_stream(futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|chunk| (chunk, rx))
    }));
    let mut response = (StatusCode::OK, body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if let Ok(value) = HeaderValue::from_str(&disposition) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    Ok(response)
}

/// Where the export is written: the response body's queue.
struct Out(mpsc::Sender<Result<Bytes, std::io::Error>>);

impl Out {
    /// Queues a piece; an error once the client has gone.
    async fn put(&self, piece: String) -> anyhow::Result<()> {
        self.0
            .send(Ok(Bytes::from(piece)))
            .await
            .map_err(|_| anyhow::anyhow!("the client went away"))
    }
}

fn json(value: &impl serde::Serialize) -> anyhow::Result<String> {
    Ok(serde_json::to_string(value)?)
}

async fn write(state: &AppState, caller: &Caller, at: Timestamp, out: &Out) -> anyhow::Result<()> {
    let user = &caller.user;
    let me = UserView::from(user.clone());
    out.put(format!(
        "{{\"exported_at\":{},\"user\":{},\"conversations\":[",
        json(&at)?,
        json(&me)?
    ))
    .await?;
    let conversations = export::conversations(state, user).await?;
    for (i, conversation) in conversations.iter().enumerate() {
        let comma = if i == 0 { "" } else { "," };
        out.put(format!("{comma}{}", conversation_head(conversation)?))
            .await?;
        write_messages(state, user, conversation, out).await?;
        out.put("]}".to_owned()).await?;
    }
    let uploads = export::uploads(state, user).await?;
    let blocks = export::blocks(state, user).await?;
    let tokens: Vec<TokenItemView> = export::tokens(state, caller)
        .await?
        .into_iter()
        .map(TokenItemView::from)
        .collect();
    let reports: Vec<serde_json::Value> = export::reports(state, user)
        .await?
        .into_iter()
        .map(|r| serde_json::json!({"message_id": r.message_id, "reason": r.reason, "at": r.at}))
        .collect();
    out.put(format!(
        "],\"uploads\":{},\"blocks\":{},\"tokens\":{},\"reports\":{}}}",
        json(&uploads)?,
        json(&blocks)?,
        json(&tokens)?,
        json(&reports)?
    ))
    .await
}

/// `{"id", "kind", "with"|"title", "role", "left", "messages":[` for one conversation.
fn conversation_head(c: &ConversationSummary) -> anyhow::Result<String> {
    let head = match (&c.group, &c.with) {
        (Some(group), _) => serde_json::json!({
            "id": c.id, "kind": "group", "title": group.title, "role": group.role, "left": group.left,
        }),
        (None, with) => serde_json::json!({
            "id": c.id, "kind": "direct", "with": with.clone().map(UserView::from), "role": null, "left": false,
        }),
    };
    let head = json(&head)?;
    let open = head.strip_suffix('}').unwrap_or(&head);
    Ok(format!("{open},\"messages\":["))
}

async fn write_messages(
    state: &AppState,
    user: &User,
    conversation: &ConversationSummary,
    out: &Out,
) -> anyhow::Result<()> {
    let mut after = MessageId(0);
    let mut first = true;
    loop {
        let (messages, more) = export::messages_after(state, user, conversation.id, after).await?;
        for message in &messages {
            let comma = if first { "" } else { "," };
            first = false;
            out.put(format!("{comma}{}", json(message)?)).await?;
            after = message.id;
        }
        if !more || messages.is_empty() {
            return Ok(());
        }
    }
}
