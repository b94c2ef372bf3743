//! Receipts on SQLite: a member moving their watermarks forward (delivered, read) to a position
//! named by a message id, by ids or read-up-to, never back, each as one job of the writer.
//!
//! Every named message must be one the reader can see and did not send (a system message the
//! reader can see counts as a position), or the job is `NotFound` and changes nothing. Per
//! conversation, the reader's marks move to the newest position named, each advance is logged
//! (`receipt_log`, for "message info"), and the status events `store::receipts::route` decides
//! are appended with the users' next cursors.
//!
//! Receipts that waited for the writer together are stored by one job (`set_statuses`): where
//! each group's members stand is read once for all of them (every member's row) and kept up to
//! date as each receipt moves its reader, instead of being read again for each receipt.

use std::collections::{BTreeMap, HashMap, HashSet};

use rusqlite::{Connection, OptionalExtension, params};

use super::accounts::user_from_row;
use super::events::append_event;
use super::marks::standing;
use super::other;
use super::ranges::visible_to;
use crate::domain::MessageKind;
use crate::domain::MessageStatus;
use crate::domain::event::UserEvent;
use crate::domain::ids::{ConversationId, MessageId, UserId};
use crate::domain::receipt::Marks;
use crate::domain::time::Timestamp;
use crate::store::receipts::{Lowest, Moved, Others, Receipt, route};
use crate::store::records::KIND_STATUS;
use crate::store::{MessageReceipts, ReadUpTo, StatusChange, StatusOutcome, StoreError, User};

/// A message named in a receipt: its conversation, sender and kind, if the reader can see it.
fn named(
    conn: &Connection,
    reader: UserId,
    id: MessageId,
) -> Result<Option<(ConversationId, UserId, MessageKind)>, StoreError> {
    let sql = format!(
        "SELECT m.conversation_id, m.sender_id, m.kind FROM messages m WHERE m.id = ?1 AND {}",
        visible_to(2)
    );
    conn.prepare_cached(&sql)
        .and_then(|mut s| {
            s.query_row(params![id.0, reader.0], |r| {
                Ok((
                    ConversationId(r.get(0)?),
                    UserId(r.get(1)?),
                    MessageKind::from_i64(r.get(2)?),
                ))
            })
            .optional()
        })
        .map_err(other)
}

/// Receipts of one conversation in one run from which its members' rows are read once for all
/// of them; fewer read the two lowest marks each time (`standing_of_others`), which reads less.
const ROSTER_FROM: usize = 4;

/// Where the members of the conversations many receipts of a run touch stand, each read once
/// (every member's row) and kept up to date as the receipts move their readers.
#[derive(Default)]
struct Rosters {
    /// The conversations worth it (`ROSTER_FROM`).
    worth: HashSet<ConversationId>,
    kept: HashMap<ConversationId, Roster>,
}

struct Roster {
    group: bool,
    /// Every member, past ones too: their marks, and whether they are current.
    members: HashMap<UserId, (Marks, bool)>,
}

impl Rosters {
    fn of(
        &mut self,
        conn: &Connection,
        conversation: ConversationId,
    ) -> Result<&mut Roster, StoreError> {
        Ok(match self.kept.entry(conversation) {
            std::collections::hash_map::Entry::Occupied(kept) => kept.into_mut(),
            std::collections::hash_map::Entry::Vacant(slot) => {
                slot.insert(Roster::read(conn, conversation)?)
            }
        })
    }
}

impl Roster {
    fn read(conn: &Connection, conversation: ConversationId) -> Result<Roster, StoreError> {
        let group = conn
            .prepare_cached("SELECT kind = 'group' FROM conversations WHERE id = ?1")
            .and_then(|mut s| {
                s.query_row(params![conversation.0], |r| r.get(0))
                    .optional()
            })
            .map_err(other)?
            .unwrap_or(false);
        let mut stmt = conn
            .prepare_cached(
                "SELECT user_id, delivered_id, read_id, left_id IS NULL \
                 FROM conversation_members WHERE conversation_id = ?1",
            )
            .map_err(other)?;
        let members = stmt
            .query_map(params![conversation.0], |r| {
                let marks = Marks {
                    delivered: r.get(1)?,
                    read: r.get(2)?,
                };
                Ok((UserId(r.get(0)?), (marks, r.get::<_, bool>(3)?)))
            })
            .map_err(other)?
            .collect::<Result<HashMap<_, _>, _>>()
            .map_err(other)?;
        Ok(Roster { group, members })
    }

