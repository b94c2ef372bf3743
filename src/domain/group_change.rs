//! The record each change to a group leaves in the conversation: a system message with a
//! `system` object for clients that render it and a plain-English body for those that do not.

use serde_json::{Map, Value, json};

use super::group::Role;
use super::message::SystemRecord;

/// A change to a group, as its system message records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    Created { title: String, members: Vec<String> },
    MembersAdded { added: Vec<String> },
    MemberRemoved { removed: String },
    MemberLeft { new_owner: Option<String> },
    Renamed { title: String, old_title: String },
    DescriptionChanged { description: String },
    RoleChanged { member: String, role: Role },
    SettingsChanged { settings: Map<String, Value> },
}

/// "alice", "alice and bob", "alice, bob and carol".
fn names(list: &[String]) -> String {
    match list {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

impl Change {
    /// The record of this change made by `actor`, and its plain-English body.
    pub fn record(&self, actor: &str) -> (SystemRecord, String) {
        let record =
            |event: &str, targets: Vec<String>, details: Map<String, Value>| SystemRecord {
                event: event.into(),
                actor: actor.into(),
                targets,
                details,
            };
        let detail = |pairs: &[(&str, Value)]| -> Map<String, Value> {
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), v.clone()))
                .collect()
        };
        match self {
            Change::Created { title, members } => (
                record(
                    "created",
                    members.clone(),
                    detail(&[("title", json!(title))]),
                ),
                format!(
                    "{actor} created the group \"{title}\" with {}",
                    names(members)
                ),
            ),
            Change::MembersAdded { added } => (
                record("members_added", added.clone(), Map::new()),
                format!("{actor} added {}", names(added)),
            ),
            Change::MemberRemoved { removed } => (
                record("member_removed", vec![removed.clone()], Map::new()),
                format!("{actor} removed {removed}"),
            ),
            Change::MemberLeft { new_owner } => (
                record(
                    "member_left",
                    Vec::new(),
                    detail(&[("new_owner", json!(new_owner))]),
                ),
                match new_owner {
                    Some(owner) => format!("{actor} left; {owner} is now the owner"),
                    None => format!("{actor} left"),
                },
            ),
            Change::Renamed { title, old_title } => (
                record(
                    "renamed",
                    Vec::new(),
                    detail(&[("title", json!(title)), ("old_title", json!(old_title))]),
                ),
                format!("{actor} renamed the group to \"{title}\""),
            ),
            Change::DescriptionChanged { description } => (
                record(
                    "description_changed",
                    Vec::new(),
                    detail(&[("description", json!(description))]),
                ),
                format!("{actor} changed the group's description"),
            ),
            Change::RoleChanged { member, role } => (
                record(
                    "role_changed",
                    vec![member.clone()],
                    detail(&[("role", json!(role))]),
                ),
                match role {
                    Role::Admin => format!("{actor} made {member} an admin"),
                    _ => format!("{actor} made {member} a member"),
                },
            ),
            Change::SettingsChanged { settings } => (
                record(
                    "settings_changed",
                    Vec::new(),
                    detail(&[("settings", Value::Object(settings.clone()))]),
                ),
                format!("{actor} changed the group's settings"),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn system_bodies_read_as_english() {
        let (record, body) = Change::MembersAdded {
            added: vec!["bob".into(), "carol".into(), "dan".into()],
        }
        .record("alice");
        assert_eq!(body, "alice added bob, carol and dan");
        assert_eq!(record.targets, ["bob", "carol", "dan"]);
        let (record, _) = Change::MemberLeft { new_owner: None }.record("alice");
        assert_eq!(
            serde_json::to_value(&record).unwrap(),
            json!({"event": "member_left", "actor": "alice", "targets": [], "new_owner": null})
        );
    }
}
