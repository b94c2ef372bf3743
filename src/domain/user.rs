//! A user as others see them.

use super::ids::UserId;

/// A user as others see them: the stable id stays on the server, clients see the username.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: UserId,
    pub username: String,
    pub display_name: String,
}
