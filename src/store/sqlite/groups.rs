//! Groups on SQLite: creating one (idempotently), reading it as a member or past member sees
//! it, its current members, and what every group write shares: a member's standing, a system
//! message with an event for each current member, and the `created`-time member rows and
//! ranges. Changes to an existing group are `membership`.

use rusqlite::{Connection, OptionalExtension, params};

use super::accounts::user_from_row;
use super::conversations::last_seq;
use super::events::append_event;
use super::messages::message_by_id;
use super::other;
use super::safety;
use crate::domain::event::{Event, UserEvent};
use crate::domain::group::{Creation, Group, History, Role};
use crate::domain::group_change::Change;
use crate::domain::ids::{ConversationId, MessageId, UserId};
use crate::domain::time::Timestamp;
use crate::domain::{Message, MessageKind, User};
use crate::store::StoreError;
use crate::store::groups::{GroupRow, GroupWrite, Member, NewGroup, Standing};
use crate::store::records::KIND_MESSAGE;

fn decode<T: serde::de::DeserializeOwned + Default>(text: Option<String>) -> T {
    text.and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default()
}

pub fn encode<T: serde::Serialize>(value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| StoreError::Other(e.to_string()))
}

/// The group's row, if `id` is a group.
pub fn group_row(conn: &Connection, id: ConversationId) -> Result<Option<GroupRow>, StoreError> {
    conn.prepare_cached(
        "SELECT c.title, c.description, c.settings, u.username, c.created_at \
         FROM conversations c JOIN users u ON u.id = c.created_by \
         WHERE c.id = ?1 AND c.kind = 'group'",
    )
    .and_then(|mut s| {
        s.query_row([id.0], |r| {
            Ok(GroupRow {
                title: r.get::<_, Option<String>>(0)?.unwrap_or_default(),
                description: r.get(1)?,
                settings: decode(r.get(2)?),
                created_by: r.get(3)?,
                created_at: Timestamp(r.get(4)?),
            })
        })
        .optional()
    })
    .map_err(other)
}

/// `user`'s membership of group `id`; `NotFound` for someone never a member.
pub fn standing(
    conn: &Connection,
    id: ConversationId,
    user: UserId,
) -> Result<Standing, StoreError> {
    conn.prepare_cached(
        "SELECT role, left_id IS NULL, left_info FROM conversation_members \
         WHERE conversation_id = ?1 AND user_id = ?2",
    )
    .and_then(|mut s| {
        s.query_row(params![id.0, user.0], |r| {
            Ok(Standing {
                role: Role::from_stored(&r.get::<_, String>(0)?),
                current: r.get(1)?,
                at_exit: r
                    .get::<_, Option<String>>(2)?
                    .and_then(|t| serde_json::from_str(&t).ok()),
            })
        })
        .optional()
    })
    .map_err(other)?
    .ok_or(StoreError::NotFound)
}

/// How many current members the group has.
pub fn member_count(conn: &Connection, id: ConversationId) -> Result<i64, StoreError> {
    conn.prepare_cached(
        "SELECT COUNT(*) FROM conversation_members WHERE conversation_id = ?1 AND left_id IS NULL",
    )
    .and_then(|mut s| s.query_row([id.0], |r| r.get(0)))
    .map_err(other)
}

/// The current members' ids, in the order they joined.
pub fn current_members(conn: &Connection, id: ConversationId) -> Result<Vec<UserId>, StoreError> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT user_id FROM conversation_members WHERE conversation_id = ?1 \
             AND left_id IS NULL ORDER BY joined_id, joined_rank",
        )
        .map_err(other)?;
    stmt.query_map([id.0], |r| r.get(0).map(UserId))
        .map_err(other)?
        .collect::<Result<_, _>>()
        .map_err(other)
}

