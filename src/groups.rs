//! Group conversations: creating one, reading it and its members, and every change members
//! make to it. Each action takes parsed input, resolves usernames once, commits through the
//! store (which judges the change by `domain::group_rules` in the same transaction) and then
//! publishes the events it wrote.

use crate::accounts;
use crate::app::App;
use crate::domain::error::Error;
use crate::domain::group::{Description, Group, Role, Settings, SettingsPatch, Title};
use crate::domain::ids::ConversationId;
use crate::domain::input::{ClientId, Username};
use crate::domain::time::Timestamp;
use crate::domain::{User, code};
use crate::store::{GroupEdit, GroupRequest, GroupWrite, Member, NewGroup, StoreError};

/// A group a client asks to create, parsed at the edge.
#[derive(Debug, Clone)]
pub struct GroupDraft {
    pub client_id: ClientId,
    pub title: Title,
    pub description: Description,
    pub settings: Settings,
    /// The people named, as written (their names are checked against the store here).
    pub members: Vec<String>,
}

/// What creating answers: the group, and whether this call created it.
pub struct Created {
    pub group: Group,
    pub created: bool,
}

fn group_error(err: StoreError) -> Error {
    match err {
        StoreError::NotFound => Error::ConversationNotFound,
        other => other.into(),
    }
}

/// The users named, each once, in the order first named, without `caller`; `user_not_found`
/// for a name no one has (a malformed one included). Repeats and the caller's own name are
/// dropped before anything is counted; more than `max` distinct others is `group_too_large`
/// before any name is looked up.
async fn resolve(
    app: &App,
    caller: &User,
    names: &[String],
    max: usize,
) -> Result<Vec<User>, Error> {
    let mut distinct: Vec<String> = Vec::new();
    for raw in names {
        let folded = raw.trim().to_lowercase();
        if folded != caller.username && !distinct.contains(&folded) {
            distinct.push(folded);
        }
        if distinct.len() > max {
            return Err(too_large(app));
        }
    }
    let mut users: Vec<User> = Vec::new();
    for raw in &distinct {
        let name = Username::parse(raw).map_err(|_| Error::UserNotFound(raw.clone()))?;
        let user = accounts::find_reachable_user(app, &name).await?;
        if user.id != caller.id && !users.iter().any(|u| u.id == user.id) {
            users.push(user);
        }
    }
    Ok(users)
}

fn too_large(app: &App) -> Error {
    Error::invalid(
        code::GROUP_TOO_LARGE,
        format!(
            "a group has at most {} members, its owner included",
            app.settings.max_group_members
        ),
    )
}

/// Creates a group owned by `creator` with the people named, idempotently on its `client_id`.
pub async fn create(app: &App, creator: &User, draft: GroupDraft) -> Result<Created, Error> {
    let max = app.settings.max_group_members;
    let members = resolve(app, creator, &draft.members, max).await?;
    if members.is_empty() {
        return Err(Error::invalid(
            code::INVALID_MEMBERS,
            "a group needs at least one member besides you",
        ));
    }
    if members.len() + 1 > max {
        return Err(too_large(app));
    }
    let mut new = NewGroup {
        creator: creator.clone(),
        client_id: draft.client_id.clone(),
        title: draft.title,
        description: draft.description,
        settings: draft.settings,
        members,
        only_retry: true,
        at: Timestamp::now(),
        requests: app.settings.message_requests,
    };
    let conflict = |err| match err {
        StoreError::Conflict(_) => Error::GroupClientIdConflict(draft.client_id.to_string()),
        other => other.into(),
    };
    // A retry of a group already created is answered first: it creates nothing, so it is not
    // counted against the creation rate.
    let written = match app.store.create_group(new.clone()).await {
        Err(StoreError::NotFound) => {
            app.group_create_limit.check(&creator.id)?;
            new.only_retry = false;
            app.store.create_group(new).await.map_err(conflict)?
        }
        answered => answered.map_err(conflict)?,
    };
    app.publish(written.events).await;
    let group = written
        .group
        .ok_or_else(|| Error::Internal(anyhow::anyhow!("a created group went missing")))?;
    Ok(Created {
        group,
        created: written.created,
    })
}

