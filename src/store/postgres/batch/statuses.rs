//! The status changes of a batch: members moving their receipt watermarks forward, never back.
//!
//! First, before any lock, every named message is looked up as its reader may see it
//! (`resolve`): a change naming one the reader cannot see, or their own, fails alone
//! (`NotFound`, changing nothing); the rest become the newest position named in each
//! conversation. Group conversations are then locked with the sends' conversations (in the
//! same ascending order), so that whether a receipt completes a message for every member is
//! decided in one order. Then the readers' member rows are locked in ascending
//! (conversation, user) order, the changes worked out in batch order against the marks the
//! earlier ones leave, the messages each one moved read with one statement, and the final
//! marks and the receipt log written with one statement each.

use std::collections::{BTreeMap, BTreeSet};

use sqlx::{AssertSqlSafe, PgConnection, Row};

use super::Written;
use super::members::{current_members, lock_members};
use crate::domain::ids::{ConversationId, MessageId, UserId};
use crate::domain::receipt::Marks;
use crate::domain::{MessageKind, MessageStatus};
use crate::store::postgres::failure;
use crate::store::postgres::ranges::visible_to;
use crate::store::receipts::{Moved, Others, Receipt, route};
use crate::store::{StatusChange, StoreError};

/// The newest position a change names in each conversation.
type Positions = Result<Vec<(ConversationId, MessageId)>, StoreError>;

/// The batch's changes once their messages are looked up.
pub(in crate::store::postgres) struct Resolved {
    /// Per change, in order.
    positions: Vec<Positions>,
    /// Which of the conversations named are groups.
    groups: BTreeSet<ConversationId>,
}

impl Resolved {
    /// One change, already checked: the reader's position in a conversation.
    pub(in crate::store::postgres) fn single(
        conversation: ConversationId,
        up_to: MessageId,
        group: bool,
    ) -> Resolved {
        Resolved {
            positions: vec![Ok(vec![(conversation, up_to)])],
            groups: if group {
                BTreeSet::from([conversation])
            } else {
                BTreeSet::new()
            },
        }
    }

    /// The group conversations the batch must lock before the members' rows.
    pub(in crate::store::postgres) fn groups(&self) -> Vec<ConversationId> {
        self.groups.iter().copied().collect()
    }
}

/// Looks up every message the changes name, as each reader may see it.
pub(in crate::store::postgres) async fn resolve(
    conn: &mut PgConnection,
    changes: &[&StatusChange],
) -> Result<Resolved, StoreError> {
    let (mut readers, mut ids) = (Vec::new(), Vec::new());
    for change in changes {
        for id in &change.message_ids {
            readers.push(change.reader.id.0);
            ids.push(id.0);
        }
    }
    let sql = format!(
        "SELECT t.i, m.conversation_id, m.sender_id, m.kind, m.grp \
         FROM UNNEST($1::BIGINT[], $2::BIGINT[]) WITH ORDINALITY AS t(reader, id, i) \
         CROSS JOIN LATERAL (SELECT m.id, m.conversation_id, m.sender_id, m.kind, \
           c.kind = 'group' AS grp FROM messages m JOIN conversations c ON c.id = m.conversation_id \
           WHERE m.id = t.id AND {} LIMIT 1) m",
        visible_to("t.reader")
    );
    let rows = sqlx::query(AssertSqlSafe(sql))
        .bind(&readers)
        .bind(&ids)
        .fetch_all(&mut *conn)
        .await
        .map_err(failure)?;
    let mut found: BTreeMap<usize, (ConversationId, UserId, MessageKind)> = BTreeMap::new();
    let mut groups = BTreeSet::new();
    for row in rows {
        let get = |name: &str| row.try_get::<i64, _>(name).map_err(failure);
        let conversation = ConversationId(get("conversation_id")?);
        let kind: i16 = row.try_get("kind").map_err(failure)?;
        if row.try_get::<bool, _>("grp").map_err(failure)? {
            groups.insert(conversation);
        }
        let index = usize::try_from(get("i")? - 1).map_err(|e| StoreError::Other(e.to_string()))?;
        found.insert(
            index,
            (
                conversation,
                UserId(get("sender_id")?),
                MessageKind::from_i64(i64::from(kind)),
            ),
        );
    }
    let mut next = 0;
    let positions = changes
        .iter()
        .map(|change| {
            let mut newest: BTreeMap<ConversationId, MessageId> = BTreeMap::new();
            let mut result = Ok(());
            for id in &change.message_ids {
                match found.get(&next) {
                    Some((_, sender, MessageKind::Text)) if *sender == change.reader.id => {
                        result = Err(StoreError::NotFound);
                    }
                    Some((conversation, _, _)) => {
                        let up_to = newest.entry(*conversation).or_insert(*id);
                        *up_to = (*up_to).max(*id);
                    }
                    None => result = Err(StoreError::NotFound),
                }
                next += 1;
            }
            result.map(|()| newest.into_iter().collect())
        })
        .collect();
    Ok(Resolved { positions, groups })
}

