//! What the store is asked to do with groups and what it answers: a group to create, a change
//! to one, the members listed. The rules the store applies inside its transaction are
//! `domain::group_rules`; the record each change leaves is `domain::group_change`.

use super::{Refusal, StoreError};
use crate::domain::code;
use crate::domain::event::UserEvent;
use crate::domain::group::{Description, Group, Info, Role, Settings, SettingsPatch, Title};
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
