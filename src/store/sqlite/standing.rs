//! Accounts and reports on SQLite (v2 safety): an account's status and what a login may do, a
//! reset password, reports with the message kept as it was (and the bytes of its attachments
//! held), what an account's deletion undoes and its retirement, export claims, housekeeping.
//!
//! Reads run on pooled connections; writes are writer jobs (each may run twice, see `writer`).

use rusqlite::{Connection, OptionalExtension, params};

use super::messages::message_by_id;
use super::ranges::visible_to;
use super::{other, uploads};
use crate::domain::code;
use crate::domain::ids::{ConversationId, MessageId, UserId};
use crate::domain::time::Timestamp;
use crate::store::error::Refusal;
use crate::store::standing::{kept_message, renamed_system_messages};
use crate::store::statements::{
    ACCOUNT_STATUS, CLAIM_EXPORT, CURRENT_GROUPS, END_SESSIONS, END_TOKENS, HOLD_UPLOAD,
    HOLD_USERNAME, INSERT_REPORT, LAST_EXPORT, LOGIN_STANDING, PURGE_REPORTS, PURGE_RETIRED,
    REACTED_BY, RELEASE_REPORTED, REPORTED, REPORTS, REPORTS_BY, RESET_PASSWORD, RETIRE_USER,
    REWRITE_SYSTEM_MESSAGE, SET_ACCOUNT_STATUS, SPEND_RESET, SYSTEM_MESSAGES_OF_MEMBER,
    UNDELETED_BY, UPLOADS_GONE, USERNAME_RETIRED,
};
use crate::store::{
    AccountStatus, Admission, Footprint, NewReport, Report, ReportSummary, Retirement, StoreError,
};

fn end_access(conn: &Connection, user: UserId) -> Result<(), StoreError> {
    conn.execute(END_SESSIONS, [user.0]).map_err(other)?;
    conn.execute(END_TOKENS, [user.0]).map_err(other)?;
    Ok(())
}

pub fn set_account_status(
    conn: &Connection,
    user: UserId,
    status: AccountStatus,
) -> Result<(), StoreError> {
    let changed = conn
        .execute(SET_ACCOUNT_STATUS, params![status.as_i64(), user.0])
        .map_err(other)?;
    if changed == 0 {
        return Err(StoreError::NotFound);
    }
    if status != AccountStatus::Active {
        end_access(conn, user)?;
    }
    Ok(())
}

pub fn account_status(conn: &Connection, user: UserId) -> Result<AccountStatus, StoreError> {
    conn.query_row(ACCOUNT_STATUS, [user.0], |r| r.get::<_, i64>(0))
        .optional()
        .map_err(other)?
        .map(AccountStatus::from_i64)
        .ok_or(StoreError::NotFound)
}

pub fn admit_login(
    conn: &Connection,
    user: UserId,
    now: Timestamp,
) -> Result<Admission, StoreError> {
    let standing = conn
        .query_row(LOGIN_STANDING, [user.0], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, bool>(1)?,
                r.get::<_, i64>(2)?,
                r.get::<_, i64>(3)?,
            ))
        })
        .optional()
        .map_err(other)?;
    let Some((status, on_reset, until, used)) = standing else {
        return Ok(Admission::Refused);
    };
    match AccountStatus::from_i64(status) {
        AccountStatus::Suspended => return Ok(Admission::Suspended),
        AccountStatus::Deleted => return Ok(Admission::Refused),
        AccountStatus::Active => {}
    }
    if !on_reset {
        return Ok(Admission::Admitted);
    }
    if used != 0 || now.millis() > until {
        return Ok(Admission::Refused);
    }
    conn.execute(SPEND_RESET, [user.0]).map_err(other)?;
    Ok(Admission::Admitted)
}

pub fn reset_password(
    conn: &Connection,
    user: UserId,
    password_hash: &str,
    until: Timestamp,
) -> Result<(), StoreError> {
    let changed = conn
        .execute(
            RESET_PASSWORD,
            params![password_hash, until.millis(), user.0],
        )
        .map_err(other)?;
    if changed == 0 {
        return Err(StoreError::NotFound);
    }
    end_access(conn, user)
}

pub fn report_message(conn: &Connection, report: &NewReport) -> Result<bool, StoreError> {
    let sql = format!(
        "SELECT m.sender_id, m.deleted FROM messages m WHERE m.id = ?1 AND {}",
        visible_to(2)
    );
    let target = conn
        .query_row(&sql, params![report.message.0, report.reporter.0], |r| {
            Ok((r.get::<_, i64>(0)?, r.get::<_, bool>(1)?))
        })
        .optional()
        .map_err(other)?;
    let Some((sender, deleted)) = target else {
        return Err(StoreError::NotFound);
    };
    if sender == report.reporter.0 {
        return Err(StoreError::Refused(
            Refusal::Invalid(code::INVALID_REPORT),
            "you cannot report your own message".into(),
        ));
    }
    let reported: bool = conn
        .query_row(
            REPORTED,
            params![report.reporter.0, report.message.0],
            |r| r.get(0),
        )
        .map_err(other)?;
    if reported {
        return Ok(false);
    }
    if deleted {
        return Err(StoreError::Refused(
            Refusal::MessageDeleted,
            "this message was deleted for everyone".into(),
        ));
    }
    let mut message = message_by_id(conn, report.message)?.ok_or(StoreError::NotFound)?;
    uploads::attach(conn, &mut [&mut message])?;
    let id: Option<i64> = conn
        .query_row(
            INSERT_REPORT,
            params![
                report.reporter.0,
                report.message.0,
                report.reason,
                report.at.millis(),
                kept_message(&message)
            ],
            |r| r.get(0),
        )
        .optional()
        .map_err(other)?;
    let Some(id) = id else {
        return Ok(false);
    };
    for attachment in &message.attachments {
        conn.execute(HOLD_UPLOAD, params![id, attachment.id])
            .map_err(other)?;
    }
    Ok(true)
}

