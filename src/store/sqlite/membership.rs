//! Changes to a group on SQLite, each one job of the writer: the actor's standing and the
//! group's settings are read, `domain::group_rules` judges the change, and the change is
//! written with its system message and an event for every current member (the one who leaves
//! or is removed included: it is their last of the group). An exit also closes the member's
//! visible range, keeps what the group was then, and tells each sender whose messages it
//! completes (`store::receipts::completions_on_exit`).

use rusqlite::{Connection, params};

use super::events::append_event;
use super::groups::{
    admit, current_members, encode, group, group_row, member_count, post_system, standing,
};
use super::marks::others;
use super::other;
use super::safety;
use crate::domain::event::UserEvent;
use crate::domain::group::{Info, Role};
use crate::domain::group_change::Change;
use crate::domain::group_rules;
use crate::domain::ids::{ConversationId, MessageId, UserId};
use crate::domain::receipt::Marks;

use crate::domain::{MessageStatus, User};
use crate::store::StoreError;
use crate::store::groups::{
    GroupEdit, GroupRequest, GroupRow, GroupWrite, Member, member_not_found, plan_add, plan_info,
};
use crate::store::receipts::{completions_on_exit, exit_events};
use crate::store::records::KIND_STATUS;

/// Applies one change to a group; runs inside the writer's transaction.
pub fn change_group(conn: &Connection, req: &GroupRequest) -> Result<GroupWrite, StoreError> {
    let id = req.group;
    let row = group_row(conn, id)?.ok_or(StoreError::NotFound)?;
    let actor = standing(conn, id, req.actor.id)?;
    let mut write = GroupWrite::default();
    match &req.edit {
        GroupEdit::Leave => {
            if !actor.current {
                return Err(member_not_found());
            }
            leave(conn, req, &row, actor.role, &mut write)?;
        }
        edit => {
            actor.require_current()?;
            match edit {
                GroupEdit::Info {
                    title,
                    description,
                    settings,
                } => {
                    let plan = plan_info(
                        actor.role,
                        &row,
                        title.as_ref(),
                        description.as_ref(),
                        settings.as_ref(),
                    )?;
                    if let Some(title) = &plan.title {
                        set_text(conn, id, "title", title)?;
                    }
                    if let Some(description) = &plan.description {
                        set_text(conn, id, "description", description)?;
                    }
                    if let Some(settings) = &plan.settings {
                        set_text(conn, id, "settings", &encode(settings)?)?;
                    }
                    let audience = current_members(conn, id)?;
                    for change in plan.changes {
                        post(conn, req, &change, &audience, &mut write)?;
                    }
                }
                GroupEdit::Add(users) => add(conn, req, &row, actor.role, users, &mut write)?,
                GroupEdit::Remove(target) => {
                    let target_standing = standing(conn, id, target.id)
                        .ok()
                        .filter(|s| s.current)
                        .ok_or_else(member_not_found)?;
                    group_rules::may_remove(actor.role, target_standing.role)?;
                    exit(
                        conn,
                        req,
                        target,
                        Change::MemberRemoved {
                            removed: target.username.clone(),
                        },
                        &mut write,
                    )?;
                }
                GroupEdit::SetRole(target, role) => {
                    let target_standing = standing(conn, id, target.id)
                        .ok()
                        .filter(|s| s.current)
                        .ok_or_else(member_not_found)?;
                    group_rules::may_set_role(actor.role, target_standing.role, *role)?;
                    if target_standing.role != *role {
                        set_role(conn, id, target.id, *role)?;
                        let audience = current_members(conn, id)?;
                        let change = Change::RoleChanged {
                            member: target.username.clone(),
                            role: *role,
                        };
                        post(conn, req, &change, &audience, &mut write)?;
                    }
                    write.member = super::groups::members(conn, req.actor.id, id)?
                        .into_iter()
                        .find(|m: &Member| m.user.id == target.id);
                }
                GroupEdit::Leave => unreachable!("handled above"),
            }
        }
    }
    write.group = Some(group(conn, req.actor.id, id)?);
    Ok(write)
}

/// Writes the system message of `change` with an event for each of `audience`.
fn post(
    conn: &Connection,
    req: &GroupRequest,
    change: &Change,
    audience: &[UserId],
    write: &mut GroupWrite,
) -> Result<MessageId, StoreError> {
    let (message, events) = post_system(conn, req.group, &req.actor, change, audience, req.at)?;
    let id = message.id;
    write.messages.push(message);
    write.events.extend(events);
    Ok(id)
}

fn set_text(
    conn: &Connection,
    id: ConversationId,
    column: &str,
    value: &str,
) -> Result<(), StoreError> {
    let sql = format!("UPDATE conversations SET {column} = ?1 WHERE id = ?2");
    conn.prepare_cached(&sql)
        .and_then(|mut s| s.execute(params![value, id.0]))
        .map(|_| ())
        .map_err(other)
}

fn set_role(
    conn: &Connection,
    id: ConversationId,
    user: UserId,
    role: Role,
) -> Result<(), StoreError> {
    conn.prepare_cached(
        "UPDATE conversation_members SET role = ?1 WHERE conversation_id = ?2 AND user_id = ?3",
    )
    .and_then(|mut s| s.execute(params![role.as_str(), id.0, user.0]))
    .map(|_| ())
    .map_err(other)
}

