//! The nouns of LinkUp: identifiers, time, validated input, the domain error, users, messages
//! and the events of a user's stream.
//!
//! Everything here is plain data and the rules that belong to a value (parsing, ordering).
//! Nothing here imports anything else of the crate: the actions, the store, the bus, the
//! sockets and the HTTP layer all stand on these types, never the other way round. Parsing
//! from raw client text happens here (`input`), called by `web` and `ws` at the edge.

pub mod code;
pub mod error;
pub mod event;
pub mod group;
pub mod group_change;
pub mod group_rules;
pub mod ids;
pub mod input;
pub mod message;
pub mod message_rules;
pub mod reaction;
pub mod receipt;
pub mod time;
pub mod upload;
pub mod user;

pub use error::Error;
pub use event::{Ephemeral, Event, UserEvent};
pub use ids::{ConversationId, Cursor, MessageId, UserId};
pub use message::{Message, MessageKind, MessageStatus};
pub use time::Timestamp;
pub use user::User;