/// The group as `viewer` sees it.
pub async fn get(app: &App, viewer: &User, id: ConversationId) -> Result<Group, Error> {
    app.store.group(viewer.id, id).await.map_err(group_error)
}

/// The group's current members.
pub async fn members(app: &App, viewer: &User, id: ConversationId) -> Result<Vec<Member>, Error> {
    app.store
        .group_members(viewer.id, id)
        .await
        .map_err(group_error)
}

/// Applies one change by `actor` and publishes what it wrote.
async fn apply(
    app: &App,
    actor: &User,
    id: ConversationId,
    edit: GroupEdit,
) -> Result<GroupWrite, Error> {
    let request = GroupRequest {
        actor: actor.clone(),
        group: id,
        edit,
        max_members: app.settings.max_group_members,
        at: Timestamp::now(),
        requests: app.settings.message_requests,
    };
    let mut written = app.store.change_group(request).await.map_err(group_error)?;
    app.publish(std::mem::take(&mut written.events)).await;
    Ok(written)
}

/// Changes the title, description and settings given (each a no-op when unchanged).
pub async fn update(
    app: &App,
    actor: &User,
    id: ConversationId,
    title: Option<Title>,
    description: Option<Description>,
    settings: Option<SettingsPatch>,
) -> Result<Group, Error> {
    let edit = GroupEdit::Info {
        title,
        description,
        settings,
    };
    let written = apply(app, actor, id, edit).await?;
    written
        .group
        .ok_or_else(|| Error::Internal(anyhow::anyhow!("a changed group went missing")))
}

/// Adds the people named; answers who was added and who already was a member.
pub async fn add(
    app: &App,
    actor: &User,
    id: ConversationId,
    names: &[String],
) -> Result<(Vec<String>, Vec<String>), Error> {
    // The group is checked first, so a stranger learns nothing about the names.
    get(app, actor, id).await?;
    let users = resolve(app, actor, names, app.settings.max_group_members).await?;
    let written = apply(app, actor, id, GroupEdit::Add(users)).await?;
    let mut already = written.already_members;
    if names
        .iter()
        .any(|n| n.eq_ignore_ascii_case(&actor.username))
    {
        already.insert(0, actor.username.clone());
    }
    Ok((written.added, already))
}

/// The member named, for a change that targets one: an unknown name is `member_not_found`.
async fn member_named(app: &App, name: &str) -> Result<User, Error> {
    let name = Username::parse(name).map_err(|_| Error::MemberNotFound)?;
    match accounts::find_user(app, &name).await {
        Err(Error::UserNotFound(_)) => Err(Error::MemberNotFound),
        other => other,
    }
}

/// Removes the member named.
pub async fn remove(app: &App, actor: &User, id: ConversationId, name: &str) -> Result<(), Error> {
    get(app, actor, id).await?;
    let target = member_named(app, name).await?;
    apply(app, actor, id, GroupEdit::Remove(target)).await?;
    Ok(())
}

/// Gives the member named `role`; answers their member row.
pub async fn set_role(
    app: &App,
    actor: &User,
    id: ConversationId,
    name: &str,
    role: Role,
) -> Result<Member, Error> {
    get(app, actor, id).await?;
    let target = member_named(app, name).await?;
    let written = apply(app, actor, id, GroupEdit::SetRole(target, role)).await?;
    written.member.ok_or(Error::MemberNotFound)
}

/// The caller leaves the group.
pub async fn leave(app: &App, actor: &User, id: ConversationId) -> Result<(), Error> {
    apply(app, actor, id, GroupEdit::Leave).await?;
    Ok(())
}

/// The caller accepts a group that is a request for them (a no-op for any other member):
/// from now on it counts as shared with its other members (Safety).
pub async fn accept(app: &App, actor: &User, id: ConversationId) -> Result<(), Error> {
    app.store
        .accept_group(actor.id, id)
        .await
        .map_err(group_error)
}
