//! Visible ranges on PostgreSQL: the one condition every read of messages puts in its query, so a
//! member sees only what lies inside a range of theirs (`member_ranges`).

/// Whether message `m` lies in a visible range of the user given as `user` (a placeholder
/// such as `$3`, or a column): an SQL condition for queries over `messages m`.
pub fn visible_to(user: &str) -> String {
    format!(
        "EXISTS (SELECT 1 FROM member_ranges v WHERE v.conversation_id = m.conversation_id \
         AND v.user_id = {user} AND v.from_id <= m.id AND (v.to_id IS NULL OR m.id <= v.to_id))"
    )
}
