//! Reactions on SQLite: the reactions each message of a page has now, in the contract's order
//! (`domain::reaction::list`).

use rusqlite::Connection;

use super::other;
use crate::domain::Message;
use crate::store::StoreError;
use crate::store::carried::set_reactions;

/// Fills in every message's `reactions`.
pub fn attach(conn: &Connection, messages: &mut [&mut Message]) -> Result<(), StoreError> {
    if messages.is_empty() {
        return Ok(());
    }
    let ids: Vec<i64> = messages.iter().map(|m| m.id.0).collect();
    let list = serde_json::to_string(&ids).map_err(|e| StoreError::Other(e.to_string()))?;
    let mut stmt = conn
        .prepare_cached(
            "SELECT r.message_id, r.emoji, u.username FROM reactions r JOIN users u ON u.id = r.user_id \
             WHERE r.message_id IN (SELECT value FROM json_each(?1)) ORDER BY r.message_id, r.emoji_rank, r.rank",
        )
        .map_err(other)?;
    let rows: Vec<(i64, String, String)> = stmt
        .query_map([list], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .map_err(other)?
        .collect::<Result<_, _>>()
        .map_err(other)?;
    set_reactions(messages, &rows);
    Ok(())
}