/// The group as `viewer` sees it; `NotFound` for someone never a member or no such group.
pub fn group(conn: &Connection, viewer: UserId, id: ConversationId) -> Result<Group, StoreError> {
    let row = group_row(conn, id)?.ok_or(StoreError::NotFound)?;
    let standing = standing(conn, id, viewer)?;
    let count = if standing.current {
        Some(member_count(conn, id)?)
    } else {
        None
    };
    Ok(row.view(id, standing, count))
}

/// The current members with role and join time, in the order they joined.
pub fn members(
    conn: &Connection,
    viewer: UserId,
    id: ConversationId,
) -> Result<Vec<Member>, StoreError> {
    group_row(conn, id)?.ok_or(StoreError::NotFound)?;
    standing(conn, id, viewer)?.require_current()?;
    let mut stmt = conn
        .prepare_cached(
            "SELECT u.id, u.username, u.display_name, me.role, me.joined_at \
             FROM conversation_members me JOIN users u ON u.id = me.user_id \
             WHERE me.conversation_id = ?1 AND me.left_id IS NULL \
             ORDER BY me.joined_id, me.joined_rank",
        )
        .map_err(other)?;
    stmt.query_map([id.0], |r| {
        Ok(Member {
            user: user_from_row(r, 0)?,
            role: Role::from_stored(&r.get::<_, String>(3)?),
            joined_at: Timestamp(r.get(4)?),
        })
    })
    .map_err(other)?
    .collect::<Result<_, _>>()
    .map_err(other)
}

