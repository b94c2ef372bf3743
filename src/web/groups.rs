//! `/api/groups/*`: creating a group, reading and changing it, its members, leaving, and its
//! messages (history, send, read-up-to, a chat view's re-sync) by id.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::Value;
use utoipa::ToSchema;

use super::conversations::{ConversationSyncQuery, HistoryQuery, ReadBody, SendBody};
use super::error::ApiError;
use super::extract::{ApiJson, ApiPath, ApiQuery};
use super::views::{
    AddedView, ConversationSyncView, HistoryView, MemberView, MembersView, UpdatedView,
};
use crate::app::AppState;
use crate::auth::Caller;
use crate::domain::group::{Description, Group, Role, Settings, SettingsPatch, Title};
use crate::domain::input::{self, ClientId};
use crate::domain::{Error, Message, code};
use crate::groups::{self, GroupDraft};
use crate::messages::{self, Draft, Target};
use crate::{conversations, receipts};

#[derive(Deserialize, ToSchema)]
pub struct CreateGroupBody {
    /// 1–64 of `[A-Za-z0-9_-]`: a retry with the same one answers the same group.
    #[schema(example = "grp-1")]
    client_id: String,
    /// 1–100 characters after trimming.
    #[schema(example = "Project Atlas")]
    title: String,
    /// Usernames of the other members (the caller and repeats are ignored).
    #[schema(value_type = Vec<String>, example = json!(["bob", "carol"]))]
    members: Value,
    /// At most 1000 characters.
    description: Option<String>,
    /// Any of `only_admins_send`, `only_admins_edit_info`, `only_admins_add` (booleans) and
    /// `history` (`"shared"` or `"joined"`).
    #[schema(value_type = Option<Object>)]
    settings: Option<Value>,
}

#[derive(Deserialize, ToSchema)]
pub struct UpdateGroupBody {
    title: Option<String>,
    description: Option<String>,
    /// Only the keys to change.
    #[schema(value_type = Option<Object>)]
    settings: Option<Value>,
}

#[derive(Deserialize, ToSchema)]
pub struct AddMembersBody {
    #[schema(value_type = Vec<String>, example = json!(["dave"]))]
    usernames: Value,
}

#[derive(Deserialize, ToSchema)]
pub struct RoleBody {
    /// `admin` or `member`.
    #[schema(example = "admin")]
    role: String,
}

/// A JSON array of strings, else `code`.
fn names(value: &Value, code: &'static str, field: &str) -> Result<Vec<String>, Error> {
    let invalid = || Error::invalid(code, format!("{field} must be an array of usernames"));
    value
        .as_array()
        .ok_or_else(invalid)?
        .iter()
        .map(|v| v.as_str().map(str::to_owned).ok_or_else(invalid))
        .collect()
}

fn created_or_ok(created: bool) -> StatusCode {
    if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    }
}

/// Creates a group with the caller as owner: 201, or 200 for a retry with the same `client_id`.
#[utoipa::path(post, path = "/api/groups", request_body = CreateGroupBody, tag = "groups",
    responses((status = 201, body = Group), (status = 200, body = Group),
              (status = 400, description = "`invalid_client_id`, `invalid_title`, `invalid_description`, `invalid_settings`, `invalid_members`, `group_too_large`"),
              (status = 403, description = "`cannot_add_user` (a named user blocks the caller or is blocked by them)"),
              (status = 404, description = "`user_not_found`"), (status = 409, description = "`client_id_conflict`"),
              (status = 429, description = "`rate_limited`")))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<CreateGroupBody>,
) -> Result<(StatusCode, Json<Group>), ApiError> {
    let settings = match &body.settings {
        Some(value) => SettingsPatch::parse(value)?.applied_to(Settings::default()),
        None => Settings::default(),
    };
    let draft = GroupDraft {
        client_id: ClientId::parse(&body.client_id)?,
        title: Title::parse(&body.title)?,
        description: Description::parse(body.description.as_deref().unwrap_or(""))?,
        settings,
        members: names(&body.members, code::INVALID_MEMBERS, "members")?,
    };
    let created = groups::create(&state, &caller.user, draft).await?;
    Ok((created_or_ok(created.created), Json(created.group)))
}

/// The group as the caller sees it (a past member: as it was at their exit, `role` null).
#[utoipa::path(get, path = "/api/groups/{id}", tag = "groups",
    params(("id" = i64, Path, description = "the group's id")),
    responses((status = 200, body = Group), (status = 404, description = "`conversation_not_found`")))]
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Group>, ApiError> {
    let id = input::path_conversation_id(&id)?;
    Ok(Json(groups::get(&state, &caller.user, id).await?))
}