    /// Where the current members other than `reader` stand (see `standing_of_others`).
    fn others(&self, reader: UserId, senders: &[UserId]) -> Others {
        let current: Vec<(UserId, Marks)> = self
            .members
            .iter()
            .filter(|(user, (_, current))| *current && **user != reader)
            .map(|(user, (marks, _))| (*user, *marks))
            .collect();
        let mut concerned: Vec<UserId> = senders
            .iter()
            .copied()
            .filter(|sender| current.iter().any(|(user, _)| user == sender))
            .collect();
        concerned.sort();
        concerned.dedup();
        Others {
            lowest: Lowest::of(&current),
            count: current.len(),
            current: concerned,
        }
    }
}

/// Moves the reader's marks in one conversation forward to `up_to` and records the events;
/// with `rosters`, where the members stand is taken from (and kept up to date in) them.
#[allow(clippy::too_many_arguments)]
fn advance(
    conn: &Connection,
    reader: &User,
    conversation: ConversationId,
    status: MessageStatus,
    up_to: MessageId,
    live_max: usize,
    at: Timestamp,
    rosters: Option<&mut Rosters>,
) -> Result<StatusOutcome, StoreError> {
    let mut rosters = rosters.filter(|r| r.worth.contains(&conversation));
    let (group, before) = match rosters.as_deref_mut() {
        Some(rosters) => {
            let roster = rosters.of(conn, conversation)?;
            let (marks, _) = roster.members.get(&reader.id).ok_or(StoreError::NotFound)?;
            (roster.group, *marks)
        }
        None => {
            let (_, group, before) =
                standing(conn, conversation, reader.id)?.ok_or(StoreError::NotFound)?;
            (group, before)
        }
    };
    let after = before.advanced(status, up_to.0);
    let mut outcome = StatusOutcome {
        up_to: Some(up_to),
        ..StatusOutcome::default()
    };
    if after == before {
        return Ok(outcome);
    }
    let sql = format!(
        "SELECT m.id, m.sender_id FROM messages m WHERE m.conversation_id = ?1 \
         AND m.id > ?2 AND m.id <= ?3 AND m.kind = 0 AND m.sender_id != ?4 AND {} ORDER BY m.id",
        visible_to(4)
    );
    let moved = conn
        .prepare_cached(&sql)
        .map_err(other)?
        .query_map(
            params![
                conversation.0,
                before.reach(status),
                after.reach(status),
                reader.id.0
            ],
            |r| {
                Ok(Moved {
                    id: MessageId(r.get(0)?),
                    sender: UserId(r.get(1)?),
                })
            },
        )
        .map_err(other)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(other)?;
    conn.prepare_cached(
        "UPDATE conversation_members SET delivered_id = ?1, read_id = ?2 \
         WHERE conversation_id = ?3 AND user_id = ?4",
    )
    .and_then(|mut s| {
        s.execute(params![
            after.delivered,
            after.read,
            conversation.0,
            reader.id.0
        ])
    })
    .map_err(other)?;
    if let Some(rosters) = rosters.as_deref_mut()
        && let Some((marks, _)) = rosters.of(conn, conversation)?.members.get_mut(&reader.id)
    {
        *marks = after;
    }
    let mut log = conn
        .prepare_cached(
            "INSERT OR IGNORE INTO receipt_log (conversation_id, user_id, status, up_to_id, at) \
             VALUES (?1, ?2, ?3, ?4, ?5)",
        )
        .map_err(other)?;
    for (moved_to, was, logged) in [
        (after.delivered, before.delivered, MessageStatus::Delivered),
        (after.read, before.read, MessageStatus::Read),
    ] {
        if moved_to > was {
            log.execute(params![
                conversation.0,
                reader.id.0,
                logged.as_i64(),
                moved_to,
                at.millis()
            ])
            .map_err(other)?;
        }
    }
    let others = match (group, rosters) {
        (false, _) => Others::default(),
        (true, Some(rosters)) => {
            let roster = rosters.of(conn, conversation)?;
            let senders: Vec<UserId> = moved.iter().map(|m| m.sender).collect();
            roster.others(reader.id, &senders)
        }
        (true, None) => {
            let senders: Vec<UserId> = moved.iter().map(|m| m.sender).collect();
            standing_of_others(conn, conversation, reader.id, &senders, live_max)?
        }
    };
    outcome.updated = moved.iter().map(|m| m.id).collect();
    let receipt = Receipt {
        reader,
        conversation,
        group,
        status,
        before,
        after,
        up_to,
        moved,
        others,
        live_max,
        at,
        withheld: !group && withheld(conn, conversation, reader.id)?,
    };
    for event in route(&receipt) {
        let data = event.data.encode()?;
        for user in event.users {
            let cursor = append_event(conn, user, KIND_STATUS, None, Some(&data), at)?;
            outcome.events.push(UserEvent {
                user,
                event: event.data.event(cursor),
            });
        }
    }
    Ok(outcome)
}

