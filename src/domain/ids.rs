//! Identifier newtypes. They are plain positive integers in storage and on the wire; the types
//! keep a user id from being passed where a message id is expected.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema,
        )]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

id_type!(
    /// A user's stable numeric id (never shown to clients; they address users by username).
    UserId
);
id_type!(
    /// A message id: positive, and within a conversation larger for a message committed later.
    MessageId
);
id_type!(
    /// A conversation id.
    ConversationId
);
id_type!(
    /// A position in one user's event stream: gap-free and strictly increasing per user.
    Cursor
);