/// Adds the users who are not current members, with one `members_added` message.
fn add(
    conn: &Connection,
    req: &GroupRequest,
    row: &GroupRow,
    role: Role,
    users: &[User],
    write: &mut GroupWrite,
) -> Result<(), StoreError> {
    group_rules::may_add(role, &row.settings)?;
    let current = current_members(conn, req.group)?;
    let (new, already) = plan_add(&current, users, req.max_members)?;
    write.already_members = already.iter().map(|u| u.username.clone()).collect();
    if new.is_empty() {
        return Ok(());
    }
    let states = safety::admit(conn, req.actor.id, &new, req.requests)?;
    write.added = new.iter().map(|u| u.username.clone()).collect();
    let mut audience = current;
    audience.extend(new.iter().map(|u| u.id));
    let change = Change::MembersAdded {
        added: write.added.clone(),
    };
    let message = post(conn, req, &change, &audience, write)?;
    let joining: Vec<(UserId, Role)> = new.iter().map(|u| (u.id, Role::Member)).collect();
    admit(
        conn,
        req.group,
        &joining,
        message,
        row.settings.history,
        req.at,
    )?;
    let admitted: Vec<(UserId, i64)> = new.iter().map(|u| u.id).zip(states).collect();
    safety::admitted(conn, req.group, req.actor.id, &admitted)
}

/// The actor leaves; an owner hands the group to the longest-serving admin, else member.
fn leave(
    conn: &Connection,
    req: &GroupRequest,
    _row: &GroupRow,
    role: Role,
    write: &mut GroupWrite,
) -> Result<(), StoreError> {
    let mut new_owner = None;
    if role == Role::Owner {
        let heir: Option<(i64, String)> = conn
            .prepare_cached(
                "SELECT me.user_id, u.username FROM conversation_members me \
                 JOIN users u ON u.id = me.user_id \
                 WHERE me.conversation_id = ?1 AND me.left_id IS NULL AND me.user_id != ?2 \
                 ORDER BY me.role = 'admin' DESC, me.joined_id, me.joined_rank LIMIT 1",
            )
            .and_then(|mut s| {
                s.query_row(params![req.group.0, req.actor.id.0], |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })
            })
            .map(Some)
            .or_else(|e| match e {
                rusqlite::Error::QueryReturnedNoRows => Ok(None),
                e => Err(e),
            })
            .map_err(other)?;
        if let Some((heir, name)) = heir {
            set_role(conn, req.group, UserId(heir), Role::Owner)?;
            new_owner = Some(name);
        }
    }
    let actor = req.actor.clone();
    // Leaving a group that is a request for the leaver declines it.
    safety::left_group(conn, req.group, actor.id)?;
    exit(conn, req, &actor, Change::MemberLeft { new_owner }, write)
}

/// `member` leaves the group by `change` (a removal or a leave): the message goes to every
/// current member, them included; then their range closes, what the group is now is kept for
/// them, and the senders whose messages they held back are told those are complete.
fn exit(
    conn: &Connection,
    req: &GroupRequest,
    member: &User,
    change: Change,
    write: &mut GroupWrite,
) -> Result<(), StoreError> {
    let id = req.group;
    // Every current member (no user has id 0), with their marks before the exit.
    let before: Vec<(UserId, Marks)> = others(conn, id, UserId(0))?
        .into_iter()
        .map(|(user, m)| (user, m.marks))
        .collect();
    let audience = current_members(conn, id)?;
    let message = post(conn, req, &change, &audience, write)?;
    let row = group_row(conn, id)?.ok_or(StoreError::NotFound)?;
    let info = Info {
        title: row.title,
        description: row.description,
        settings: row.settings,
        member_count: member_count(conn, id)? - 1,
    };
    conn.prepare_cached(
        "UPDATE conversation_members SET left_id = ?1, left_info = ?2, role = 'member' \
         WHERE conversation_id = ?3 AND user_id = ?4",
    )
    .and_then(|mut s| {
        s.execute(params![
            message.0,
            encode(&info).map_err(|e| rusqlite::Error::ToSqlConversionFailure(e.into()))?,
            id.0,
            member.id.0
        ])
    })
    .map_err(other)?;
    conn.prepare_cached(
        "UPDATE member_ranges SET to_id = ?1 \
         WHERE conversation_id = ?2 AND user_id = ?3 AND to_id IS NULL",
    )
    .and_then(|mut s| s.execute(params![message.0, id.0, member.id.0]))
    .map_err(other)?;
    for done in completions_on_exit(&before, member.id) {
        let (from, to) = done.span();
        let moved: Vec<(MessageId, MessageStatus)> = conn
            .prepare_cached(
                "SELECT id FROM messages WHERE conversation_id = ?1 AND sender_id = ?2 \
                 AND kind = 0 AND id > ?3 AND id <= ?4 ORDER BY id",
            )
            .map_err(other)?
            .query_map(params![id.0, done.sender.0, from, to], |r| {
                r.get(0).map(MessageId)
            })
            .map_err(other)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(other)?
            .into_iter()
            .filter_map(|m| done.status_of(m.0).map(|s| (m, s)))
            .collect();
        for event in exit_events(id, &member.username, done.sender, &moved, req.at) {
            let data = event.data.encode()?;
            for user in event.users {
                let cursor = append_event(conn, user, KIND_STATUS, None, Some(&data), req.at)?;
                write.events.push(UserEvent {
                    user,
                    event: event.data.event(cursor),
                });
            }
        }
    }
    Ok(())
}
