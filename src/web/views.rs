//! Response bodies, exactly as PROTOCOL.md names them.

use serde::Serialize;
use utoipa::ToSchema;

use crate::domain::User;
use crate::domain::event::Event;
use crate::domain::group::Role;
use crate::domain::ids::{ConversationId, Cursor, MessageId};
use crate::domain::time::Timestamp;
use crate::domain::{Message, MessageStatus};
use crate::store::{ConversationSummary, ConversationSync, Member, MessageReceipts, TokenInfo};

/// A user as others see them.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserView {
    pub username: String,
    pub display_name: String,
}

impl From<User> for UserView {
    fn from(u: User) -> Self {
        UserView {
            username: u.username,
            display_name: u.display_name,
        }
    }
}

/// The caller and the CSRF token to send as `X-CSRF-Token` (null for bearer-token callers).
#[derive(Debug, Serialize, ToSchema)]
pub struct MeView {
    pub user: UserView,
    pub csrf_token: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TokenView {
    pub token: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UsersView {
    pub users: Vec<UserView>,
}

/// One item of the conversation list: a direct conversation (with `with`) or a group (with
/// `title`, `member_count`, `role` and `left`).
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub enum ConversationView {
    Direct {
        id: ConversationId,
        /// `direct`.
        #[schema(example = "direct")]
        kind: &'static str,
        with: UserView,
        last_message: Option<Message>,
        unread: i64,
        /// Whether this is a message request for the caller.
        request: bool,
    },
    Group {
        id: ConversationId,
        /// `group`.
        #[schema(example = "group")]
        kind: &'static str,
        title: String,
        member_count: i64,
        /// `null` once the caller left or was removed.
        role: Option<Role>,
        left: bool,
        /// Whether this group is a message request for the caller.
        request: bool,
        last_message: Option<Message>,
        unread: i64,
    },
}

impl From<ConversationSummary> for ConversationView {
    fn from(c: ConversationSummary) -> Self {
        match (c.with, c.group) {
            (_, Some(group)) => ConversationView::Group {
                id: c.id,
                kind: "group",
                title: group.title,
                member_count: group.member_count,
                role: group.role,
                left: group.left,
                request: c.request,
                last_message: c.last_message,
                unread: c.unread,
            },
            (with, None) => ConversationView::Direct {
                id: c.id,
                kind: "direct",
                with: with.map(UserView::from).unwrap_or_else(|| UserView {
                    username: String::new(),
                    display_name: String::new(),
                }),
                last_message: c.last_message,
                unread: c.unread,
                request: c.request,
            },
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ConversationsView {
    pub conversations: Vec<ConversationView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct HistoryView {
    pub messages: Vec<Message>,
    pub has_more: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StatusView {
    pub id: MessageId,
    pub status: MessageStatus,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ConversationSyncView {
    pub messages: Vec<Message>,
    pub has_more: bool,
    pub statuses: Vec<StatusView>,
}

impl From<ConversationSync> for ConversationSyncView {
    fn from(synced: ConversationSync) -> Self {
        ConversationSyncView {
            messages: synced.messages,
            has_more: synced.has_more,
            statuses: synced
                .statuses
                .into_iter()
                .map(|(id, status)| StatusView { id, status })
                .collect(),
        }
    }
}

/// A group's current members, in the order they joined.
#[derive(Debug, Serialize, ToSchema)]
pub struct MembersView {
    pub members: Vec<MemberView>,
}

/// A current member of a group.
#[derive(Debug, Serialize, ToSchema)]
pub struct MemberView {
    pub user: UserView,
    pub role: Role,
    pub joined_at: Timestamp,
}

impl From<Member> for MemberView {
    fn from(m: Member) -> Self {
        MemberView {
            user: m.user.into(),
            role: m.role,
            joined_at: m.joined_at,
        }
    }
}

/// Who an add added, and who already was a member (usernames).
#[derive(Debug, Serialize, ToSchema)]
pub struct AddedView {
    pub added: Vec<String>,
    pub already_members: Vec<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UpdatedView {
    /// Every message whose status moved for the caller, ascending.
    pub updated: Vec<MessageId>,
    /// The position the caller marked up to (the newest id named).
    pub up_to_id: Option<MessageId>,
}

impl From<crate::receipts::Marked> for UpdatedView {
    fn from(marked: crate::receipts::Marked) -> Self {
        UpdatedView {
            updated: marked.updated,
            up_to_id: marked.up_to,
        }
    }
}

/// A member's receipt of a message: who, and when a receipt of theirs first covered it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReceiptView {
    pub user: UserView,
    pub at: Timestamp,
}

/// "Message info": each member who was there when the message was sent, in exactly one list.
#[derive(Debug, Serialize, ToSchema)]
pub struct MessageReceiptsView {
    pub message_id: MessageId,
    pub read: Vec<ReceiptView>,
    /// Delivered, not yet read.
    pub delivered: Vec<ReceiptView>,
    pub pending: Vec<UserView>,
}

impl From<MessageReceipts> for MessageReceiptsView {
    fn from(r: MessageReceipts) -> Self {
        let list = |entries: Vec<(User, Timestamp)>| {
            entries
                .into_iter()
                .map(|(user, at)| ReceiptView {
                    user: user.into(),
                    at,
                })
                .collect()
        };
        MessageReceiptsView {
            message_id: r.message_id,
            read: list(r.read),
            delivered: list(r.delivered),
            pending: r.pending.into_iter().map(UserView::from).collect(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EventsView {
    pub events: Vec<Event>,
    /// The cursor to pass as `since` next time.
    pub next: Cursor,
    pub has_more: bool,
}

/// The JSON error body every failure has.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorView {
    pub error: ErrorDetail,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable snake_case identifier, e.g. `invalid_before_id`.
    pub code: String,
    /// For people.
    pub message: String,
}

// -- Authentication (auth) --

/// One of the caller's bearer tokens: never its secret.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenItemView {
    /// Names the token in `DELETE /api/auth/tokens/{id}`.
    #[schema(example = "3f9c2a61b0d84e7a5c1f0e92")]
    pub id: String,
    pub created_at: Timestamp,
    /// When a request last used it (recorded at most once a minute); null if never.
    pub last_used_at: Option<Timestamp>,
    /// Whether this is the token making the request.
    pub current: bool,
}

impl From<(TokenInfo, bool)> for TokenItemView {
    fn from((token, current): (TokenInfo, bool)) -> Self {
        TokenItemView {
            id: token.id,
            created_at: token.created_at,
            last_used_at: token.last_used_at,
            current,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TokensView {
    pub tokens: Vec<TokenItemView>,
}
