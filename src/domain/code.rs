//! Every stable error code a client can see, written once: HTTP error bodies and WebSocket
//! error frames use these (PROTOCOL.md, Errors). Clients match on them, so a code never
//! changes once shipped.

pub const ADMIN_REQUIRED: &str = "admin_required";
pub const BODY_TOO_LONG: &str = "body_too_long";
pub const CANNOT_ADD_USER: &str = "cannot_add_user";
pub const CANNOT_MESSAGE_SELF: &str = "cannot_message_self";
pub const CLIENT_ID_CONFLICT: &str = "client_id_conflict";
/// A conversation id the caller is not a member of (v2 group routes; a v1 route never names one).
pub const CONVERSATION_NOT_FOUND: &str = "conversation_not_found";
pub const CSRF_MISMATCH: &str = "csrf_mismatch";
pub const CSRF_MISSING: &str = "csrf_missing";
pub const GROUP_TOO_LARGE: &str = "group_too_large";
pub const INTERNAL_ERROR: &str = "internal_error";
pub const INVALID_AFTER_ID: &str = "invalid_after_id";
pub const INVALID_BEFORE_ID: &str = "invalid_before_id";
pub const INVALID_BODY: &str = "invalid_body";
pub const INVALID_CLIENT_ID: &str = "invalid_client_id";
pub const INVALID_CREDENTIALS: &str = "invalid_credentials";
pub const INVALID_CURSOR: &str = "invalid_cursor";
pub const INVALID_DESCRIPTION: &str = "invalid_description";
pub const INVALID_DISPLAY_NAME: &str = "invalid_display_name";
pub const INVALID_FRAME: &str = "invalid_frame";
pub const INVALID_JSON: &str = "invalid_json";
pub const INVALID_LIMIT: &str = "invalid_limit";
pub const INVALID_MEMBERS: &str = "invalid_members";
pub const INVALID_MESSAGE_ID: &str = "invalid_message_id";
pub const INVALID_MESSAGE_IDS: &str = "invalid_message_ids";
pub const INVALID_PASSWORD: &str = "invalid_password";
pub const INVALID_PATH: &str = "invalid_path";
pub const INVALID_QUERY: &str = "invalid_query";
pub const INVALID_RECIPIENT: &str = "invalid_recipient";
pub const INVALID_REQUEST: &str = "invalid_request";
pub const INVALID_ROLE: &str = "invalid_role";
pub const INVALID_SETTINGS: &str = "invalid_settings";
pub const INVALID_STATUS: &str = "invalid_status";
pub const INVALID_TITLE: &str = "invalid_title";
pub const INVALID_USERNAME: &str = "invalid_username";
pub const INVALID_USERNAMES: &str = "invalid_usernames";
pub const MEMBER_NOT_FOUND: &str = "member_not_found";
pub const MESSAGE_NOT_FOUND: &str = "message_not_found";
pub const METHOD_NOT_ALLOWED: &str = "method_not_allowed";
pub const NOT_AUTHENTICATED: &str = "not_authenticated";
pub const NOT_A_MEMBER: &str = "not_a_member";
pub const NOT_FOUND: &str = "not_found";
pub const NOT_SENDER: &str = "not_sender";
pub const ORIGIN_NOT_ALLOWED: &str = "origin_not_allowed";
pub const OWNER_REQUIRED: &str = "owner_required";
pub const PAYLOAD_TOO_LARGE: &str = "payload_too_large";
pub const RATE_LIMITED: &str = "rate_limited";
pub const STORE_UNAVAILABLE: &str = "store_unavailable";
pub const TOO_MANY_CONNECTIONS: &str = "too_many_connections";
pub const UNKNOWN_TYPE: &str = "unknown_type";
pub const UNSUPPORTED_MEDIA_TYPE: &str = "unsupported_media_type";
pub const USERNAME_TAKEN: &str = "username_taken";
pub const USER_NOT_FOUND: &str = "user_not_found";
pub const WEBSOCKET_REQUIRED: &str = "websocket_required";