/// Writes the system message of `change` by `actor` with the next seq, and its event for each
/// of `audience`; returns it as stored (without a viewer's status) and the events.
pub fn post_system(
    conn: &Connection,
    id: ConversationId,
    actor: &User,
    change: &Change,
    audience: &[UserId],
    at: Timestamp,
) -> Result<(Message, Vec<UserEvent>), StoreError> {
    let (record, body) = change.record(&actor.username);
    let last_seq = last_seq(conn, id)?;
    conn.prepare_cached(
        "INSERT INTO messages (conversation_id, seq, kind, sender_id, body, system, created_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )
    .and_then(|mut s| {
        s.execute(params![
            id.0,
            last_seq + 1,
            MessageKind::System.as_i64(),
            actor.id.0,
            body,
            encode(&record).map_err(|e| rusqlite::Error::ToSqlConversionFailure(e.into()))?,
            at.millis()
        ])
    })
    .map_err(other)?;
    let message_id = MessageId(conn.last_insert_rowid());
    let message = message_by_id(conn, message_id)?.ok_or(StoreError::NotFound)?;
    let mut events = Vec::with_capacity(audience.len());
    for user in audience {
        let cursor = append_event(conn, *user, KIND_MESSAGE, Some(message_id), None, at)?;
        events.push(UserEvent {
            user: *user,
            event: Event::Message {
                cursor,
                message: message.clone(),
            },
        });
    }
    Ok((message, events))
}

/// Makes `users` members of `id` from the system message `joined` (a re-added past member's
/// row is renewed), with their receipts at that message and a visible range from the start or
/// from it, as the `history` setting says.
pub fn admit(
    conn: &Connection,
    id: ConversationId,
    users: &[(UserId, Role)],
    joined: MessageId,
    history: History,
    at: Timestamp,
) -> Result<(), StoreError> {
    let mut member = conn
        .prepare_cached(
            "INSERT INTO conversation_members (user_id, conversation_id, role, joined_at, joined_id, \
               joined_rank, left_id, left_info, delivered_id, read_id) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, NULL, NULL, ?5, ?5) \
             ON CONFLICT (user_id, conversation_id) DO UPDATE SET role = excluded.role, \
               joined_at = excluded.joined_at, joined_id = excluded.joined_id, \
               joined_rank = excluded.joined_rank, left_id = NULL, left_info = NULL, \
               delivered_id = MAX(delivered_id, excluded.delivered_id), \
               read_id = MAX(read_id, excluded.read_id)",
        )
        .map_err(other)?;
    let mut range = conn
        .prepare_cached(
            "INSERT INTO member_ranges (conversation_id, user_id, from_id, to_id) \
             VALUES (?1, ?2, ?3, NULL) \
             ON CONFLICT (conversation_id, user_id, from_id) DO UPDATE SET to_id = NULL",
        )
        .map_err(other)?;
    let from = match history {
        History::Shared => 0,
        History::Joined => joined.0,
    };
    for (rank, (user, role)) in users.iter().enumerate() {
        member
            .execute(params![
                user.0,
                id.0,
                role.as_str(),
                at.millis(),
                joined.0,
                rank as i64
            ])
            .map_err(other)?;
        range.execute(params![id.0, user.0, from]).map_err(other)?;
    }
    Ok(())
}

/// The group `creator` made under `client_id`, with what its creation asked for.
fn created_before(
    conn: &Connection,
    new: &NewGroup,
) -> Result<Option<(ConversationId, Option<Creation>)>, StoreError> {
    conn.prepare_cached(
        "SELECT id, creation FROM conversations WHERE created_by = ?1 AND client_id = ?2",
    )
    .and_then(|mut s| {
        s.query_row(params![new.creator.id.0, new.client_id.as_str()], |r| {
            Ok((
                ConversationId(r.get(0)?),
                r.get::<_, Option<String>>(1)?
                    .and_then(|t| serde_json::from_str(&t).ok()),
            ))
        })
        .optional()
    })
    .map_err(other)
}

/// Creates the group (or answers its retry); runs inside the writer's transaction.
pub fn create_group(conn: &Connection, new: &NewGroup) -> Result<GroupWrite, StoreError> {
    let named: Vec<String> = new.members.iter().map(|u| u.username.clone()).collect();
    let asked = Creation::new(&new.title, &new.description, new.settings, &named);
    if let Some((id, creation)) = created_before(conn, new)? {
        if creation.as_ref() != Some(&asked) {
            return Err(StoreError::Conflict(new.client_id.as_str().to_owned()));
        }
        return Ok(GroupWrite {
            group: Some(group(conn, new.creator.id, id)?),
            ..GroupWrite::default()
        });
    }
    if new.only_retry {
        return Err(StoreError::NotFound);
    }
    let named_users: Vec<&User> = new.members.iter().collect();
    let states = safety::admit(conn, new.creator.id, &named_users, new.requests)?;
    conn.prepare_cached(
        "INSERT INTO conversations (kind, created_at, title, description, settings, created_by, \
           client_id, creation) VALUES ('group', ?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )
    .and_then(|mut s| {
        s.execute(params![
            new.at.millis(),
            new.title.as_str(),
            new.description.as_str(),
            encode(&new.settings).map_err(|e| rusqlite::Error::ToSqlConversionFailure(e.into()))?,
            new.creator.id.0,
            new.client_id.as_str(),
            encode(&asked).map_err(|e| rusqlite::Error::ToSqlConversionFailure(e.into()))?
        ])
    })
    .map_err(other)?;
    let id = ConversationId(conn.last_insert_rowid());
    let mut everyone = vec![(new.creator.id, Role::Owner)];
    everyone.extend(new.members.iter().map(|u| (u.id, Role::Member)));
    let audience: Vec<UserId> = everyone.iter().map(|(u, _)| *u).collect();
    let change = Change::Created {
        title: new.title.as_str().to_owned(),
        members: named,
    };
    let (message, events) = post_system(conn, id, &new.creator, &change, &audience, new.at)?;
    admit(conn, id, &everyone, message.id, History::Shared, new.at)?;
    let admitted: Vec<(UserId, i64)> = new.members.iter().map(|u| u.id).zip(states).collect();
    safety::admitted(conn, id, new.creator.id, &admitted)?;
    Ok(GroupWrite {
        group: Some(group(conn, new.creator.id, id)?),
        created: true,
        messages: vec![message],
        events,
        ..GroupWrite::default()
    })
}
