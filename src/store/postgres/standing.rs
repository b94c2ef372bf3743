//! Accounts and reports on PostgreSQL (v2 safety), as SQLite's `standing`: an account's status
//! and what a login may do, a reset password, reports with the message kept as it was (the
//! reported message's row locked while it is copied, so a concurrent delete comes before or
//! after, never between), what an account's deletion undoes and its retirement, export claims,
//! housekeeping. Writes of several statements run in a transaction the caller opened.

use sqlx::{AssertSqlSafe, PgConnection, PgPool, Row};

use super::failure;
use super::messages::messages_by_ids;
use super::ranges::visible_to;
use super::uploads::attach;
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

async fn end_access(conn: &mut PgConnection, user: UserId) -> Result<(), StoreError> {
    for sql in [END_SESSIONS, END_TOKENS] {
        sqlx::query(sql)
            .bind(user.0)
            .execute(&mut *conn)
            .await
            .map_err(failure)?;
    }
    Ok(())
}

pub async fn set_account_status(
    conn: &mut PgConnection,
    user: UserId,
    status: AccountStatus,
) -> Result<(), StoreError> {
    let changed = sqlx::query(SET_ACCOUNT_STATUS)
        .bind(status.as_i64())
        .bind(user.0)
        .execute(&mut *conn)
        .await
        .map_err(failure)?;
    if changed.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    if status != AccountStatus::Active {
        end_access(conn, user).await?;
    }
    Ok(())
}

pub async fn account_status(pool: &PgPool, user: UserId) -> Result<AccountStatus, StoreError> {
    let status: Option<i64> = sqlx::query_scalar(ACCOUNT_STATUS)
        .bind(user.0)
        .fetch_optional(pool)
        .await
        .map_err(failure)?;
    status
        .map(AccountStatus::from_i64)
        .ok_or(StoreError::NotFound)
}

pub async fn admit_login(
    conn: &mut PgConnection,
    user: UserId,
    now: Timestamp,
) -> Result<Admission, StoreError> {
    let sql = format!("{LOGIN_STANDING} FOR UPDATE");
    let row = sqlx::query(AssertSqlSafe(sql))
        .bind(user.0)
        .fetch_optional(&mut *conn)
        .await
        .map_err(failure)?;
    let Some(row) = row else {
        return Ok(Admission::Refused);
    };
    let status: i64 = row.try_get(0).map_err(failure)?;
    let on_reset: bool = row.try_get(1).map_err(failure)?;
    let until: i64 = row.try_get(2).map_err(failure)?;
    let used: i64 = row.try_get(3).map_err(failure)?;
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
    sqlx::query(SPEND_RESET)
        .bind(user.0)
        .execute(&mut *conn)
        .await
        .map_err(failure)?;
    Ok(Admission::Admitted)
}

pub async fn reset_password(
    conn: &mut PgConnection,
    user: UserId,
    password_hash: &str,
    until: Timestamp,
) -> Result<(), StoreError> {
    let changed = sqlx::query(RESET_PASSWORD)
        .bind(password_hash)
        .bind(until.millis())
        .bind(user.0)
        .execute(&mut *conn)
        .await
        .map_err(failure)?;
    if changed.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    end_access(conn, user).await
}

pub async fn report_message(
    conn: &mut PgConnection,
    report: &NewReport,
) -> Result<bool, StoreError> {
    let sql = format!(
        "SELECT m.sender_id, m.deleted FROM messages m WHERE m.id = $1 AND {} FOR SHARE",
        visible_to("$2")
    );
    let target = sqlx::query(AssertSqlSafe(sql))
        .bind(report.message.0)
        .bind(report.reporter.0)
        .fetch_optional(&mut *conn)
        .await
        .map_err(failure)?;
    let Some(target) = target else {
        return Err(StoreError::NotFound);
    };
    let sender: i64 = target.try_get(0).map_err(failure)?;
    let deleted: bool = target.try_get(1).map_err(failure)?;
    if sender == report.reporter.0 {
        return Err(StoreError::Refused(
            Refusal::Invalid(code::INVALID_REPORT),
            "you cannot report your own message".into(),
        ));
    }
    let reported: bool = sqlx::query_scalar(REPORTED)
        .bind(report.reporter.0)
        .bind(report.message.0)
        .fetch_one(&mut *conn)
        .await
        .map_err(failure)?;
    if reported {
        return Ok(false);
    }
    if deleted {
        return Err(StoreError::Refused(
            Refusal::MessageDeleted,
            "this message was deleted for everyone".into(),
        ));
    }
    let mut messages = messages_by_ids(conn, &[report.message.0]).await?;
    let Some(message) = messages.first_mut() else {
        return Err(StoreError::NotFound);
    };
    attach(conn, &mut [&mut *message]).await?;
    let id: Option<i64> = sqlx::query_scalar(INSERT_REPORT)
        .bind(report.reporter.0)
        .bind(report.message.0)
        .bind(&report.reason)
        .bind(report.at.millis())
        .bind(kept_message(message))
        .fetch_optional(&mut *conn)
        .await
        .map_err(failure)?;
    let Some(id) = id else {
        return Ok(false);
    };
    for attachment in &message.attachments {
        sqlx::query(HOLD_UPLOAD)
            .bind(id)
            .bind(&attachment.id)
            .execute(&mut *conn)
            .await
            .map_err(failure)?;
    }
    Ok(true)
}

