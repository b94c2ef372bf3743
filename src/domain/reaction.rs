//! Reactions: the one emoji a member sets on a message, and how a message's reactions are
//! listed.
//!
//! An emoji is one RGI emoji sequence of Emoji 15.1 (a person's skin tone, a flag and a family
//! included), looked up in the `emojis` crate's data rather than a table kept here, and stored
//! fully-qualified, so that "❤" and "❤️" are one reaction.

use emojis::UnicodeVersion;

use super::code;
use super::error::Error;
use super::message::Reaction;

/// The newest Emoji version the contract accepts.
const NEWEST: UnicodeVersion = UnicodeVersion::new(15, 1);

/// The longest emoji accepted, in UTF-8 bytes, as given and fully-qualified.
pub const MAX_EMOJI_BYTES: usize = 32;

/// One RGI emoji sequence, fully-qualified.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Emoji(&'static str);

impl Emoji {
    pub fn parse(raw: &str) -> Result<Self, Error> {
        let refuse = || {
            Error::invalid(
                code::INVALID_EMOJI,
                format!(
                    "emoji must be one emoji (Emoji 15.1), at most {MAX_EMOJI_BYTES} bytes; got {raw:?}"
                ),
            )
        };
        if raw.len() > MAX_EMOJI_BYTES {
            return Err(refuse());
        }
        // The bound holds for the form stored too: an emoji whose fully-qualified form is longer
        // is refused in every spelling, so whatever is stored parses again.
        let found = emojis::get(raw)
            .filter(|e| e.unicode_version() <= NEWEST && e.as_str().len() <= MAX_EMOJI_BYTES)
            .ok_or_else(refuse)?;
        Ok(Emoji(found.as_str()))
    }

    /// The fully-qualified sequence, as stored and shown.
    pub fn as_str(&self) -> &'static str {
        self.0
    }
}

/// A message's reactions from `(emoji, user)` pairs in their order: by the emoji's place, then
/// by when each user set it. An emoji keeps the place it took when it was set while nobody
/// had it, for as long as anyone has it; once its last user removes it, it drops out, and
/// goes last if set again. So a client applying `reaction` events in order (remove the user
/// from where they were, drop an emptied emoji, append the user to their emoji or the emoji at
/// the end) holds the same list as a fresh read.
pub fn list<'a>(set: impl IntoIterator<Item = (&'a str, &'a str)>) -> Vec<Reaction> {
    let mut reactions: Vec<Reaction> = Vec::new();
    for (emoji, user) in set {
        match reactions.iter_mut().find(|r| r.emoji == emoji) {
            Some(reaction) => reaction.users.push(user.to_owned()),
            None => reactions.push(Reaction {
                emoji: emoji.to_owned(),
                users: vec![user.to_owned()],
            }),
        }
    }
    reactions
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_emoji_sequence_is_accepted_fully_qualified() {
        assert_eq!(
            Emoji::parse("❤").unwrap(),
            Emoji::parse("❤\u{fe0f}").unwrap()
        );
        assert_eq!(Emoji::parse("❤").unwrap().as_str(), "❤\u{fe0f}");
        for ok in ["👍", "👍🏽", "🇫🇷", "1️⃣", "👩‍👩‍👧", "🧑🏽‍💻", "🏴󠁧󠁢󠁥󠁮󠁧󠁿", "🐦‍🔥"]
        {
            assert!(Emoji::parse(ok).is_ok(), "{ok:?}");
        }
    }

    #[test]
    fn anything_else_is_refused() {
        // Two emoji, text, a made-up flag, an Emoji 16.0 face, empty, and a long string.
        for bad in ["👍👍", "a", "🇦🇦", "🫩", "", " 👍", &"👍".repeat(9)] {
            let err = Emoji::parse(bad).unwrap_err();
            assert_eq!(err.code(), code::INVALID_EMOJI, "{bad:?}");
        }
    }

    #[test]
    fn what_is_stored_parses_again() {
        // A kiss with two skin tones is 35 bytes fully-qualified, and 32 without its VS16:
        // that spelling must not be let in to be stored as a form the server itself refuses.
        let unqualified = "👩🏼\u{200d}❤\u{200d}💋\u{200d}👩🏾";
        let qualified = "👩🏼\u{200d}❤\u{fe0f}\u{200d}💋\u{200d}👩🏾";
        assert_eq!((unqualified.len(), qualified.len()), (32, 35));
        for spelling in [unqualified, qualified] {
            let err = Emoji::parse(spelling).unwrap_err();
            assert_eq!(err.code(), code::INVALID_EMOJI, "{spelling:?}");
        }
        let heart = Emoji::parse("❤").unwrap();
        assert_eq!(Emoji::parse(heart.as_str()).unwrap(), heart);
    }

    #[test]
    fn reactions_list_in_first_set_order_with_their_users() {
        let listed = list([("👍", "bob"), ("❤️", "carol"), ("👍", "dave")]);
        assert_eq!(listed.len(), 2);
        assert_eq!(listed[0].emoji, "👍");
        assert_eq!(listed[0].users, ["bob", "dave"]);
        assert_eq!(listed[1].users, ["carol"]);
        assert!(list([]).is_empty());
    }
}
