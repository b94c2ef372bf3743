//! Who is told of a receipt: the status events one reader's receipt in one conversation
//! records, the same on every backend (PROTOCOL.md, Groups › Receipts).

use std::collections::BTreeMap;

use super::records::{StatusData, StatusGroup};
use crate::domain::MessageStatus;
use crate::domain::User;
use crate::domain::ids::{ConversationId, MessageId, UserId};
use crate::domain::receipt::Marks;
use crate::domain::time::Timestamp;

/// A message a receipt moved for its reader: its id and its sender.
#[derive(Debug, Clone, Copy)]
pub struct Moved {
    pub id: MessageId,
    pub sender: UserId,
}

/// One reader's receipt in one conversation, once applied: everything needed to decide who is
/// told what (PROTOCOL.md, Groups › Receipts).
pub struct Receipt<'a> {
    pub reader: &'a User,
    pub conversation: ConversationId,
    /// Whether the conversation is a group (else direct).
    pub group: bool,
    /// The status asked for.
    pub status: MessageStatus,
    /// The reader's marks before and after.
    pub before: Marks,
    pub after: Marks,
    /// The position named.
    pub up_to: MessageId,
    /// The messages that moved for the reader, ascending.
    pub moved: Vec<Moved>,
    /// In a group, where the other current members (not the reader) stand.
    pub others: Others,
    /// Groups of at most this many members tell each sender of every move (b).
    pub live_max: usize,
    pub at: Timestamp,
    /// A direct conversation that is a pending (or declined) request for the reader: their
    /// read receipts do not reach the sender, who is told only of what became delivered.
    pub withheld: bool,
}

/// Where a group's current members other than a reader stand, as far as routing needs: the two
/// lowest marks of each kind (so that "everyone but this sender" is known without reading
/// every member), how many they are (counted up to the live limit), and which of the senders
/// concerned are among them.
#[derive(Debug, Clone, Default)]
pub struct Others {
    pub lowest: Lowest,
    /// How many they are, exactly up to the live limit (more is "more").
    pub count: usize,
    /// The senders of moved messages who are current members.
    pub current: Vec<UserId>,
}

impl Others {
    /// From every other current member's marks (a backend that has read them all).
    pub fn of(members: &[(UserId, Marks)]) -> Others {
        Others {
            lowest: Lowest::of(members),
            count: members.len(),
            current: members.iter().map(|(user, _)| *user).collect(),
        }
    }
}

/// The status events a receipt records. In a direct conversation: one, `all: true`, to both
/// parties. In a group: (a) one to the reader listing everything that moved for them; (b) in
/// groups of at most `live_max` members, one to each sender listing theirs, `all: false`;
/// (c) instead, for a sender's messages that this receipt made delivered or read by every
/// current member, one `all: true` event with the aggregate reached. Past members get nothing.
pub fn route(receipt: &Receipt<'_>) -> Vec<StatusGroup> {
    if receipt.moved.is_empty() {
        return Vec::new();
    }
    let event = |ids: Vec<MessageId>, status, all, up_to_id, users| StatusGroup {
        data: StatusData {
            conversation_id: receipt.conversation,
            message_ids: ids,
            up_to_id,
            status,
            by: receipt.reader.username.clone(),
            all,
            at: receipt.at.millis(),
        },
        users,
    };
    let ids = |moved: &[Moved]| moved.iter().map(|m| m.id).collect::<Vec<_>>();
    let newest = |moved: &[Moved]| moved.iter().map(|m| m.id).max().unwrap_or(receipt.up_to);
    if !receipt.group && receipt.withheld && receipt.status == MessageStatus::Read {
        let mut groups = vec![event(
            ids(&receipt.moved),
            receipt.status,
            true,
            receipt.up_to,
            vec![receipt.reader.id],
        )];
        let delivered: Vec<Moved> = receipt
            .moved
            .iter()
            .filter(|m| m.id.0 > receipt.before.delivered && m.sender != receipt.reader.id)
            .copied()
            .collect();
        if let Some(first) = delivered.first() {
            let up_to = newest(&delivered);
            groups.push(event(
                ids(&delivered),
                MessageStatus::Delivered,
                true,
                up_to,
                vec![first.sender],
            ));
        }
        return groups;
    }
    if !receipt.group {
        let mut users: Vec<UserId> = vec![receipt.moved[0].sender, receipt.reader.id];
        users.dedup();
        return vec![event(
            ids(&receipt.moved),
            receipt.status,
            true,
            receipt.up_to,
            users,
        )];
    }
    let mut groups = vec![event(
        ids(&receipt.moved),
        receipt.status,
        false,
        receipt.up_to,
        vec![receipt.reader.id],
    )];
    let live = receipt.others.count < receipt.live_max;
    let mut by_sender: BTreeMap<UserId, Vec<Moved>> = BTreeMap::new();
    for moved in &receipt.moved {
        by_sender.entry(moved.sender).or_default().push(*moved);
    }
    let lowest = &receipt.others.lowest;
    for (sender, moved) in by_sender {
        if !receipt.others.current.contains(&sender) {
            continue;
        }
        let (read_reach, delivered_reach) = lowest.without(sender);
        let (mut read, mut delivered, mut own) = (Vec::new(), Vec::new(), Vec::new());
        for m in moved {
            let position = m.id.0;
            if receipt.status == MessageStatus::Read
                && position <= receipt.after.read
                && position <= read_reach
            {
                read.push(m);
            } else if position > receipt.before.delivered
                && position <= receipt.after.delivered
                && position <= delivered_reach
            {
                delivered.push(m);
            } else {
                own.push(m);
            }
        }
        for (moved, status, all) in [
            (read, MessageStatus::Read, true),
            (delivered, MessageStatus::Delivered, true),
            (own, receipt.status, false),
        ] {
            if moved.is_empty() || (!all && !live) {
                continue;
            }
            groups.push(event(
                ids(&moved),
                status,
                all,
                newest(&moved),
                vec![sender],
            ));
        }
    }
    groups
}