/// One conversation's move of one change.
struct Step {
    change: usize,
    conversation: ConversationId,
    reader: UserId,
    before: Marks,
    after: Marks,
    up_to: MessageId,
    /// In a group, the other current members' marks at this point of the batch.
    others: Vec<(UserId, Marks)>,
}

/// Applies the batch's status changes (their conversations locked already, if groups); one
/// answer per change, in order.
pub(in crate::store::postgres) async fn advance(
    conn: &mut PgConnection,
    changes: &[&StatusChange],
    resolved: Resolved,
) -> Result<Vec<Result<Written, StoreError>>, StoreError> {
    if changes.is_empty() {
        return Ok(Vec::new());
    }
    let mut keys: BTreeSet<(ConversationId, UserId)> = BTreeSet::new();
    for (change, positions) in changes.iter().zip(&resolved.positions) {
        for (conversation, _) in positions.iter().flatten() {
            keys.insert((*conversation, change.reader.id));
        }
    }
    let mut marks = lock_members(conn, &keys).await?;
    let members = current_members(conn, &resolved.groups, &mut marks).await?;

    let mut steps = Vec::new();
    let mut answers: Vec<Result<(), StoreError>> = Vec::with_capacity(changes.len());
    for (index, (change, positions)) in changes.iter().zip(resolved.positions).enumerate() {
        let positions = match positions {
            Ok(positions) => positions,
            Err(err) => {
                answers.push(Err(err));
                continue;
            }
        };
        answers.push(Ok(()));
        let reader = change.reader.id;
        for (conversation, up_to) in positions {
            let before = *marks
                .get(&(conversation, reader))
                .ok_or(StoreError::NotFound)?;
            let after = before.advanced(change.status, up_to.0);
            if after == before {
                continue;
            }
            marks.insert((conversation, reader), after);
            let others = members
                .get(&conversation)
                .into_iter()
                .flatten()
                .filter(|user| **user != reader)
                .filter_map(|user| marks.get(&(conversation, *user)).map(|m| (*user, *m)))
                .collect();
            steps.push(Step {
                change: index,
                conversation,
                reader,
                before,
                after,
                up_to,
                others,
            });
        }
    }
    let direct_keys: Vec<(ConversationId, UserId)> = steps
        .iter()
        .filter(|s| !resolved.groups.contains(&s.conversation))
        .map(|s| (s.conversation, s.reader))
        .collect();
    let withheld = super::requests::withheld(conn, &direct_keys).await?;
    let mut moved = moved_messages(conn, changes, &steps).await?;
    write(conn, changes, &steps).await?;

    let mut written: Vec<Result<Written, StoreError>> = answers
        .into_iter()
        .zip(changes)
        .map(|(answer, change)| {
            answer.map(|()| Written::Moved {
                updated: Vec::new(),
                up_to: change.message_ids.iter().max().copied(),
                groups: Vec::new(),
                at: change.at,
            })
        })
        .collect();
    for (i, step) in steps.into_iter().enumerate() {
        let change = changes[step.change];
        let moved = moved.remove(&i).unwrap_or_default();
        let receipt = Receipt {
            reader: &change.reader,
            conversation: step.conversation,
            group: resolved.groups.contains(&step.conversation),
            status: change.status,
            before: step.before,
            after: step.after,
            up_to: step.up_to,
            moved,
            others: Others::of(&step.others),
            live_max: change.live_max,
            at: change.at,
            withheld: withheld.contains(&(step.conversation, step.reader)),
        };
        if let Some(Ok(Written::Moved {
            updated, groups, ..
        })) = written.get_mut(step.change)
        {
            updated.extend(receipt.moved.iter().map(|m| m.id));
            updated.sort();
            groups.extend(route(&receipt));
        }
    }
    Ok(written)
}

