//! Changes to a group on PostgreSQL, as SQLite's `membership`, each in a transaction of its
//! own that locks the group's row first: the actor's standing and the group's settings are
//! read under that lock, `domain::group_rules` judges the change, and the change is written with
//! its system message; the events (one per current member, the one who leaves or is removed
//! included, and the completions an exit causes) are recorded last, as a batch records them.

use sqlx::{PgConnection, Row};

use super::batch::record_group_events;
use super::failure;
use super::groups::{
    admit, current_members, encode, group, group_row, lock_group, members, post_system, standing,
};
use super::safety;
use crate::domain::group::{Info, Role};
use crate::domain::group_change::Change;
use crate::domain::group_rules;
use crate::domain::ids::{ConversationId, MessageId, UserId};
use crate::domain::receipt::Marks;
use crate::domain::{Message, MessageStatus, User};
use crate::store::StoreError;
use crate::store::groups::{
    GroupEdit, GroupRequest, GroupRow, GroupWrite, member_not_found, plan_add, plan_info,
};
use crate::store::receipts::{completions_on_exit, exit_events};
use crate::store::records::StatusGroup;

/// What a change wrote before its events are recorded.
#[derive(Default)]
struct Pending {
    messages: Vec<(Message, Vec<UserId>)>,
    statuses: Vec<StatusGroup>,
}

/// Applies one change to a group, in the caller's transaction.
pub async fn change_group(
    conn: &mut PgConnection,
    req: &GroupRequest,
) -> Result<GroupWrite, StoreError> {
    let id = req.group;
    lock_group(conn, id).await?;
    let row = group_row(conn, id).await?.ok_or(StoreError::NotFound)?;
    let actor = standing(conn, id, req.actor.id).await?;
    let mut write = GroupWrite::default();
    let mut pending = Pending::default();
    if let GroupEdit::Leave = req.edit {
        if !actor.current {
            return Err(member_not_found());
        }
        leave(conn, req, actor.role, &mut write, &mut pending).await?;
    } else {
        actor.require_current()?;
        match &req.edit {
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
                    set_text(conn, id, "title", title).await?;
                }
                if let Some(description) = &plan.description {
                    set_text(conn, id, "description", description).await?;
                }
                if let Some(settings) = &plan.settings {
                    set_text(conn, id, "settings", &encode(settings)?).await?;
                }
                let audience = sorted(current_members(conn, id).await?);
                for change in plan.changes {
                    let message = post_system(conn, id, &req.actor, &change, req.at).await?;
                    pending.messages.push((message, audience.clone()));
                }
            }
            GroupEdit::Add(users) => {
                add(conn, req, &row, actor.role, users, &mut write, &mut pending).await?
            }
            GroupEdit::Remove(target) => {
                let target_role = current_role(conn, id, target.id).await?;
                group_rules::may_remove(actor.role, target_role)?;
                let change = Change::MemberRemoved {
                    removed: target.username.clone(),
                };
                exit(conn, req, target, change, &mut pending).await?;
            }
            GroupEdit::SetRole(target, role) => {
                let target_role = current_role(conn, id, target.id).await?;
                group_rules::may_set_role(actor.role, target_role, *role)?;
                if target_role != *role {
                    set_role(conn, id, target.id, *role).await?;
                    let change = Change::RoleChanged {
                        member: target.username.clone(),
                        role: *role,
                    };
                    let message = post_system(conn, id, &req.actor, &change, req.at).await?;
                    let audience = sorted(current_members(conn, id).await?);
                    pending.messages.push((message, audience));
                }
                write.member = members(conn, req.actor.id, id)
                    .await?
                    .into_iter()
                    .find(|m| m.user.id == target.id);
            }
            GroupEdit::Leave => {}
        }
    }
    write.messages = pending.messages.iter().map(|(m, _)| m.clone()).collect();
    write.events = record_group_events(conn, &pending.messages, pending.statuses, req.at).await?;
    write.group = Some(group(conn, req.actor.id, id).await?);
    Ok(write)
}

fn sorted(mut users: Vec<UserId>) -> Vec<UserId> {
    users.sort();
    users
}

/// The role of a current member; `member_not_found` for anyone else.
async fn current_role(
    conn: &mut PgConnection,
    id: ConversationId,
    user: UserId,
) -> Result<Role, StoreError> {
    match standing(conn, id, user).await {
        Ok(s) if s.current => Ok(s.role),
        Ok(_) | Err(StoreError::NotFound) => Err(member_not_found()),
        Err(err) => Err(err),
    }
}

async fn set_text(
    conn: &mut PgConnection,
    id: ConversationId,
    column: &'static str,
    value: &str,
) -> Result<(), StoreError> {
    let sql = match column {
        "title" => "UPDATE conversations SET title = $1 WHERE id = $2",
        "description" => "UPDATE conversations SET description = $1 WHERE id = $2",
        _ => "UPDATE conversations SET settings = $1 WHERE id = $2",
    };
    sqlx::query(sql)
        .bind(value)
        .bind(id.0)
        .execute(conn)
        .await
        .map_err(failure)?;
    Ok(())
}

async fn set_role(
    conn: &mut PgConnection,
    id: ConversationId,
    user: UserId,
    role: Role,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE conversation_members SET role = $1 WHERE conversation_id = $2 AND user_id = $3",
    )
    .bind(role.as_str())
    .bind(id.0)
    .bind(user.0)
    .execute(conn)
    .await
    .map_err(failure)?;
    Ok(())
}

