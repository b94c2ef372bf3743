//! Who may change a message once it is sent, and whether a change changes anything: edits by
//! their sender within the edit window, deletes for everyone by their sender within the delete
//! window or by a group's owner or admins at any time, and each member's one reaction. The
//! rules are pure: the store judges them inside the transaction that read the message and the
//! member, so a decision and the change it allows happen in one order.
//!
//! The checks run in the order the contract names them: the kind of message first
//! (`not_editable`, `not_reactable`), then whether the caller is still a member, then who they
//! are (`not_sender`), then whether it is deleted (`message_deleted`), then the window. A
//! change that changes nothing (the same body, a second delete, the same emoji, removing no
//! reaction) is answered as done before the window is looked at, so a client's retry succeeds.

use super::code;
use super::error::Error;
use super::message::MessageKind;
use super::time::Timestamp;

/// How long after `created_at` a sender may still edit or delete for everyone, in seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Windows {
    pub edit_secs: u64,
    pub delete_secs: u64,
}

impl Default for Windows {
    fn default() -> Self {
        Windows {
            edit_secs: 900,
            delete_secs: 172_800,
        }
    }
}

/// A message as the rules see it, with the member asking.
#[derive(Debug, Clone)]
pub struct Subject<'a> {
    pub kind: MessageKind,
    pub deleted: bool,
    pub created_at: Timestamp,
    pub body: &'a str,
    /// Whether it carries attachments (then its body may be edited to nothing).
    pub has_attachments: bool,
    /// Whether the member asking sent it.
    pub mine: bool,
    /// Whether the member asking is a current member (a past one can still read it).
    pub current: bool,
    /// Whether the member asking is an owner or admin of the group it belongs to.
    pub moderator: bool,
    /// The emoji the member asking has set on it, if any.
    pub my_reaction: Option<&'a str>,
}

/// A change a member asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change<'a> {
    Edit(&'a str),
    Delete,
    React(Option<&'a str>),
}

/// What the store is to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Write the change and tell every member who can see the message.
    Apply,
    /// Nothing changes: answer with the message as it is, with no event.
    Unchanged,
}

/// Judges `change` of `subject` at `at`.
pub fn judge(
    subject: &Subject<'_>,
    change: Change<'_>,
    windows: Windows,
    at: Timestamp,
) -> Result<Verdict, Error> {
    match change {
        Change::Edit(body) => edit(subject, body, windows, at),
        Change::Delete => delete(subject, windows, at),
        Change::React(emoji) => react(subject, emoji),
    }
}

fn edit(
    subject: &Subject<'_>,
    body: &str,
    windows: Windows,
    at: Timestamp,
) -> Result<Verdict, Error> {
    if subject.kind == MessageKind::System {
        return Err(Error::invalid(
            code::NOT_EDITABLE,
            "system messages cannot be edited",
        ));
    }
    still_a_member(subject)?;
    if !subject.mine {
        return Err(Error::forbidden(
            code::NOT_SENDER,
            "only its sender may edit a message",
        ));
    }
    if subject.deleted {
        return Err(Error::MessageDeleted);
    }
    if subject.body == body {
        return Ok(Verdict::Unchanged);
    }
    if body.is_empty() && !subject.has_attachments {
        return Err(Error::invalid(
            code::INVALID_BODY,
            "only a message with attachments may have an empty body",
        ));
    }
    if !within(subject.created_at, windows.edit_secs, at) {
        return Err(Error::forbidden(
            code::EDIT_WINDOW_PASSED,
            format!(
                "a message can be edited for {} seconds after it is sent",
                windows.edit_secs
            ),
        ));
    }
    Ok(Verdict::Apply)
}

fn delete(subject: &Subject<'_>, windows: Windows, at: Timestamp) -> Result<Verdict, Error> {
    if subject.kind == MessageKind::System {
        return Err(Error::invalid(
            code::NOT_EDITABLE,
            "system messages cannot be deleted",
        ));
    }
    still_a_member(subject)?;
    if !subject.mine && !subject.moderator {
        return Err(Error::forbidden(
            code::NOT_SENDER,
            "only its sender, or a group's owner or admins, may delete a message",
        ));
    }
    if subject.deleted {
        return Ok(Verdict::Unchanged);
    }
    if !subject.moderator && !within(subject.created_at, windows.delete_secs, at) {
        return Err(Error::forbidden(
            code::DELETE_WINDOW_PASSED,
            format!(
                "a message can be deleted for everyone for {} seconds after it is sent",
                windows.delete_secs
            ),
        ));
    }
    Ok(Verdict::Apply)
}

fn react(subject: &Subject<'_>, emoji: Option<&str>) -> Result<Verdict, Error> {
    if subject.kind == MessageKind::System {
        return Err(Error::invalid(
            code::NOT_REACTABLE,
            "system messages take no reactions",
        ));
    }
    still_a_member(subject)?;
    if subject.deleted {
        return Err(Error::MessageDeleted);
    }
    if subject.my_reaction == emoji {
        return Ok(Verdict::Unchanged);
    }
    Ok(Verdict::Apply)
}

fn still_a_member(subject: &Subject<'_>) -> Result<(), Error> {
    if subject.current {
        Ok(())
    } else {
        Err(Error::forbidden(
            code::NOT_A_MEMBER,
            "you are no longer a member of this group",
        ))
    }
}

