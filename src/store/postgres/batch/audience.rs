//! Who a batch's new messages go to, read once their conversations are locked: both parties of
//! a direct conversation; a group's current members, once the group's rules let its sender
//! send (a current member; an admin under `only_admins_send`). Membership changes lock the
//! group's row first too, so a send and a change in one group are applied in one order.

use std::collections::BTreeMap;

use sqlx::{PgConnection, Row};

use crate::domain::code;
use crate::domain::group::{Role, Settings};
use crate::domain::group_rules;
use crate::domain::ids::{ConversationId, UserId};
use crate::store::postgres::failure;
use crate::store::{Destination, Refusal, SendRequest, StoreError};

/// A group as a send needs it: its settings and current members (in the order they joined),
/// and every member row's role and whether it is current.
#[derive(Default)]
struct GroupState {
    settings: Settings,
    current: Vec<UserId>,
    roles: BTreeMap<UserId, (Role, bool)>,
}

/// Each request's audience in ascending order, or why its sender may not send there.
pub(super) async fn audiences(
    conn: &mut PgConnection,
    requests: &[&SendRequest],
    conversations: &[Result<ConversationId, StoreError>],
) -> Result<Vec<Result<Vec<UserId>, StoreError>>, StoreError> {
    let groups: Vec<i64> = requests
        .iter()
        .zip(conversations)
        .filter(|(r, _)| matches!(r.to, Destination::Group(_)))
        .filter_map(|(_, c)| c.as_ref().ok().map(|c| c.0))
        .collect();
    let states = group_states(conn, &groups).await?;
    Ok(requests
        .iter()
        .zip(conversations)
        .map(|(request, conversation)| {
            let conversation = conversation.as_ref().map_err(Clone::clone)?;
            match &request.to {
                Destination::Direct(to) => {
                    let mut users = vec![request.sender.id, to.id];
                    users.sort();
                    users.dedup();
                    Ok(users)
                }
                Destination::Group(_) => {
                    let state = states.get(conversation).ok_or(StoreError::NotFound)?;
                    let (role, current) = *state
                        .roles
                        .get(&request.sender.id)
                        .ok_or(StoreError::NotFound)?;
                    if !current {
                        return Err(StoreError::Refused(
                            Refusal::Forbidden(code::NOT_A_MEMBER),
                            "you are no longer a member of this group".into(),
                        ));
                    }
                    group_rules::may_send(role, &state.settings)?;
                    let mut users = state.current.clone();
                    users.sort();
                    Ok(users)
                }
            }
        })
        .collect())
}

/// The groups' settings and member rows.
async fn group_states(
    conn: &mut PgConnection,
    groups: &[i64],
) -> Result<BTreeMap<ConversationId, GroupState>, StoreError> {
    let mut states: BTreeMap<ConversationId, GroupState> = BTreeMap::new();
    if groups.is_empty() {
        return Ok(states);
    }
    let rows = sqlx::query(
        "SELECT c.id, c.settings, me.user_id, me.role, me.left_id IS NULL AS current \
         FROM conversations c JOIN conversation_members me ON me.conversation_id = c.id \
         WHERE c.id = ANY($1) ORDER BY c.id, me.joined_id, me.joined_rank",
    )
    .bind(groups)
    .fetch_all(&mut *conn)
    .await
    .map_err(failure)?;
    for row in rows {
        let id = ConversationId(row.try_get("id").map_err(failure)?);
        let user = UserId(row.try_get("user_id").map_err(failure)?);
        let role: String = row.try_get("role").map_err(failure)?;
        let current: bool = row.try_get("current").map_err(failure)?;
        let state = states.entry(id).or_default();
        if state.roles.is_empty() {
            let settings: Option<String> = row.try_get("settings").map_err(failure)?;
            state.settings = settings
                .and_then(|t| serde_json::from_str(&t).ok())
                .unwrap_or_default();
        }
        if current {
            state.current.push(user);
        }
        state
            .roles
            .insert(user, (Role::from_stored(&role), current));
    }
    Ok(states)
}
