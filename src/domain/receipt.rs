//! Up-to receipts: where each member stands in a conversation, and what that makes of a
//! message's status for whoever looks at it.
//!
//! A member's receipts are two watermarks, positions in the conversation: every message from
//! others at or below `delivered` is delivered to them, at or below `read` read
//! (`read ≤ delivered`). A position is a message id: within a conversation ids grow with seqs,
//! so comparing ids orders messages as seqs do, and the store compares them in its indexes.
//! A member who joins starts with both at the message that added them, so older history never
//! counts as unread and never holds back anyone's ticks. The status a viewer sees of a message from
//! someone else is their own (`Marks::status_of`); of their own message, the aggregate over
//! the other current members who were members when it was sent (`Aggregate`).

use super::message::MessageStatus;

/// A member's two watermarks in one conversation (message ids; 0 before any).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Marks {
    pub delivered: i64,
    pub read: i64,
}

impl Marks {
    /// The member's own status of a message at `position` from someone else.
    pub fn status_of(self, position: i64) -> MessageStatus {
        if position <= self.read {
            MessageStatus::Read
        } else if position <= self.delivered {
            MessageStatus::Delivered
        } else {
            MessageStatus::Sent
        }
    }

    /// These marks moved forward to `status` at `position`: a read also delivers; nothing moves back.
    pub fn advanced(self, status: MessageStatus, position: i64) -> Marks {
        let read = if status >= MessageStatus::Read {
            self.read.max(position)
        } else {
            self.read
        };
        Marks {
            delivered: self.delivered.max(position).max(read),
            read,
        }
    }

    /// How far these marks reach for `status`.
    pub fn reach(self, status: MessageStatus) -> i64 {
        match status {
            MessageStatus::Read => self.read,
            MessageStatus::Delivered => self.delivered,
            MessageStatus::Sent => i64::MAX,
        }
    }
}

/// A current member as a sender's aggregate counts them: the message that began their current
/// membership (0 for a direct conversation's two parties) and their marks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemberMarks {
    pub joined: i64,
    pub marks: Marks,
}

/// A sender's view of one of their messages: the aggregate status over the other current
/// members who were members when it was sent, and how many of them have it delivered or read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Aggregate {
    pub status: MessageStatus,
    pub delivered_count: i64,
    pub read_count: i64,
}

impl Aggregate {
    /// The aggregate of the message at `position` over `others` (the current members other than its
    /// sender). With nobody left to wait for, it is `read`: a status only moves forward, and
    /// the last member's leave completes it.
    pub fn of(position: i64, others: &[MemberMarks]) -> Aggregate {
        let mut counted = 0;
        let (mut delivered_count, mut read_count) = (0, 0);
        for member in others.iter().filter(|m| m.joined < position) {
            counted += 1;
            if member.marks.delivered >= position {
                delivered_count += 1;
            }
            if member.marks.read >= position {
                read_count += 1;
            }
        }
        let status = if read_count == counted {
            MessageStatus::Read
        } else if delivered_count == counted {
            MessageStatus::Delivered
        } else {
            MessageStatus::Sent
        };
        Aggregate {
            status,
            delivered_count,
            read_count,
        }
    }
}

/// How far every member of `others` has got for `status`: the position up to which the aggregate
/// has reached it (members who joined later start past every earlier message, so they never
/// hold it back). `i64::MAX` when there is nobody.
pub fn completed_up_to(others: &[MemberMarks], status: MessageStatus) -> i64 {
    others
        .iter()
        .map(|m| m.marks.reach(status))
        .min()
        .unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(joined: i64, delivered: i64, read: i64) -> MemberMarks {
        MemberMarks {
            joined,
            marks: Marks { delivered, read },
        }
    }

    #[test]
    fn a_read_delivers_too_and_nothing_moves_back() {
        let marks = Marks {
            delivered: 5,
            read: 2,
        };
        assert_eq!(
            marks.advanced(MessageStatus::Read, 7),
            Marks {
                delivered: 7,
                read: 7
            }
        );
        assert_eq!(marks.advanced(MessageStatus::Delivered, 3), marks);
        assert_eq!(marks.advanced(MessageStatus::Read, 1), marks);
        assert_eq!(marks.status_of(2), MessageStatus::Read);
        assert_eq!(marks.status_of(5), MessageStatus::Delivered);
        assert_eq!(marks.status_of(6), MessageStatus::Sent);
    }

    #[test]
    fn the_aggregate_waits_for_every_member_who_was_there() {
        let others = [member(0, 9, 4), member(0, 6, 6), member(8, 8, 8)];
        let at = |position| Aggregate::of(position, &others);
        assert_eq!(
            at(4),
            Aggregate {
                status: MessageStatus::Read,
                delivered_count: 2,
                read_count: 2
            }
        );
        assert_eq!(at(6).status, MessageStatus::Delivered);
        assert_eq!((at(6).delivered_count, at(6).read_count), (2, 1));
        assert_eq!(at(7).status, MessageStatus::Sent);
        // The member who joined at position 8 counts for later messages only.
        assert_eq!((at(9).delivered_count, at(9).read_count), (1, 0));
        assert_eq!(completed_up_to(&others, MessageStatus::Read), 4);
        assert_eq!(completed_up_to(&others, MessageStatus::Delivered), 6);
        assert_eq!(Aggregate::of(3, &[]).status, MessageStatus::Read);
    }
}