/// Adds the users who are not current members, with one `members_added` message.
async fn add(
    conn: &mut PgConnection,
    req: &GroupRequest,
    row: &GroupRow,
    role: Role,
    users: &[User],
    write: &mut GroupWrite,
    pending: &mut Pending,
) -> Result<(), StoreError> {
    group_rules::may_add(role, &row.settings)?;
    let current = current_members(conn, req.group).await?;
    let (new, already) = plan_add(&current, users, req.max_members)?;
    write.already_members = already.iter().map(|u| u.username.clone()).collect();
    if new.is_empty() {
        return Ok(());
    }
    let states = safety::admit(conn, req.actor.id, &new, req.requests).await?;
    write.added = new.iter().map(|u| u.username.clone()).collect();
    let change = Change::MembersAdded {
        added: write.added.clone(),
    };
    let message = post_system(conn, req.group, &req.actor, &change, req.at).await?;
    let joining: Vec<(UserId, Role)> = new.iter().map(|u| (u.id, Role::Member)).collect();
    admit(
        conn,
        req.group,
        &joining,
        message.id,
        row.settings.history,
        req.at,
    )
    .await?;
    let admitted: Vec<(UserId, i64)> = new.iter().map(|u| u.id).zip(states).collect();
    safety::admitted(conn, req.group, req.actor.id, &admitted).await?;
    let mut audience = current;
    audience.extend(new.iter().map(|u| u.id));
    pending.messages.push((message, sorted(audience)));
    Ok(())
}

/// The actor leaves; an owner hands the group to the longest-serving admin, else member.
async fn leave(
    conn: &mut PgConnection,
    req: &GroupRequest,
    role: Role,
    _write: &mut GroupWrite,
    pending: &mut Pending,
) -> Result<(), StoreError> {
    let mut new_owner = None;
    if role == Role::Owner {
        let heir = sqlx::query(
            "SELECT me.user_id, u.username FROM conversation_members me \
             JOIN users u ON u.id = me.user_id \
             WHERE me.conversation_id = $1 AND me.left_id IS NULL AND me.user_id != $2 \
             ORDER BY me.role = 'admin' DESC, me.joined_id, me.joined_rank LIMIT 1",
        )
        .bind(req.group.0)
        .bind(req.actor.id.0)
        .fetch_optional(&mut *conn)
        .await
        .map_err(failure)?;
        if let Some(heir) = heir {
            let user: i64 = heir.try_get("user_id").map_err(failure)?;
            set_role(conn, req.group, UserId(user), Role::Owner).await?;
            new_owner = Some(heir.try_get("username").map_err(failure)?);
        }
    }
    let actor = req.actor.clone();
    // Leaving a group that is a request for the leaver declines it.
    safety::left_group(conn, req.group, actor.id).await?;
    exit(conn, req, &actor, Change::MemberLeft { new_owner }, pending).await
}

/// `member` leaves the group by `change`: the message goes to every current member, them
/// included; then their range closes, what the group is now is kept for them, and the senders
/// whose messages they held back are told those are complete.
async fn exit(
    conn: &mut PgConnection,
    req: &GroupRequest,
    member: &User,
    change: Change,
    pending: &mut Pending,
) -> Result<(), StoreError> {
    let id = req.group;
    let rows = sqlx::query(
        "SELECT user_id, delivered_id, read_id FROM conversation_members \
         WHERE conversation_id = $1 AND left_id IS NULL ORDER BY user_id FOR NO KEY UPDATE",
    )
    .bind(id.0)
    .fetch_all(&mut *conn)
    .await
    .map_err(failure)?;
    let before: Vec<(UserId, Marks)> = rows
        .iter()
        .map(|r| {
            Ok((
                UserId(r.try_get("user_id")?),
                Marks {
                    delivered: r.try_get("delivered_id")?,
                    read: r.try_get("read_id")?,
                },
            ))
        })
        .collect::<Result<_, sqlx::Error>>()
        .map_err(failure)?;
    let audience: Vec<UserId> = before.iter().map(|(u, _)| *u).collect();
    let message = post_system(conn, id, &req.actor, &change, req.at).await?;
    let row = group_row(conn, id).await?.ok_or(StoreError::NotFound)?;
    let info = Info {
        title: row.title,
        description: row.description,
        settings: row.settings,
        member_count: audience.len() as i64 - 1,
    };
    sqlx::query(
        "UPDATE conversation_members SET left_id = $1, left_info = $2, role = 'member' \
         WHERE conversation_id = $3 AND user_id = $4",
    )
    .bind(message.id.0)
    .bind(encode(&info)?)
    .bind(id.0)
    .bind(member.id.0)
    .execute(&mut *conn)
    .await
    .map_err(failure)?;
    sqlx::query(
        "UPDATE member_ranges SET to_id = $1 \
         WHERE conversation_id = $2 AND user_id = $3 AND to_id IS NULL",
    )
    .bind(message.id.0)
    .bind(id.0)
    .bind(member.id.0)
    .execute(&mut *conn)
    .await
    .map_err(failure)?;
    pending.messages.push((message, audience));
    for done in completions_on_exit(&before, member.id) {
        let (from, to) = done.span();
        let ids: Vec<i64> = sqlx::query_scalar(
            "SELECT id FROM messages WHERE conversation_id = $1 AND sender_id = $2 \
             AND kind = 0 AND id > $3 AND id <= $4 ORDER BY id",
        )
        .bind(id.0)
        .bind(done.sender.0)
        .bind(from)
        .bind(to)
        .fetch_all(&mut *conn)
        .await
        .map_err(failure)?;
        let moved: Vec<(MessageId, MessageStatus)> = ids
            .into_iter()
            .filter_map(|m| done.status_of(m).map(|s| (MessageId(m), s)))
            .collect();
        pending.statuses.extend(exit_events(
            id,
            &member.username,
            done.sender,
            &moved,
            req.at,
        ));
    }
    Ok(())
}
