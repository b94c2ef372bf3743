//! Random secrets (session ids, CSRF tokens, bearer tokens) and their stored digests.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::Rng;
use sha2::{Digest, Sha256};

/// 32 random bytes from the OS-seeded CSPRNG, URL-safe base64 (43 characters).
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A bearer token, prefixed so it is recognisable in logs and secret scanners.
pub fn bearer_token() -> String {
    format!("lu_{}", random_token())
}

/// A bearer token's public id: 12 random bytes in lower-case hex (24 characters). It names the
/// token in its owner's list and grants nothing.
pub fn public_id() -> String {
    let mut bytes = [0u8; 12];
    rand::rng().fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// What the database keeps of a session id or bearer token: a leaked table grants nothing.
pub fn digest(secret: &str) -> Vec<u8> {
    Sha256::digest(secret.as_bytes()).to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_unique_and_digests_fixed_size() {
        let a = random_token();
        assert_eq!(a.len(), 43);
        assert_ne!(a, random_token());
        assert!(bearer_token().starts_with("lu_"));
        assert_eq!(digest(&a).len(), 32);
        assert_eq!(digest(&a), digest(&a));
        let id = public_id();
        assert_eq!(id.len(), 24);
        assert!(
            id.bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        );
        assert_ne!(id, public_id());
    }
}