/// Changes the title, description or settings (each unchanged value is a no-op).
#[utoipa::path(patch, path = "/api/groups/{id}", request_body = UpdateGroupBody, tag = "groups",
    params(("id" = i64, Path, description = "the group's id")),
    responses((status = 200, body = Group),
              (status = 400, description = "`invalid_title`, `invalid_description`, `invalid_settings`"),
              (status = 403, description = "`admin_required`, `not_a_member`"),
              (status = 404, description = "`conversation_not_found`")))]
pub async fn update(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<UpdateGroupBody>,
) -> Result<Json<Group>, ApiError> {
    let id = input::path_conversation_id(&id)?;
    let title = body.title.as_deref().map(Title::parse).transpose()?;
    let description = body
        .description
        .as_deref()
        .map(Description::parse)
        .transpose()?;
    let settings = body
        .settings
        .as_ref()
        .map(SettingsPatch::parse)
        .transpose()?;
    let group = groups::update(&state, &caller.user, id, title, description, settings).await?;
    Ok(Json(group))
}

/// The current members, in the order they joined.
#[utoipa::path(get, path = "/api/groups/{id}/members", tag = "groups",
    params(("id" = i64, Path, description = "the group's id")),
    responses((status = 200, body = MembersView), (status = 403, description = "`not_a_member`"),
              (status = 404, description = "`conversation_not_found`")))]
pub async fn members(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<MembersView>, ApiError> {
    let id = input::path_conversation_id(&id)?;
    let members = groups::members(&state, &caller.user, id).await?;
    Ok(Json(MembersView {
        members: members.into_iter().map(Into::into).collect(),
    }))
}

/// Adds people: who was added, and who already was a member.
#[utoipa::path(post, path = "/api/groups/{id}/members", request_body = AddMembersBody, tag = "groups",
    params(("id" = i64, Path, description = "the group's id")),
    responses((status = 200, body = AddedView),
              (status = 400, description = "`invalid_usernames`, `group_too_large`"),
              (status = 403, description = "`admin_required`, `not_a_member`, `cannot_add_user`"),
              (status = 404, description = "`conversation_not_found`, `user_not_found`")))]
pub async fn add(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<AddMembersBody>,
) -> Result<Json<AddedView>, ApiError> {
    let id = input::path_conversation_id(&id)?;
    let usernames = names(&body.usernames, code::INVALID_USERNAMES, "usernames")?;
    let (added, already_members) = groups::add(&state, &caller.user, id, &usernames).await?;
    Ok(Json(AddedView {
        added,
        already_members,
    }))
}

/// Removes a member (admins; never the owner).
#[utoipa::path(delete, path = "/api/groups/{id}/members/{username}", tag = "groups",
    params(("id" = i64, Path, description = "the group's id"), ("username" = String, Path, description = "the member")),
    responses((status = 204), (status = 403, description = "`admin_required`, `owner_required`, `not_a_member`"),
              (status = 404, description = "`conversation_not_found`, `member_not_found`")))]
pub async fn remove(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((id, username)): ApiPath<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let id = input::path_conversation_id(&id)?;
    groups::remove(&state, &caller.user, id, &username).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Makes a member an admin, or an admin a member (the owner only).
#[utoipa::path(patch, path = "/api/groups/{id}/members/{username}", request_body = RoleBody, tag = "groups",
    params(("id" = i64, Path, description = "the group's id"), ("username" = String, Path, description = "the member")),
    responses((status = 200, body = MemberView), (status = 400, description = "`invalid_role`"),
              (status = 403, description = "`admin_required`, `owner_required`, `not_a_member`"),
              (status = 404, description = "`conversation_not_found`, `member_not_found`")))]
pub async fn set_role(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((id, username)): ApiPath<(String, String)>,
    ApiJson(body): ApiJson<RoleBody>,
) -> Result<Json<MemberView>, ApiError> {
    let id = input::path_conversation_id(&id)?;
    let role = Role::parse_assignable(&body.role)?;
    let member = groups::set_role(&state, &caller.user, id, &username, role).await?;
    Ok(Json(member.into()))
}

