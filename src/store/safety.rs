//! Blocks and message requests as both backends decide them (PROTOCOL.md, Safety and privacy):
//! what a member's request state means, and whether a direct send may be stored and what it
//! changes. The backends read the facts inside the send's transaction (the conversation
//! locked), call `judge_direct`, and write the states it returns with the message.
//!
//! A member row of a conversation carries a request state: `NONE` (an ordinary conversation),
//! `PENDING` (a message request for that member) or `DECLINED` (they declined it); in a group,
//! `GROUP_PENDING` (a group request) or `GROUP_DECLINED` (they left it while it was one). The
//! two kinds are told apart by value so that a read of marks can withhold a pending direct
//! request's read receipts (`request IN (1, 2)`) without reading the conversation's kind. In a direct conversation
//! only the recipient of the first message can ever be `PENDING`; it stops being one for good
//! on accept, on their reply, or when both become current members of a common accepted group.

use super::{Refusal, StoreError};
use crate::domain::code;

/// An ordinary membership.
pub const NONE: i64 = 0;
/// A pending message request (or group request) for the member.
pub const PENDING: i64 = 1;
/// Declined by the member.
pub const DECLINED: i64 = 2;
/// A group added to by someone who could only message the member as a request.
pub const GROUP_PENDING: i64 = 3;
/// A group request the member left (declined).
pub const GROUP_DECLINED: i64 = 4;

/// The most messages a sender may store in a pending request.
pub const REQUEST_LIMIT: i64 = 3;

/// What a direct send's judgement needs, read in the send's transaction.
#[derive(Debug, Clone, Copy, Default)]
pub struct DirectFacts {
    /// Either party blocks the other.
    pub blocked: bool,
    /// The conversation has no message yet: this one opens it.
    pub first: bool,
    /// The sender's and the recipient's request states in the conversation.
    pub sender_state: i64,
    pub recipient_state: i64,
    /// Messages the sender has stored in the conversation.
    pub sent_by_sender: i64,
    /// Both are current members of a group that is a request for neither.
    pub shared_group: bool,
}

/// The request states a stored send leaves (`None`: unchanged).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DirectPlan {
    pub sender_state: Option<i64>,
    pub recipient_state: Option<i64>,
}

/// Whether a new direct message may be stored, and the states it leaves. With message
/// requests off only blocks refuse, and no state changes.
pub fn judge_direct(facts: DirectFacts, requests: bool) -> Result<DirectPlan, StoreError> {
    if facts.blocked {
        return Err(cannot_message());
    }
    if !requests {
        return Ok(DirectPlan::default());
    }
    if facts.first {
        let recipient = if facts.shared_group { NONE } else { PENDING };
        return Ok(DirectPlan {
            sender_state: None,
            recipient_state: Some(recipient),
        });
    }
    if facts.sender_state != NONE {
        // The recipient of a request (pending or declined) writes back: it is accepted.
        return Ok(DirectPlan {
            sender_state: Some(NONE),
            recipient_state: None,
        });
    }
    match facts.recipient_state {
        DECLINED => Err(cannot_message()),
        PENDING if facts.shared_group => Ok(DirectPlan {
            sender_state: None,
            recipient_state: Some(NONE),
        }),
        PENDING if facts.sent_by_sender >= REQUEST_LIMIT => Err(StoreError::Refused(
            Refusal::Forbidden(code::REQUEST_PENDING),
            format!(
                "this person has not accepted your message request yet; at most {REQUEST_LIMIT} \
                 messages may wait for them"
            ),
        )),
        _ => Ok(DirectPlan::default()),
    }
}

/// The refusal of a send to someone who blocks the sender, is blocked by them, or declined.
pub fn cannot_message() -> StoreError {
    StoreError::Refused(
        Refusal::Forbidden(code::CANNOT_MESSAGE_USER),
        "you cannot message this person".into(),
    )
}

/// The refusal of a group add (or creation) naming someone who blocks the actor or whom the
/// actor blocks.
pub fn cannot_add(username: &str) -> StoreError {
    StoreError::Refused(
        Refusal::Forbidden(code::CANNOT_ADD_USER),
        format!("you cannot add {username} to a group"),
    )
}

/// The request state of someone added to a group by an actor: `GROUP_PENDING` when requests
/// are on and the actor could only message them as a request (`trusted` false), else `NONE`.
pub fn added_state(requests: bool, trusted: bool) -> i64 {
    if requests && !trusted {
        GROUP_PENDING
    } else {
        NONE
    }
}

/// Whether a member's request state shows their conversation as a request in their list.
pub fn is_request(state: i64) -> bool {
    state == PENDING || state == GROUP_PENDING
}

/// Whether presence goes from a member whose state is `mine` to the other party of a direct
/// conversation whose state is `theirs`: not from the recipient of a pending request to its
/// sender, and neither way once declined.
pub fn presence_flows(mine: i64, theirs: i64) -> bool {
    mine == NONE && theirs != DECLINED
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused_code(result: Result<DirectPlan, StoreError>) -> &'static str {
        match result {
            Err(StoreError::Refused(Refusal::Forbidden(code), _)) => code,
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn blocks_refuse_whatever_the_requests_setting() {
        let facts = DirectFacts {
            blocked: true,
            ..DirectFacts::default()
        };
        assert_eq!(
            refused_code(judge_direct(facts, false)),
            code::CANNOT_MESSAGE_USER
        );
        assert_eq!(
            refused_code(judge_direct(facts, true)),
            code::CANNOT_MESSAGE_USER
        );
    }

    #[test]
    fn a_first_message_is_a_request_unless_a_group_is_shared() {
        let first = DirectFacts {
            first: true,
            ..DirectFacts::default()
        };
        assert_eq!(
            judge_direct(first, true).unwrap().recipient_state,
            Some(PENDING)
        );
        let grouped = DirectFacts {
            shared_group: true,
            ..first
        };
        assert_eq!(
            judge_direct(grouped, true).unwrap().recipient_state,
            Some(NONE)
        );
        assert_eq!(judge_direct(first, false).unwrap(), DirectPlan::default());
    }

    #[test]
    fn a_pending_request_holds_three_messages() {
        let pending = |sent| DirectFacts {
            recipient_state: PENDING,
            sent_by_sender: sent,
            ..DirectFacts::default()
        };
        assert!(judge_direct(pending(2), true).is_ok());
        assert_eq!(
            refused_code(judge_direct(pending(3), true)),
            code::REQUEST_PENDING
        );
        assert!(judge_direct(pending(3), false).is_ok());
    }

    #[test]
    fn a_reply_accepts_and_a_decline_refuses() {
        let reply = DirectFacts {
            sender_state: DECLINED,
            ..DirectFacts::default()
        };
        assert_eq!(judge_direct(reply, true).unwrap().sender_state, Some(NONE));
        let declined = DirectFacts {
            recipient_state: DECLINED,
            shared_group: true,
            ..DirectFacts::default()
        };
        assert_eq!(
            refused_code(judge_direct(declined, true)),
            code::CANNOT_MESSAGE_USER
        );
    }
}