/// The messages each step moved for its reader: from others, text, inside the reader's range,
/// between the old and the new mark. Each range is read through the conversation's index on
/// its own (a `LATERAL` subquery), whatever the statistics.
async fn moved_messages(
    conn: &mut PgConnection,
    changes: &[&StatusChange],
    steps: &[Step],
) -> Result<BTreeMap<usize, Vec<Moved>>, StoreError> {
    let mut by_step: BTreeMap<usize, Vec<Moved>> = BTreeMap::new();
    if steps.is_empty() {
        return Ok(by_step);
    }
    let reach = |step: &Step, marks: Marks| marks.reach(changes[step.change].status);
    let sql = format!(
        "SELECT t.i, m.id, m.sender_id \
         FROM UNNEST($1::BIGINT[], $2::BIGINT[], $3::BIGINT[], $4::BIGINT[]) \
           WITH ORDINALITY AS t(c, r, lo, hi, i) \
         CROSS JOIN LATERAL (SELECT m.id, m.sender_id FROM messages m \
           WHERE m.conversation_id = t.c AND m.id > t.lo AND m.id <= t.hi AND m.kind = 0 \
             AND m.sender_id != t.r AND {}) m \
         ORDER BY t.i, m.id",
        visible_to("t.r")
    );
    let rows = sqlx::query(AssertSqlSafe(sql))
        .bind(steps.iter().map(|s| s.conversation.0).collect::<Vec<_>>())
        .bind(steps.iter().map(|s| s.reader.0).collect::<Vec<_>>())
        .bind(steps.iter().map(|s| reach(s, s.before)).collect::<Vec<_>>())
        .bind(steps.iter().map(|s| reach(s, s.after)).collect::<Vec<_>>())
        .fetch_all(&mut *conn)
        .await
        .map_err(failure)?;
    for row in rows {
        let get = |name: &str| row.try_get::<i64, _>(name).map_err(failure);
        let step = usize::try_from(get("i")? - 1).map_err(|e| StoreError::Other(e.to_string()))?;
        by_step.entry(step).or_default().push(Moved {
            id: MessageId(get("id")?),
            sender: UserId(get("sender_id")?),
        });
    }
    Ok(by_step)
}

/// Writes every reader's final marks and logs each advance, one statement each.
async fn write(
    conn: &mut PgConnection,
    changes: &[&StatusChange],
    steps: &[Step],
) -> Result<(), StoreError> {
    if steps.is_empty() {
        return Ok(());
    }
    let mut last: BTreeMap<(ConversationId, UserId), Marks> = BTreeMap::new();
    let mut log: Vec<(i64, i64, i16, i64, i64)> = Vec::new();
    for step in steps {
        last.insert((step.conversation, step.reader), step.after);
        let at = changes[step.change].at.millis();
        for (now, was, status) in [
            (
                step.after.delivered,
                step.before.delivered,
                MessageStatus::Delivered,
            ),
            (step.after.read, step.before.read, MessageStatus::Read),
        ] {
            if now > was {
                let status = status.as_i64() as i16;
                log.push((step.conversation.0, step.reader.0, status, now, at));
            }
        }
    }
    sqlx::query(
        "UPDATE conversation_members me SET delivered_id = t.d, read_id = t.r \
         FROM UNNEST($1::BIGINT[], $2::BIGINT[], $3::BIGINT[], $4::BIGINT[]) AS t(c, u, d, r) \
         WHERE me.conversation_id = t.c AND me.user_id = t.u",
    )
    .bind(last.keys().map(|(c, _)| c.0).collect::<Vec<_>>())
    .bind(last.keys().map(|(_, u)| u.0).collect::<Vec<_>>())
    .bind(last.values().map(|m| m.delivered).collect::<Vec<_>>())
    .bind(last.values().map(|m| m.read).collect::<Vec<_>>())
    .execute(&mut *conn)
    .await
    .map_err(failure)?;
    sqlx::query(
        "INSERT INTO receipt_log (conversation_id, user_id, status, up_to_id, at) \
         SELECT * FROM UNNEST($1::BIGINT[], $2::BIGINT[], $3::SMALLINT[], $4::BIGINT[], $5::BIGINT[]) \
         ON CONFLICT DO NOTHING",
    )
    .bind(log.iter().map(|l| l.0).collect::<Vec<_>>())
    .bind(log.iter().map(|l| l.1).collect::<Vec<_>>())
    .bind(log.iter().map(|l| l.2).collect::<Vec<_>>())
    .bind(log.iter().map(|l| l.3).collect::<Vec<_>>())
    .bind(log.iter().map(|l| l.4).collect::<Vec<_>>())
    .execute(conn)
    .await
    .map_err(failure)?;
    Ok(())
}
