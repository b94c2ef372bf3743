//! Group conversations: roles, settings, titles and descriptions, and the group as its members
//! see it. Who may do what is `group_rules`; the record each change leaves is `group_change`.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use utoipa::ToSchema;

use super::code;
use super::error::Error;
use super::ids::ConversationId;
use super::time::Timestamp;

/// The default and the hard cap of `--max-group-members` (the owner counts).
pub const DEFAULT_MAX_MEMBERS: usize = 256;
pub const MAX_MEMBERS_CAP: usize = 1024;

/// A member's role in a group.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Member,
    Admin,
    Owner,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Member => "member",
            Role::Admin => "admin",
            Role::Owner => "owner",
        }
    }

    /// The stored name back (anything unknown is a plain member).
    pub fn from_stored(raw: &str) -> Role {
        match raw {
            "owner" => Role::Owner,
            "admin" => Role::Admin,
            _ => Role::Member,
        }
    }

    /// A role a request may give: `admin` or `member`.
    pub fn parse_assignable(raw: &str) -> Result<Role, Error> {
        match raw {
            "admin" => Ok(Role::Admin),
            "member" => Ok(Role::Member),
            _ => Err(Error::invalid(
                code::INVALID_ROLE,
                format!("role must be \"admin\" or \"member\", got {raw:?}"),
            )),
        }
    }

    pub fn is_admin(self) -> bool {
        self >= Role::Admin
    }
}

/// Who sees the history a member joins into.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum History {
    /// Everything from the first message (LinkedIn's rule).
    Shared,
    /// From the message that added them.
    Joined,
}

/// A group's settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Settings {
    pub only_admins_send: bool,
    pub only_admins_edit_info: bool,
    pub only_admins_add: bool,
    pub history: History,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            only_admins_send: false,
            only_admins_edit_info: false,
            only_admins_add: false,
            history: History::Shared,
        }
    }
}

/// Settings a request changes: any subset of the keys, each with its new value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SettingsPatch {
    pub only_admins_send: Option<bool>,
    pub only_admins_edit_info: Option<bool>,
    pub only_admins_add: Option<bool>,
    pub history: Option<History>,
}

impl SettingsPatch {
    /// Parses a JSON object of settings; an unknown key or a value of the wrong type is
    /// `invalid_settings`.
    pub fn parse(value: &Value) -> Result<SettingsPatch, Error> {
        let invalid = |message: String| Error::invalid(code::INVALID_SETTINGS, message);
        let Value::Object(map) = value else {
            return Err(invalid("settings must be an object".into()));
        };
        let mut patch = SettingsPatch::default();
        for (key, value) in map {
            let flag = || {
                value
                    .as_bool()
                    .ok_or_else(|| invalid(format!("settings.{key} must be true or false")))
            };
            match key.as_str() {
                "only_admins_send" => patch.only_admins_send = Some(flag()?),
                "only_admins_edit_info" => patch.only_admins_edit_info = Some(flag()?),
                "only_admins_add" => patch.only_admins_add = Some(flag()?),
                "history" => {
                    patch.history = Some(match value.as_str() {
                        Some("shared") => History::Shared,
                        Some("joined") => History::Joined,
                        _ => {
                            return Err(invalid(
                                "settings.history must be \"shared\" or \"joined\"".into(),
                            ));
                        }
                    })
                }
                other => return Err(invalid(format!("unknown setting {other:?}"))),
            }
        }
        Ok(patch)
    }

    /// `settings` with this patch applied.
    pub fn applied_to(self, settings: Settings) -> Settings {
        Settings {
            only_admins_send: self.only_admins_send.unwrap_or(settings.only_admins_send),
            only_admins_edit_info: self
                .only_admins_edit_info
                .unwrap_or(settings.only_admins_edit_info),
            only_admins_add: self.only_admins_add.unwrap_or(settings.only_admins_add),
            history: self.history.unwrap_or(settings.history),
        }
    }

    /// The keys whose value differs from `settings`, with their new values (empty: a no-op).
    pub fn changes(self, settings: Settings) -> Map<String, Value> {
        let after = self.applied_to(settings);
        let mut changed = Map::new();
        if after.only_admins_send != settings.only_admins_send {
            changed.insert("only_admins_send".into(), json!(after.only_admins_send));
        }
        if after.only_admins_edit_info != settings.only_admins_edit_info {
            changed.insert(
                "only_admins_edit_info".into(),
                json!(after.only_admins_edit_info),
            );
        }
        if after.only_admins_add != settings.only_admins_add {
            changed.insert("only_admins_add".into(), json!(after.only_admins_add));
        }
        if after.history != settings.history {
            changed.insert("history".into(), json!(after.history));
        }
        changed
    }
}