/// Where the group's other current members stand, read without visiting each of them: the two
/// lowest marks of each kind (an index by conversation and mark), how many they are up to the
/// live limit, and which of `senders` are among them.
fn standing_of_others(
    conn: &Connection,
    conversation: ConversationId,
    reader: UserId,
    senders: &[UserId],
    live_max: usize,
) -> Result<Others, StoreError> {
    let lowest_two = |sql: &str| -> Result<[(i64, Option<UserId>); 2], StoreError> {
        let mut found = [(i64::MAX, None), (i64::MAX, None)];
        let mut stmt = conn.prepare_cached(sql).map_err(other)?;
        let rows = stmt
            .query_map(params![conversation.0, reader.0], |r| {
                Ok((r.get::<_, i64>(1)?, UserId(r.get(0)?)))
            })
            .map_err(other)?;
        for (slot, row) in found.iter_mut().zip(rows) {
            let (mark, user) = row.map_err(other)?;
            *slot = (mark, Some(user));
        }
        Ok(found)
    };
    let lowest = Lowest {
        read: lowest_two(
            "SELECT user_id, read_id FROM conversation_members INDEXED BY members_by_read \
             WHERE conversation_id = ?1 AND left_id IS NULL AND user_id != ?2 \
             ORDER BY read_id LIMIT 2",
        )?,
        delivered: lowest_two(
            "SELECT user_id, delivered_id FROM conversation_members INDEXED BY members_by_delivered \
             WHERE conversation_id = ?1 AND left_id IS NULL AND user_id != ?2 \
             ORDER BY delivered_id LIMIT 2",
        )?,
    };
    let count: i64 = conn
        .prepare_cached(
            "SELECT COUNT(*) FROM (SELECT 1 FROM conversation_members \
             WHERE conversation_id = ?1 AND left_id IS NULL AND user_id != ?2 LIMIT ?3)",
        )
        .and_then(|mut s| {
            s.query_row(
                params![conversation.0, reader.0, live_max as i64 + 1],
                |r| r.get(0),
            )
        })
        .map_err(other)?;
    let mut current = Vec::new();
    let mut is_current = conn
        .prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM conversation_members \
             WHERE conversation_id = ?1 AND user_id = ?2 AND left_id IS NULL)",
        )
        .map_err(other)?;
    let mut distinct = senders.to_vec();
    distinct.sort();
    distinct.dedup();
    for sender in distinct {
        if is_current
            .query_row(params![conversation.0, sender.0], |r| r.get::<_, bool>(0))
            .map_err(other)?
        {
            current.push(sender);
        }
    }
    Ok(Others {
        lowest,
        count: count as usize,
        current,
    })
}

/// Stores receipts in order, as if each were a job of its own: each is its outcome, or
/// `NotFound` (then it changed nothing) when it names an id that is not a message its reader
/// can see, or is their own; any other failure fails them all (the job is rolled back).
pub fn set_statuses(
    conn: &Connection,
    changes: &[&StatusChange],
) -> Result<Vec<Result<StatusOutcome, StoreError>>, StoreError> {
    // Where each change goes first (receipts change no one's visible range, so this reads what
    // each would have read in its turn), to see which conversations many of them touch.
    let mut resolved = Vec::with_capacity(changes.len());
    let mut touching: HashMap<ConversationId, usize> = HashMap::new();
    for change in changes {
        match positions(conn, change) {
            Ok(newest) => {
                for conversation in newest.keys() {
                    *touching.entry(*conversation).or_default() += 1;
                }
                resolved.push(Some(newest));
            }
            Err(StoreError::NotFound) => resolved.push(None),
            Err(err) => return Err(err),
        }
    }
    let mut rosters = Rosters {
        worth: touching
            .into_iter()
            .filter(|(_, receipts)| *receipts >= ROSTER_FROM)
            .map(|(conversation, _)| conversation)
            .collect(),
        kept: HashMap::new(),
    };
    let mut outcomes = Vec::with_capacity(changes.len());
    for (change, newest) in changes.iter().zip(resolved) {
        outcomes.push(match newest {
            Some(newest) => Ok(apply(conn, change, newest, Some(&mut rosters))?),
            None => Err(StoreError::NotFound),
        });
    }
    Ok(outcomes)
}

/// The newest position a change names in each conversation, changing nothing; `NotFound` if
/// any id is not a message the reader can see, or is their own.
fn positions(
    conn: &Connection,
    change: &StatusChange,
) -> Result<BTreeMap<ConversationId, MessageId>, StoreError> {
    let mut newest: BTreeMap<ConversationId, MessageId> = BTreeMap::new();
    for id in &change.message_ids {
        match named(conn, change.reader.id, *id)? {
            Some((_, sender, MessageKind::Text)) if sender == change.reader.id => {
                return Err(StoreError::NotFound);
            }
            Some((conversation, _, _)) => {
                let up_to = newest.entry(conversation).or_insert(*id);
                *up_to = (*up_to).max(*id);
            }
            None => return Err(StoreError::NotFound),
        }
    }
    Ok(newest)
}