pub async fn reports(pool: &PgPool, after: i64, limit: u32) -> Result<Vec<Report>, StoreError> {
    let rows = sqlx::query(REPORTS)
        .bind(after)
        .bind(i64::from(limit))
        .fetch_all(pool)
        .await
        .map_err(failure)?;
    rows.iter()
        .map(|r| {
            let kept: String = r.try_get(4)?;
            Ok(Report {
                id: r.try_get(0)?,
                at: Timestamp(r.try_get(1)?),
                reporter: r.try_get(2)?,
                reason: r.try_get(3)?,
                message: serde_json::from_str(&kept).unwrap_or(serde_json::Value::Null),
            })
        })
        .collect::<Result<_, sqlx::Error>>()
        .map_err(failure)
}

pub async fn reports_by(pool: &PgPool, user: UserId) -> Result<Vec<ReportSummary>, StoreError> {
    let rows = sqlx::query(REPORTS_BY)
        .bind(user.0)
        .fetch_all(pool)
        .await
        .map_err(failure)?;
    rows.iter()
        .map(|r| {
            Ok(ReportSummary {
                message_id: MessageId(r.try_get(0)?),
                reason: r.try_get(1)?,
                at: Timestamp(r.try_get(2)?),
            })
        })
        .collect::<Result<_, sqlx::Error>>()
        .map_err(failure)
}

async fn ids(pool: &PgPool, sql: &'static str, user: UserId) -> Result<Vec<i64>, StoreError> {
    sqlx::query_scalar(sql)
        .bind(user.0)
        .fetch_all(pool)
        .await
        .map_err(failure)
}

pub async fn account_footprint(pool: &PgPool, user: UserId) -> Result<Footprint, StoreError> {
    Ok(Footprint {
        reactions: ids(pool, REACTED_BY, user)
            .await?
            .into_iter()
            .map(MessageId)
            .collect(),
        messages: ids(pool, UNDELETED_BY, user)
            .await?
            .into_iter()
            .map(MessageId)
            .collect(),
        groups: ids(pool, CURRENT_GROUPS, user)
            .await?
            .into_iter()
            .map(ConversationId)
            .collect(),
    })
}

pub async fn retire_account(
    conn: &mut PgConnection,
    retirement: &Retirement,
) -> Result<(), StoreError> {
    let r = retirement;
    let renamed = sqlx::query(RETIRE_USER)
        .bind(r.new_username.as_str())
        .bind(&r.display_name)
        .bind(r.user.0)
        .execute(&mut *conn)
        .await;
    match renamed {
        Ok(done) if done.rows_affected() == 0 => return Err(StoreError::NotFound),
        Ok(_) => {}
        Err(sqlx::Error::Database(err)) if err.is_unique_violation() => {
            return Err(StoreError::Conflict("the new username is taken".into()));
        }
        Err(err) => return Err(failure(err)),
    }
    sqlx::query(HOLD_USERNAME)
        .bind(&r.old_username)
        .bind(r.retired_until.millis())
        .execute(&mut *conn)
        .await
        .map_err(failure)?;
    end_access(conn, r.user).await?;
    let system: Vec<(i64, String)> = sqlx::query_as(SYSTEM_MESSAGES_OF_MEMBER)
        .bind(r.user.0)
        .fetch_all(&mut *conn)
        .await
        .map_err(failure)?;
    for (id, body, record) in
        renamed_system_messages(system, &r.old_username, r.new_username.as_str())
    {
        sqlx::query(REWRITE_SYSTEM_MESSAGE)
            .bind(body)
            .bind(record)
            .bind(id)
            .execute(&mut *conn)
            .await
            .map_err(failure)?;
    }
    if r.remove_uploads {
        sqlx::query(UPLOADS_GONE)
            .bind(r.at.millis())
            .bind(r.user.0)
            .execute(&mut *conn)
            .await
            .map_err(failure)?;
    }
    Ok(())
}

pub async fn username_retired(
    pool: &PgPool,
    username: &str,
    now: Timestamp,
) -> Result<bool, StoreError> {
    sqlx::query_scalar(USERNAME_RETIRED)
        .bind(username)
        .bind(now.millis())
        .fetch_one(pool)
        .await
        .map_err(failure)
}

pub async fn claim_export(
    pool: &PgPool,
    user: UserId,
    now: Timestamp,
    not_before: Timestamp,
) -> Result<Option<Timestamp>, StoreError> {
    let claimed = sqlx::query(CLAIM_EXPORT)
        .bind(now.millis())
        .bind(user.0)
        .bind(not_before.millis())
        .execute(pool)
        .await
        .map_err(failure)?;
    if claimed.rows_affected() == 1 {
        return Ok(None);
    }
    let last: Option<i64> = sqlx::query_scalar(LAST_EXPORT)
        .bind(user.0)
        .fetch_optional(pool)
        .await
        .map_err(failure)?
        .flatten();
    Ok(Some(Timestamp(last.unwrap_or(now.millis()))))
}

pub async fn purge_kept(
    conn: &mut PgConnection,
    now: Timestamp,
    reports_before: Timestamp,
) -> Result<(), StoreError> {
    for (sql, at) in [
        (RELEASE_REPORTED, reports_before),
        (PURGE_REPORTS, reports_before),
        (PURGE_RETIRED, now),
    ] {
        sqlx::query(sql)
            .bind(at.millis())
            .execute(&mut *conn)
            .await
            .map_err(failure)?;
    }
    Ok(())
}
