//! What a page of messages carries besides its rows, put on the messages the same way by both
//! backends once they have read it: the quote of each reply, the reactions, the attachments.

use std::collections::HashMap;

use crate::domain::message::Quote;
use crate::domain::upload::Upload;
use crate::domain::{Message, MessageId, reaction};
use crate::store::uploads::attachment;

/// The distinct ids of the messages the page's replies quote (none: nothing to read).
pub fn quoted_ids(messages: &[&mut Message]) -> Vec<i64> {
    let mut ids: Vec<i64> = messages
        .iter()
        .filter_map(|m| m.reply_to_id.map(|id| id.0))
        .collect();
    ids.sort_unstable();
    ids.dedup();
    ids
}

/// Sets each reply's `reply_to` from the quoted messages found (one missing is out of the
/// viewer's sight: `null`).
pub fn set_quotes(messages: &mut [&mut Message], quotes: &HashMap<MessageId, Quote>) {
    for message in messages.iter_mut() {
        message.reply_to = message
            .reply_to_id
            .and_then(|id| quotes.get(&id).cloned().map(Box::new));
    }
}

/// Sets each message's reactions from `(message id, emoji, user)` rows in their listing order.
pub fn set_reactions(messages: &mut [&mut Message], rows: &[(i64, String, String)]) {
    if rows.is_empty() {
        return;
    }
    let mut by_message: HashMap<i64, Vec<(&str, &str)>> = HashMap::new();
    for (id, emoji, user) in rows {
        by_message
            .entry(*id)
            .or_default()
            .push((emoji.as_str(), user.as_str()));
    }
    for message in messages.iter_mut() {
        if let Some(set) = by_message.remove(&message.id.0) {
            message.reactions = reaction::list(set);
        }
    }
}

/// Sets each message's attachments from `(message id, upload)` rows in their order.
pub fn set_attachments(messages: &mut [&mut Message], rows: &[(i64, Upload)]) {
    if rows.is_empty() {
        return;
    }
    let mut by_message: HashMap<i64, Vec<&Upload>> = HashMap::new();
    for (id, upload) in rows {
        by_message.entry(*id).or_default().push(upload);
    }
    for message in messages.iter_mut() {
        if let Some(uploads) = by_message.remove(&message.id.0) {
            message.attachments = uploads.into_iter().map(attachment).collect();
        }
    }
}