pub fn reports(conn: &Connection, after: i64, limit: u32) -> Result<Vec<Report>, StoreError> {
    let mut stmt = conn.prepare_cached(REPORTS).map_err(other)?;
    let rows = stmt
        .query_map(params![after, limit], |r| {
            let kept: String = r.get(4)?;
            Ok(Report {
                id: r.get(0)?,
                at: Timestamp(r.get(1)?),
                reporter: r.get(2)?,
                reason: r.get(3)?,
                message: serde_json::from_str(&kept).unwrap_or(serde_json::Value::Null),
            })
        })
        .map_err(other)?;
    rows.collect::<Result<_, _>>().map_err(other)
}

pub fn reports_by(conn: &Connection, user: UserId) -> Result<Vec<ReportSummary>, StoreError> {
    let mut stmt = conn.prepare_cached(REPORTS_BY).map_err(other)?;
    let rows = stmt
        .query_map([user.0], |r| {
            Ok(ReportSummary {
                message_id: MessageId(r.get(0)?),
                reason: r.get(1)?,
                at: Timestamp(r.get(2)?),
            })
        })
        .map_err(other)?;
    rows.collect::<Result<_, _>>().map_err(other)
}

fn ids(conn: &Connection, sql: &str, user: UserId) -> Result<Vec<i64>, StoreError> {
    let mut stmt = conn.prepare_cached(sql).map_err(other)?;
    let rows = stmt.query_map([user.0], |r| r.get(0)).map_err(other)?;
    rows.collect::<Result<_, _>>().map_err(other)
}

pub fn account_footprint(conn: &Connection, user: UserId) -> Result<Footprint, StoreError> {
    Ok(Footprint {
        reactions: ids(conn, REACTED_BY, user)?
            .into_iter()
            .map(MessageId)
            .collect(),
        messages: ids(conn, UNDELETED_BY, user)?
            .into_iter()
            .map(MessageId)
            .collect(),
        groups: ids(conn, CURRENT_GROUPS, user)?
            .into_iter()
            .map(ConversationId)
            .collect(),
    })
}

pub fn retire_account(conn: &Connection, retirement: &Retirement) -> Result<(), StoreError> {
    let r = retirement;
    let renamed = conn.execute(
        RETIRE_USER,
        params![r.new_username.as_str(), r.display_name, r.user.0],
    );
    match renamed {
        Ok(0) => return Err(StoreError::NotFound),
        Ok(_) => {}
        Err(err) if err.sqlite_error_code() == Some(rusqlite::ErrorCode::ConstraintViolation) => {
            return Err(StoreError::Conflict("the new username is taken".into()));
        }
        Err(err) => return Err(other(err)),
    }
    conn.execute(
        HOLD_USERNAME,
        params![r.old_username, r.retired_until.millis()],
    )
    .map_err(other)?;
    end_access(conn, r.user)?;
    let system = conn
        .prepare(SYSTEM_MESSAGES_OF_MEMBER)
        .and_then(|mut s| {
            s.query_map([r.user.0], |row| Ok((row.get(0)?, row.get(1)?)))?
                .collect::<Result<Vec<(i64, String)>, _>>()
        })
        .map_err(other)?;
    for (id, body, record) in
        renamed_system_messages(system, &r.old_username, r.new_username.as_str())
    {
        conn.execute(REWRITE_SYSTEM_MESSAGE, params![body, record, id])
            .map_err(other)?;
    }
    if r.remove_uploads {
        conn.execute(UPLOADS_GONE, params![r.at.millis(), r.user.0])
            .map_err(other)?;
    }
    Ok(())
}

pub fn username_retired(
    conn: &Connection,
    username: &str,
    now: Timestamp,
) -> Result<bool, StoreError> {
    conn.query_row(USERNAME_RETIRED, params![username, now.millis()], |r| {
        r.get(0)
    })
    .map_err(other)
}

pub fn claim_export(
    conn: &Connection,
    user: UserId,
    now: Timestamp,
    not_before: Timestamp,
) -> Result<Option<Timestamp>, StoreError> {
    let claimed = conn
        .execute(
            CLAIM_EXPORT,
            params![now.millis(), user.0, not_before.millis()],
        )
        .map_err(other)?;
    if claimed == 1 {
        return Ok(None);
    }
    let last: Option<i64> = conn
        .query_row(LAST_EXPORT, [user.0], |r| r.get(0))
        .map_err(other)?;
    Ok(Some(Timestamp(last.unwrap_or(now.millis()))))
}

pub fn purge_kept(
    conn: &Connection,
    now: Timestamp,
    reports_before: Timestamp,
) -> Result<(), StoreError> {
    conn.execute(RELEASE_REPORTED, [reports_before.millis()])
        .map_err(other)?;
    conn.execute(PURGE_REPORTS, [reports_before.millis()])
        .map_err(other)?;
    conn.execute(PURGE_RETIRED, [now.millis()]).map_err(other)?;
    Ok(())
}