/// A group as one viewer sees it (a past member: as it was at their exit, `role` null).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Group {
    pub id: ConversationId,
    /// Always `"group"`.
    #[schema(example = "group")]
    pub kind: String,
    pub title: String,
    pub description: String,
    pub created_at: Timestamp,
    /// Username of the creator.
    pub created_by: String,
    pub member_count: i64,
    pub role: Option<Role>,
    pub settings: Settings,
}

/// What a group was created with, kept so that a retry of the creation is compared with what
/// it asked for, whatever changed since: title, description, settings and the usernames named
/// (sorted).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Creation {
    pub title: String,
    pub description: String,
    pub settings: Settings,
    pub members: Vec<String>,
}

impl Creation {
    pub fn new(
        title: &Title,
        description: &Description,
        settings: Settings,
        members: &[String],
    ) -> Self {
        let mut members = members.to_vec();
        members.sort();
        members.dedup();
        Creation {
            title: title.as_str().to_owned(),
            description: description.as_str().to_owned(),
            settings,
            members,
        }
    }
}

/// What a group's title, description and settings are at one moment (kept for past members).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Info {
    pub title: String,
    pub description: String,
    pub settings: Settings,
    pub member_count: i64,
}

/// Characters no title, description or display name may hold: control characters,
/// bidirectional controls and invisible spaces (PROTOCOL.md, Robustness). Zero-width joiners
/// and non-joiners stay: emoji and several scripts need them.
pub fn is_hidden(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{061C}' | '\u{200E}'..='\u{200F}' | '\u{202A}'..='\u{202E}')
        || matches!(
            c,
            '\u{2066}'..='\u{2069}' | '\u{200B}' | '\u{2060}' | '\u{FEFF}'
        )
}

/// A group's title: 1–100 characters after trimming, nothing hidden.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Title(String);

impl Title {
    pub fn parse(raw: &str) -> Result<Self, Error> {
        let trimmed = raw.trim();
        let chars = trimmed.chars().count();
        if (1..=100).contains(&chars) && !trimmed.chars().any(is_hidden) {
            Ok(Title(trimmed.to_owned()))
        } else {
            Err(Error::invalid(
                code::INVALID_TITLE,
                "a group title is 1-100 characters after trimming, without control or invisible characters",
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A group's description: at most 1000 characters after trimming, nothing hidden (empty: none).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Description(String);

impl Description {
    pub fn parse(raw: &str) -> Result<Self, Error> {
        let trimmed = raw.trim();
        if trimmed.chars().count() <= 1000 && !trimmed.chars().any(is_hidden) {
            Ok(Description(trimmed.to_owned()))
        } else {
            Err(Error::invalid(
                code::INVALID_DESCRIPTION,
                "a group description is at most 1000 characters, without control or invisible characters",
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_patches_name_only_what_changes() {
        let patch = SettingsPatch::parse(&json!({"only_admins_send": true, "history": "shared"}))
            .expect("valid");
        let changes = patch.changes(Settings::default());
        assert_eq!(Value::Object(changes), json!({"only_admins_send": true}));
        for bad in [
            json!({"only_admins_send": "yes"}),
            json!({"colour": true}),
            json!([]),
            json!({"history": "all"}),
        ] {
            assert_eq!(
                SettingsPatch::parse(&bad).unwrap_err().code(),
                code::INVALID_SETTINGS
            );
        }
    }

    #[test]
    fn titles_and_descriptions_refuse_hidden_characters() {
        assert_eq!(Title::parse("  Team  ").unwrap().as_str(), "Team");
        for bad in ["", "   ", "a\u{202E}b", "zero\u{200B}width", "tab\there"] {
            assert_eq!(
                Title::parse(bad).unwrap_err().code(),
                code::INVALID_TITLE,
                "{bad:?}"
            );
        }
        assert!(Title::parse(&"é".repeat(100)).is_ok());
        assert!(Title::parse(&"é".repeat(101)).is_err());
        assert!(Title::parse("family 👨\u{200D}👩\u{200D}👧").is_ok());
        assert!(Description::parse(&"x".repeat(1000)).is_ok());
        assert_eq!(
            Description::parse(&"x".repeat(1001)).unwrap_err().code(),
            code::INVALID_DESCRIPTION
        );
    }
}
