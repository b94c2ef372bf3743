//! Reporting a message (`POST /api/messages/{id}/report`): a member who can see it (a past
//! member within their range) tells operators about it. The store keeps a copy of the message
//! as it was, and holds its attachments' bytes, until `--report-retention-days` have passed,
//! even if the message is deleted meanwhile; operators read reports with `linkup admin reports`.

use crate::app::App;
use crate::domain::error::Error;
use crate::domain::time::Timestamp;
use crate::domain::{MessageId, User, code};
use crate::store::{NewReport, StoreError};

/// The longest reason, in Unicode scalar values.
pub const MAX_REASON_CHARS: usize = 1000;

/// Why a member reports a message: 1–1000 characters once trimmed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reason(String);

impl Reason {
    pub fn parse(raw: &str) -> Result<Self, Error> {
        let trimmed = raw.trim();
        let chars = trimmed.chars().count();
        if chars == 0 || chars > MAX_REASON_CHARS {
            return Err(Error::invalid(
                code::INVALID_REASON,
                format!("reason must be 1 to {MAX_REASON_CHARS} characters, got {chars}"),
            ));
        }
        Ok(Reason(trimmed.to_owned()))
    }
}

/// Reports message `id`; a repeat by the same member changes nothing.
pub async fn report(
    app: &App,
    reporter: &User,
    id: MessageId,
    reason: Reason,
) -> Result<(), Error> {
    let report = NewReport {
        reporter: reporter.id,
        message: id,
        reason: reason.0,
        at: Timestamp::now(),
    };
    match app.store.report_message(report).await {
        Ok(_) => Ok(()),
        Err(StoreError::NotFound) => Err(Error::MessageNotFound),
        Err(other) => Err(other.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_are_one_to_a_thousand_characters() {
        assert!(Reason::parse("").is_err());
        assert!(Reason::parse("   ").is_err());
        assert!(Reason::parse(&"é".repeat(1000)).is_ok());
        assert!(Reason::parse(&"é".repeat(1001)).is_err());
        assert_eq!(Reason::parse(" spam ").unwrap(), Reason("spam".into()));
    }
}