/// Leaves the group (an owner hands it to the longest-serving admin, else member).
#[utoipa::path(post, path = "/api/groups/{id}/leave", tag = "groups",
    params(("id" = i64, Path, description = "the group's id")),
    responses((status = 204), (status = 404, description = "`conversation_not_found`, `member_not_found`")))]
pub async fn leave(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    let id = input::path_conversation_id(&id)?;
    groups::leave(&state, &caller.user, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Accepts a group that is a message request for the caller (a no-op otherwise): from then on
/// it counts as shared with its other members.
#[utoipa::path(post, path = "/api/groups/{id}/accept", tag = "groups",
    params(("id" = i64, Path, description = "the group's id")),
    responses((status = 204), (status = 403, description = "`not_a_member`"),
              (status = 404, description = "`conversation_not_found`")))]
pub async fn accept(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    let id = input::path_conversation_id(&id)?;
    groups::accept(&state, &caller.user, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Sends in the group, idempotently on `client_id`: 201 when stored now, 200 for a retry.
#[utoipa::path(post, path = "/api/groups/{id}/messages", request_body = SendBody, tag = "groups",
    params(("id" = i64, Path, description = "the group's id")),
    responses((status = 201, body = Message), (status = 200, body = Message),
              (status = 400, description = "`invalid_client_id`, `invalid_attachment`, `invalid_body`, `body_too_long`, `invalid_reply_to`"),
              (status = 403, description = "`not_a_member`, `admin_required`"),
              (status = 404, description = "`conversation_not_found`"), (status = 409, description = "`client_id_conflict`"),
              (status = 429, description = "`rate_limited`")))]
pub async fn send(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<SendBody>,
) -> Result<(StatusCode, Json<Message>), ApiError> {
    let id = input::path_conversation_id(&id)?;
    let draft = Draft::compose(
        || Ok(Target::Group(id)),
        &body.client_id,
        &body.body,
        body.reply_to.as_ref(),
        body.attachments.as_ref(),
        state.settings.max_body_chars,
    )?;
    let (message, created) = messages::send(&state, &caller.user, draft).await?;
    Ok((created_or_ok(created), Json(message)))
}

/// A page of the group's messages, ascending by id, within the caller's visible range.
#[utoipa::path(get, path = "/api/groups/{id}/messages", tag = "groups",
    params(("id" = i64, Path, description = "the group's id"), HistoryQuery),
    responses((status = 200, body = HistoryView), (status = 400, description = "`invalid_before_id`, `invalid_limit`"),
              (status = 404, description = "`conversation_not_found`")))]
pub async fn history(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiQuery(query): ApiQuery<HistoryQuery>,
) -> Result<Json<HistoryView>, ApiError> {
    let id = input::path_conversation_id(&id)?;
    let (before, limit) = query.parse()?;
    let page = conversations::group_history(&state, &caller.user, id, before, limit).await?;
    Ok(Json(HistoryView {
        messages: page.messages,
        has_more: page.has_more,
    }))
}

/// Marks everything from others up to `up_to_id` read.
#[utoipa::path(post, path = "/api/groups/{id}/read", request_body = ReadBody, tag = "groups",
    params(("id" = i64, Path, description = "the group's id")),
    responses((status = 200, body = UpdatedView), (status = 400, description = "`invalid_message_id`"),
              (status = 404, description = "`conversation_not_found`, `message_not_found`")))]
pub async fn read(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<ReadBody>,
) -> Result<Json<UpdatedView>, ApiError> {
    let id = input::path_conversation_id(&id)?;
    let up_to = input::message_id(body.up_to_id, "up_to_id")?;
    let marked = receipts::read_group_up_to(&state, &caller.user, id, up_to).await?;
    Ok(Json(marked.into()))
}

/// Messages after `after_id` plus the statuses of the latest 500 up to it.
#[utoipa::path(get, path = "/api/groups/{id}/sync", tag = "groups",
    params(("id" = i64, Path, description = "the group's id"), ConversationSyncQuery),
    responses((status = 200, body = ConversationSyncView), (status = 400, description = "`invalid_after_id`, `invalid_limit`"),
              (status = 404, description = "`conversation_not_found`")))]
pub async fn sync(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiQuery(query): ApiQuery<ConversationSyncQuery>,
) -> Result<Json<ConversationSyncView>, ApiError> {
    let id = input::path_conversation_id(&id)?;
    let (after, limit) = query.parse()?;
    let synced = conversations::group_sync(&state, &caller.user, id, after, limit).await?;
    Ok(Json(synced.into()))
}