/// The two lowest marks of a group's members for each status, so that "everyone but this
/// sender" is found without a pass per sender.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lowest {
    pub read: [(i64, Option<UserId>); 2],
    pub delivered: [(i64, Option<UserId>); 2],
}

impl Default for Lowest {
    fn default() -> Self {
        Lowest::of(&[])
    }
}

impl Lowest {
    pub fn of(members: &[(UserId, Marks)]) -> Lowest {
        let two = |reach: &dyn Fn(Marks) -> i64| {
            let mut lowest = [(i64::MAX, None), (i64::MAX, None)];
            for (user, marks) in members {
                let value = reach(*marks);
                if value < lowest[0].0 {
                    lowest[1] = lowest[0];
                    lowest[0] = (value, Some(*user));
                } else if value < lowest[1].0 {
                    lowest[1] = (value, Some(*user));
                }
            }
            lowest
        };
        Lowest {
            read: two(&|m| m.read),
            delivered: two(&|m| m.delivered),
        }
    }

    /// How far every member but `sender` has read and has had delivered.
    fn without(&self, sender: UserId) -> (i64, i64) {
        let pick = |lowest: &[(i64, Option<UserId>); 2]| {
            if lowest[0].1 == Some(sender) {
                lowest[1].0
            } else {
                lowest[0].0
            }
        };
        (pick(&self.read), pick(&self.delivered))
    }
}

/// Where a member's exit completes a sender's messages: those with ids in `read` (from, to]
/// become read by every remaining member, those in `delivered` (from, to] delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Completion {
    pub sender: UserId,
    pub read: (i64, i64),
    pub delivered: (i64, i64),
}

impl Completion {
    /// The status the exit gives the message at `position`, if it completes it.
    pub fn status_of(&self, position: i64) -> Option<MessageStatus> {
        if position > self.read.0 && position <= self.read.1 {
            Some(MessageStatus::Read)
        } else if position > self.delivered.0 && position <= self.delivered.1 {
            Some(MessageStatus::Delivered)
        } else {
            None
        }
    }

    /// The lowest and highest position that may be completed.
    pub fn span(&self) -> (i64, i64) {
        (
            self.read.0.min(self.delivered.0),
            self.read.1.max(self.delivered.1),
        )
    }
}

/// What `leaving`'s exit completes for each remaining member of `members` (the current members
/// before it, with their marks): nothing unless the leaver was the one holding a sender's
/// messages back.
pub fn completions_on_exit(members: &[(UserId, Marks)], leaving: UserId) -> Vec<Completion> {
    let before = Lowest::of(members);
    let remaining: Vec<(UserId, Marks)> = members
        .iter()
        .filter(|(user, _)| *user != leaving)
        .copied()
        .collect();
    let after = Lowest::of(&remaining);
    remaining
        .iter()
        .filter_map(|(sender, _)| {
            let (read_before, delivered_before) = before.without(*sender);
            let (read_after, delivered_after) = after.without(*sender);
            let completion = Completion {
                sender: *sender,
                read: (read_before, read_after),
                delivered: (delivered_before, delivered_after),
            };
            (read_after > read_before || delivered_after > delivered_before).then_some(completion)
        })
        .collect()
}