/// Whether `at` is less than `secs` seconds after `created_at` (a window of 0 allows nothing).
fn within(created_at: Timestamp, secs: u64, at: Timestamp) -> bool {
    let window = i64::try_from(secs).unwrap_or(i64::MAX).saturating_mul(1000);
    at.millis().saturating_sub(created_at.millis()) < window
}

#[cfg(test)]
mod tests {
    use super::*;

    const SENT: Timestamp = Timestamp(1_000_000);

    fn text<'a>() -> Subject<'a> {
        Subject {
            kind: MessageKind::Text,
            deleted: false,
            created_at: SENT,
            body: "hello",
            has_attachments: false,
            mine: true,
            current: true,
            moderator: false,
            my_reaction: None,
        }
    }

    fn code_of(result: Result<Verdict, Error>) -> &'static str {
        result.map_or_else(|e| e.code(), |_| "ok")
    }

    fn after(secs: i64) -> Timestamp {
        Timestamp(SENT.millis() + secs * 1000)
    }

    #[test]
    fn edits_are_the_senders_within_the_window() {
        let w = Windows::default();
        assert_eq!(
            judge(&text(), Change::Edit("hi"), w, after(899)).unwrap(),
            Verdict::Apply
        );
        assert_eq!(
            code_of(judge(&text(), Change::Edit("hi"), w, after(900))),
            code::EDIT_WINDOW_PASSED
        );
        // The same body is a no-op, even once the window has passed.
        assert_eq!(
            judge(&text(), Change::Edit("hello"), w, after(5000)).unwrap(),
            Verdict::Unchanged
        );
        let other = Subject {
            mine: false,
            moderator: true,
            ..text()
        };
        assert_eq!(
            code_of(judge(&other, Change::Edit("hi"), w, after(1))),
            code::NOT_SENDER
        );
        let gone = Subject {
            deleted: true,
            ..text()
        };
        assert_eq!(
            code_of(judge(&gone, Change::Edit("hi"), w, after(1))),
            code::MESSAGE_DELETED
        );
        let system = Subject {
            kind: MessageKind::System,
            mine: false,
            current: false,
            ..text()
        };
        assert_eq!(
            code_of(judge(&system, Change::Edit("hi"), w, after(1))),
            code::NOT_EDITABLE
        );
        let left = Subject {
            current: false,
            ..text()
        };
        assert_eq!(
            code_of(judge(&left, Change::Edit("hi"), w, after(1))),
            code::NOT_A_MEMBER
        );
    }

    #[test]
    fn deletes_are_the_senders_within_the_window_or_a_moderators_at_any_time() {
        let w = Windows::default();
        assert_eq!(
            judge(&text(), Change::Delete, w, after(172_799)).unwrap(),
            Verdict::Apply
        );
        assert_eq!(
            code_of(judge(&text(), Change::Delete, w, after(172_800))),
            code::DELETE_WINDOW_PASSED
        );
        let admin = Subject {
            mine: false,
            moderator: true,
            ..text()
        };
        assert_eq!(
            judge(&admin, Change::Delete, w, after(10_000_000)).unwrap(),
            Verdict::Apply
        );
        let member = Subject {
            mine: false,
            ..text()
        };
        assert_eq!(
            code_of(judge(&member, Change::Delete, w, after(1))),
            code::NOT_SENDER
        );
        let gone = Subject {
            deleted: true,
            ..text()
        };
        assert_eq!(
            judge(&gone, Change::Delete, w, after(999_999)).unwrap(),
            Verdict::Unchanged
        );
        let system = Subject {
            kind: MessageKind::System,
            moderator: true,
            ..text()
        };
        assert_eq!(
            code_of(judge(&system, Change::Delete, w, after(1))),
            code::NOT_EDITABLE
        );
        let zero = Windows {
            edit_secs: 0,
            delete_secs: 0,
        };
        assert_eq!(
            code_of(judge(&text(), Change::Delete, zero, SENT)),
            code::DELETE_WINDOW_PASSED
        );
    }

    #[test]
    fn reactions_are_any_current_members_on_live_text_messages() {
        let w = Windows::default();
        let member = Subject {
            mine: false,
            ..text()
        };
        assert_eq!(
            judge(&member, Change::React(Some("👍")), w, after(99_999_999)).unwrap(),
            Verdict::Apply
        );
        let set = Subject {
            my_reaction: Some("👍"),
            ..member.clone()
        };
        assert_eq!(
            judge(&set, Change::React(Some("👍")), w, after(1)).unwrap(),
            Verdict::Unchanged
        );
        assert_eq!(
            judge(&set, Change::React(Some("❤️")), w, after(1)).unwrap(),
            Verdict::Apply
        );
        assert_eq!(
            judge(&set, Change::React(None), w, after(1)).unwrap(),
            Verdict::Apply
        );
        assert_eq!(
            judge(&member, Change::React(None), w, after(1)).unwrap(),
            Verdict::Unchanged
        );
        let gone = Subject {
            deleted: true,
            ..member.clone()
        };
        assert_eq!(
            code_of(judge(&gone, Change::React(Some("👍")), w, after(1))),
            code::MESSAGE_DELETED
        );
        let system = Subject {
            kind: MessageKind::System,
            ..member
        };
        assert_eq!(
            code_of(judge(&system, Change::React(Some("👍")), w, after(1))),
            code::NOT_REACTABLE
        );
    }
}
