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

impl Change {
    /// The change a stored record describes (`None` for a record no change writes).
    fn from_record(record: &SystemRecord) -> Option<Change> {
        let text = |key: &str| {
            record
                .details
                .get(key)
                .and_then(Value::as_str)
                .map(str::to_owned)
        };
        let target = || record.targets.first().cloned();
        Some(match record.event.as_str() {
            "created" => Change::Created {
                title: text("title")?,
                members: record.targets.clone(),
            },
            "members_added" => Change::MembersAdded {
                added: record.targets.clone(),
            },
            "member_removed" => Change::MemberRemoved { removed: target()? },
            "member_left" => Change::MemberLeft {
                new_owner: text("new_owner"),
            },
            "renamed" => Change::Renamed {
                title: text("title")?,
                old_title: text("old_title")?,
            },
            "description_changed" => Change::DescriptionChanged {
                description: text("description")?,
            },
            "role_changed" => Change::RoleChanged {
                member: target()?,
                role: serde_json::from_value(record.details.get("role")?.clone()).ok()?,
            },
            "settings_changed" => Change::SettingsChanged {
                settings: record.details.get("settings")?.as_object()?.clone(),
            },
            _ => return None,
        })
    }
}

/// The record and body of a system message once the account named `old` is renamed `new`
/// (a deleted account), or `None` when it does not name `old`: its actor, targets and new
/// owner are renamed and the body written again from the renamed record.
pub fn renamed(record: &SystemRecord, old: &str, new: &str) -> Option<(SystemRecord, String)> {
    let rename = |name: &str| {
        if name == old {
            new.to_owned()
        } else {
            name.to_owned()
        }
    };
    let owner_named = record.details.get("new_owner").and_then(Value::as_str) == Some(old);
    if record.actor != old && !record.targets.iter().any(|t| t == old) && !owner_named {
        return None;
    }
    let mut change = Change::from_record(record)?;
    match &mut change {
        Change::Created { members: names, .. } | Change::MembersAdded { added: names } => {
            names.iter_mut().for_each(|n| *n = rename(n));
        }
        Change::MemberRemoved { removed: name } | Change::RoleChanged { member: name, .. } => {
            *name = rename(name);
        }
        Change::MemberLeft { new_owner } => {
            *new_owner = new_owner.as_deref().map(rename);
        }
        _ => {}
    }
    Some(change.record(&rename(&record.actor)))
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

    #[test]
    fn a_renamed_account_is_renamed_in_every_record_that_names_it() {
        let changes = [
            Change::Created {
                title: "alice's team".into(),
                members: vec!["bob".into(), "alice".into()],
            },
            Change::MembersAdded {
                added: vec!["alice".into(), "carol".into()],
            },
            Change::MemberRemoved {
                removed: "alice".into(),
            },
            Change::MemberLeft {
                new_owner: Some("alice".into()),
            },
            Change::RoleChanged {
                member: "alice".into(),
                role: Role::Admin,
            },
        ];
        for change in changes {
            let (record, _) = change.record("bob");
            let (renamed_record, body) = renamed(&record, "alice", "deleted-x1").unwrap();
            let text = serde_json::to_string(&renamed_record).unwrap();
            assert!(!text.contains("\"alice\""), "{text}");
            assert!(body.contains("deleted-x1"), "{body}");
            assert!(
                !body.replace("alice's team", "").contains("alice"),
                "{body}"
            );
            let expected = {
                let again = Change::from_record(&renamed_record).unwrap();
                again.record("bob").1
            };
            assert_eq!(body, expected);
        }
        let (record, body) = Change::Renamed {
            title: "New".into(),
            old_title: "Old".into(),
        }
        .record("alice");
        let (again, again_body) = renamed(&record, "alice", "deleted-x1").unwrap();
        assert_eq!(again.actor, "deleted-x1");
        assert_eq!(again_body, body.replace("alice", "deleted-x1"));
        assert_eq!(renamed(&record, "carol", "deleted-x2"), None);
    }
}
