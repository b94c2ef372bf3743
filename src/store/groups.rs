//! What the store is asked to do with groups and what it answers: a group to create, a change
//! to one, the members listed. The rules the store applies inside its transaction are
//! `domain::group_rules`; the record each change leaves is `domain::group_change`.

use super::{Refusal, StoreError};
use crate::domain::code;
use crate::domain::event::UserEvent;
use crate::domain::group::{Description, Group, Info, Role, Settings, SettingsPatch, Title};
use crate::domain::group_change::Change;
use crate::domain::group_rules;
use crate::domain::ids::{ConversationId, UserId};
use crate::domain::input::ClientId;
use crate::domain::time::Timestamp;
use crate::domain::{Message, User};

/// A group to create, with the caller as its owner. `members` are the others, each once, in the
/// order named, none of them the creator.
#[derive(Debug, Clone)]
pub struct NewGroup {
    pub creator: User,
    pub client_id: ClientId,
    pub title: Title,
    pub description: Description,
    pub settings: Settings,
    pub members: Vec<User>,
    /// Answer a retry only: `NotFound` rather than create (the creator is over their rate).
    pub only_retry: bool,
    pub at: Timestamp,
    /// Message requests are on: a member the creator could only message as a request gets
    /// the group as a request (`store::safety`).
    pub requests: bool,
}

/// One change to a group.
#[derive(Debug, Clone)]
pub enum GroupEdit {
    /// Title, description and settings, each only if given (one system message per field that
    /// changes).
    Info {
        title: Option<Title>,
        description: Option<Description>,
        settings: Option<SettingsPatch>,
    },
    /// People to add, in the order named, each once.
    Add(Vec<User>),
    Remove(User),
    SetRole(User, Role),
    Leave,
}

/// A member asking for a change to a group.
#[derive(Debug, Clone)]
pub struct GroupRequest {
    pub actor: User,
    pub group: ConversationId,
    pub edit: GroupEdit,
    /// The most members the group may have (`--max-group-members`).
    pub max_members: usize,
    pub at: Timestamp,
    /// As `NewGroup::requests`, for an add.
    pub requests: bool,
}

/// What a group write did: the group as the actor now sees it, whether a creation was new, the
/// system messages written (as the actor sees them), who was added or already a member, and
/// the events to publish.
#[derive(Debug, Clone, Default)]
pub struct GroupWrite {
    pub group: Option<Group>,
    pub created: bool,
    pub messages: Vec<Message>,
    pub added: Vec<String>,
    pub already_members: Vec<String>,
    /// The member whose role a `SetRole` left, with it.
    pub member: Option<Member>,
    pub events: Vec<UserEvent>,
}

/// A current member of a group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub user: User,
    pub role: Role,
    pub joined_at: Timestamp,
}

/// A person's membership row of a group, as both backends read it: their role, whether they
/// are a current member, and what the group was at their exit.
#[derive(Debug, Clone)]
pub struct Standing {
    pub role: Role,
    pub current: bool,
    pub at_exit: Option<Info>,
}

impl Standing {
    /// `NotFound` for someone never a member (`None`), `Refused(not_a_member)` for a past
    /// member (`Some(false)`).
    pub fn require(current: Option<bool>) -> Result<(), StoreError> {
        match current {
            None => Err(StoreError::NotFound),
            Some(true) => Ok(()),
            Some(false) => Err(StoreError::Refused(
                Refusal::Forbidden(code::NOT_A_MEMBER),
                "you are no longer a member of this group".into(),
            )),
        }
    }

    /// `Refused(not_a_member)` unless this is a current membership.
    pub fn require_current(&self) -> Result<(), StoreError> {
        if self.current {
            Ok(())
        } else {
            Err(StoreError::Refused(
                Refusal::Forbidden(code::NOT_A_MEMBER),
                "you are no longer a member of this group".into(),
            ))
        }
    }
}

/// The refusal for a change that names someone who is not a current member.
pub fn member_not_found() -> StoreError {
    StoreError::Refused(
        Refusal::MemberNotFound,
        "no such member of this group".into(),
    )
}

/// Who of `users` an add adds and who already is a member, given the current members;
/// `group_too_large` (nobody added) past `max_members`.
pub fn plan_add<'a>(
    current: &[UserId],
    users: &'a [User],
    max_members: usize,
) -> Result<(Vec<&'a User>, Vec<&'a User>), StoreError> {
    let (already, new): (Vec<&User>, Vec<&User>) =
        users.iter().partition(|u| current.contains(&u.id));
    if current.len() + new.len() > max_members {
        return Err(StoreError::Refused(
            Refusal::Invalid(code::GROUP_TOO_LARGE),
            format!("a group has at most {max_members} members"),
        ));
    }
    Ok((new, already))
}

/// A group's own row, as both backends read it: title, description, settings, creator and
/// creation time.
#[derive(Debug, Clone)]
pub struct GroupRow {
    pub title: String,
    pub description: String,
    pub settings: Settings,
    pub created_by: String,
    pub created_at: Timestamp,
}

impl GroupRow {
    /// The group object as someone with `standing` sees it: as it is now, with
    /// `member_count` current members, for a current member; as it was at their exit for a
    /// past one (`member_count` is then not needed).
    pub fn view(self, id: ConversationId, standing: Standing, member_count: Option<i64>) -> Group {
        let info = match standing.at_exit {
            Some(info) if !standing.current => info,
            _ => Info {
                title: self.title,
                description: self.description,
                settings: self.settings,
                member_count: member_count.unwrap_or(0),
            },
        };
        Group {
            id,
            kind: "group".into(),
            title: info.title,
            description: info.description,
            created_at: self.created_at,
            created_by: self.created_by,
            member_count: info.member_count,
            role: standing.current.then_some(standing.role),
            settings: info.settings,
        }
    }
}

/// What an edit of a group's info does, judged by the rules against the group as it stands:
/// the system record of each field that changes (title, description, settings, in that order)
/// and the values to write.
#[derive(Debug, Default)]
pub struct InfoPlan {
    pub changes: Vec<Change>,
    pub title: Option<String>,
    pub description: Option<String>,
    pub settings: Option<Settings>,
}

/// Plans an info edit by someone with `role`; unchanged values are no-ops, and a refusal of any
/// part refuses the whole.
pub fn plan_info(
    role: Role,
    row: &GroupRow,
    title: Option<&Title>,
    description: Option<&Description>,
    settings: Option<&SettingsPatch>,
) -> Result<InfoPlan, StoreError> {
    let mut plan = InfoPlan::default();
    if let Some(title) = title.filter(|t| t.as_str() != row.title) {
        group_rules::may_edit_info(role, &row.settings)?;
        plan.changes.push(Change::Renamed {
            title: title.as_str().to_owned(),
            old_title: row.title.clone(),
        });
        plan.title = Some(title.as_str().to_owned());
    }
    if let Some(description) = description.filter(|d| d.as_str() != row.description) {
        group_rules::may_edit_info(role, &row.settings)?;
        plan.changes.push(Change::DescriptionChanged {
            description: description.as_str().to_owned(),
        });
        plan.description = Some(description.as_str().to_owned());
    }
    if let Some(patch) = settings {
        let changed = patch.changes(row.settings);
        if !changed.is_empty() {
            group_rules::may_change_settings(role)?;
            plan.changes
                .push(Change::SettingsChanged { settings: changed });
            plan.settings = Some(patch.applied_to(row.settings));
        }
    }
    Ok(plan)
}