/// The `all: true` events of an exit's completions: for each sender, one per status reached,
/// listing the messages (`moved`: id and the status the exit gave it), `by` the member who left.
pub fn exit_events(
    conversation: ConversationId,
    by: &str,
    sender: UserId,
    moved: &[(MessageId, MessageStatus)],
    at: Timestamp,
) -> Vec<StatusGroup> {
    [MessageStatus::Read, MessageStatus::Delivered]
        .into_iter()
        .filter_map(|status| {
            let ids: Vec<MessageId> = moved
                .iter()
                .filter(|(_, s)| *s == status)
                .map(|(id, _)| *id)
                .collect();
            let up_to_id = *ids.last()?;
            Some(StatusGroup {
                data: StatusData {
                    conversation_id: conversation,
                    message_ids: ids,
                    up_to_id,
                    status,
                    by: by.to_owned(),
                    all: true,
                    at: at.millis(),
                },
                users: vec![sender],
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(id: i64, name: &str) -> User {
        User {
            id: UserId(id),
            username: name.into(),
            display_name: name.into(),
        }
    }

    fn marks(delivered: i64, read: i64) -> Marks {
        Marks { delivered, read }
    }

    fn receipt<'a>(reader: &'a User, group: bool, others: Vec<(UserId, Marks)>) -> Receipt<'a> {
        Receipt {
            reader,
            conversation: ConversationId(1),
            group,
            status: MessageStatus::Read,
            before: marks(0, 0),
            after: marks(12, 12),
            up_to: MessageId(12),
            moved: [(10, 1), (11, 3), (12, 1)]
                .map(|(id, sender)| Moved {
                    id: MessageId(id),
                    sender: UserId(sender),
                })
                .to_vec(),
            others: Others::of(&others),
            live_max: 32,
            at: Timestamp(5),
            withheld: false,
        }
    }

    fn summary(groups: &[StatusGroup]) -> Vec<(Vec<i64>, MessageStatus, bool, Vec<i64>)> {
        groups
            .iter()
            .map(|g| {
                (
                    g.data.message_ids.iter().map(|m| m.0).collect(),
                    g.data.status,
                    g.data.all,
                    g.users.iter().map(|u| u.0).collect(),
                )
            })
            .collect()
    }

    #[test]
    fn a_direct_receipt_is_one_event_to_both_parties() {
        let bob = user(2, "bob");
        let mut direct = receipt(&bob, false, Vec::new());
        direct.moved.retain(|m| m.sender == UserId(1));
        assert_eq!(
            summary(&route(&direct)),
            [(vec![10, 12], MessageStatus::Read, true, vec![1, 2])]
        );
    }

    #[test]
    fn a_group_receipt_tells_the_reader_each_sender_and_completes_once() {
        let bob = user(2, "bob");
        // Alice (1) and carol (3) sent; dave (4) has read up to 11 only.
        let others = vec![
            (UserId(1), marks(12, 12)),
            (UserId(3), marks(11, 11)),
            (UserId(4), marks(11, 11)),
        ];
        let groups = route(&receipt(&bob, true, others));
        assert_eq!(
            summary(&groups),
            [
                (vec![10, 11, 12], MessageStatus::Read, false, vec![2]),
                (vec![10], MessageStatus::Read, true, vec![1]),
                (vec![12], MessageStatus::Read, false, vec![1]),
                (vec![11], MessageStatus::Read, true, vec![3]),
            ]
        );
        assert!(groups.iter().all(|g| g.data.by == "bob"));
        assert_eq!(groups[0].data.up_to_id, MessageId(12));
        assert_eq!(groups[2].data.up_to_id, MessageId(12));
    }

    #[test]
    fn an_exit_completes_what_the_leaver_held_back() {
        // Alice (1) and bob (2) read everything up to 9; carol (3) is stuck at 4 read, 6
        // delivered. Her leaving completes alice's and bob's messages up to 9.
        let members = [
            (UserId(1), marks(9, 9)),
            (UserId(2), marks(9, 9)),
            (UserId(3), marks(6, 4)),
        ];
        let done = completions_on_exit(&members, UserId(3));
        assert_eq!(
            done,
            [
                Completion {
                    sender: UserId(1),
                    read: (4, 9),
                    delivered: (6, 9)
                },
                Completion {
                    sender: UserId(2),
                    read: (4, 9),
                    delivered: (6, 9)
                },
            ]
        );
        assert_eq!(done[0].status_of(5), Some(MessageStatus::Read));
        assert_eq!(done[0].status_of(4), None);
        // Alice leaving holds nobody back: nothing completes.
        assert!(completions_on_exit(&members, UserId(1)).is_empty());
    }

    #[test]
    fn above_the_live_limit_only_completions_reach_senders() {
        let bob = user(2, "bob");
        let others = vec![
            (UserId(1), marks(12, 12)),
            (UserId(3), marks(11, 11)),
            (UserId(4), marks(11, 0)),
        ];
        let mut big = receipt(&bob, true, others);
        big.live_max = 2;
        assert_eq!(
            summary(&route(&big)),
            [
                (vec![10, 11, 12], MessageStatus::Read, false, vec![2]),
                (vec![10], MessageStatus::Delivered, true, vec![1]),
                (vec![11], MessageStatus::Delivered, true, vec![3]),
            ]
        );
    }
}