/// Moves the reader's marks to `newest` (see `positions`) and records the events.
fn apply(
    conn: &Connection,
    change: &StatusChange,
    newest: BTreeMap<ConversationId, MessageId>,
    mut rosters: Option<&mut Rosters>,
) -> Result<StatusOutcome, StoreError> {
    let mut outcome = StatusOutcome {
        up_to: change.message_ids.iter().max().copied(),
        ..StatusOutcome::default()
    };
    for (conversation, up_to) in newest {
        let moved = advance(
            conn,
            &change.reader,
            conversation,
            change.status,
            up_to,
            change.live_max,
            change.at,
            rosters.as_deref_mut(),
        )?;
        outcome.updated.extend(moved.updated);
        outcome.events.extend(moved.events);
    }
    outcome.updated.sort();
    Ok(outcome)
}

/// Marks read every message from others in the conversation up to `up_to`, an id of that
/// conversation inside the reader's range.
pub fn read_up_to(conn: &Connection, req: &ReadUpTo) -> Result<StatusOutcome, StoreError> {
    match named(conn, req.reader.id, req.up_to)? {
        Some((conversation, _, _)) if conversation == req.conversation => advance(
            conn,
            &req.reader,
            conversation,
            MessageStatus::Read,
            req.up_to,
            req.live_max,
            req.at,
            None,
        ),
        _ => Err(StoreError::NotFound),
    }
}

/// Who has message `id` read, delivered or pending, with the time each receipt first covered
/// it; `NotFound` unless `viewer` can see it.
pub fn message_receipts(
    conn: &Connection,
    viewer: UserId,
    id: MessageId,
) -> Result<MessageReceipts, StoreError> {
    let (conversation, sender, _) = named(conn, viewer, id)?.ok_or(StoreError::NotFound)?;
    let mut receipts = MessageReceipts {
        message_id: id,
        sender,
        read: Vec::new(),
        delivered: Vec::new(),
        pending: Vec::new(),
    };
    let mut members = conn
        .prepare_cached(
            "SELECT u.id, u.username, u.display_name, me.delivered_id, \
               CASE WHEN me.request IN (1, 2) THEN 0 ELSE me.read_id END \
             FROM conversation_members me JOIN users u ON u.id = me.user_id \
             WHERE me.conversation_id = ?1 AND me.user_id != ?2 AND me.left_id IS NULL \
               AND me.joined_id < ?3 ORDER BY me.joined_id, me.joined_rank, u.username",
        )
        .map_err(other)?;
    let rows = members
        .query_map(params![conversation.0, sender.0, id.0], |r| {
            Ok((
                user_from_row(r, 0)?,
                r.get::<_, i64>(3)?,
                r.get::<_, i64>(4)?,
            ))
        })
        .map_err(other)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(other)?;
    let mut first = conn
        .prepare_cached(
            "SELECT MIN(at) FROM receipt_log WHERE conversation_id = ?1 AND user_id = ?2 \
             AND status = ?3 AND up_to_id >= ?4",
        )
        .map_err(other)?;
    let mut covered = |user: UserId, status: MessageStatus| -> Result<Timestamp, StoreError> {
        first
            .query_row(
                params![conversation.0, user.0, status.as_i64(), id.0],
                |r| r.get::<_, Option<i64>>(0),
            )
            .map(|at| Timestamp(at.unwrap_or(0)))
            .map_err(other)
    };
    for (user, delivered, read) in rows {
        if read >= id.0 {
            let at = covered(user.id, MessageStatus::Read)?;
            receipts.read.push((user, at));
        } else if delivered >= id.0 {
            let at = covered(user.id, MessageStatus::Delivered)?;
            receipts.delivered.push((user, at));
        } else {
            receipts.pending.push(user);
        }
    }
    receipts.read.sort_by_key(|(_, at)| *at);
    receipts.delivered.sort_by_key(|(_, at)| *at);
    Ok(receipts)
}

/// Whether the reader's read receipts in this direct conversation are withheld from its other
/// party (a pending or declined message request for the reader).
fn withheld(
    conn: &Connection,
    conversation: ConversationId,
    reader: UserId,
) -> Result<bool, StoreError> {
    conn.prepare_cached(
        "SELECT request IN (1, 2) FROM conversation_members WHERE conversation_id = ?1 AND user_id = ?2",
    )
    .and_then(|mut s| s.query_row(params![conversation.0, reader.0], |r| r.get(0)))
    .map_err(other)
}
