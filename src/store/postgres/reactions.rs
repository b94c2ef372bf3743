//! Reactions on PostgreSQL: the reactions each message of a page has now, in the contract's
//! order (`domain::reaction::list`).

use sqlx::PgConnection;

use super::failure;
use crate::domain::Message;
use crate::store::StoreError;
use crate::store::carried::set_reactions;

/// Fills in every message's `reactions`.
pub async fn attach(
    conn: &mut PgConnection,
    messages: &mut [&mut Message],
) -> Result<(), StoreError> {
    if messages.is_empty() {
        return Ok(());
    }
    let ids: Vec<i64> = messages.iter().map(|m| m.id.0).collect();
    let rows: Vec<(i64, String, String)> = sqlx::query_as(
        "SELECT r.message_id, r.emoji, u.username FROM reactions r JOIN users u ON u.id = r.user_id \
         WHERE r.message_id = ANY($1) ORDER BY r.message_id, r.emoji_rank, r.rank",
    )
    .bind(&ids)
    .fetch_all(conn)
    .await
    .map_err(failure)?;
    set_reactions(messages, &rows);
    Ok(())
}
