//! Authentication primitives: password hashing, session and token secrets, and the CSRF rule.
//! The HTTP extractor that applies them lives in `web::extract`.

pub mod address;
pub mod passwords;
pub mod secrets;

use subtle::ConstantTimeEq;

use crate::domain::User;
use crate::domain::error::Error;
use crate::domain::time::Timestamp;

/// The name of the browser session cookie.
pub const SESSION_COOKIE: &str = "linkup_session";
/// The header carrying the synchronizer CSRF token.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// How a request proved who it is.
#[derive(Debug, Clone)]
pub enum Credential {
    /// A browser session; the SHA-256 of its id, its CSRF token and when it ends.
    Session {
        id_hash: Vec<u8>,
        csrf_token: String,
        expires_at: Timestamp,
    },
    /// A bearer token: its SHA-256, its public id (what the token list shows) and when it
    /// ends, if it ever does (`--token-ttl-days`).
    Token {
        hash: Vec<u8>,
        id: String,
        expires_at: Option<Timestamp>,
    },
}

impl Credential {
    /// The stored digest identifying this credential.
    pub fn digest(&self) -> &[u8] {
        match self {
            Credential::Session { id_hash, .. } => id_hash,
            Credential::Token { hash, .. } => hash,
        }
    }

    /// When the credential stops being valid, if it ever does.
    pub fn expires_at(&self) -> Option<Timestamp> {
        match self {
            Credential::Session { expires_at, .. } => Some(*expires_at),
            Credential::Token { expires_at, .. } => *expires_at,
        }
    }
}

/// The token of an `Authorization` header value in the `Bearer` scheme, whose name is
/// case-insensitive (RFC 9110: `bearer`, `BEARER` and `bEaReR` are all the scheme); `None` for
/// another scheme or no token.
pub fn bearer_token(value: &str) -> Option<&str> {
    let (scheme, token) = value.trim_start().split_once([' ', '\t'])?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// An authenticated caller.
#[derive(Debug, Clone)]
pub struct Caller {
    pub user: User,
    pub credential: Credential,
}

/// The CSRF rule: an unsafe request authenticated by a session cookie must carry the session's
/// token. Bearer tokens cannot be sent by a browser on its own, so they need none.
pub fn check_csrf(
    credential: &Credential,
    unsafe_method: bool,
    header: Option<&str>,
) -> Result<(), Error> {
    let Credential::Session { csrf_token, .. } = credential else {
        return Ok(());
    };
    if !unsafe_method {
        return Ok(());
    }
    match header {
        None | Some("") => Err(Error::CsrfMissing),
        Some(given) if bool::from(given.as_bytes().ct_eq(csrf_token.as_bytes())) => Ok(()),
        Some(_) => Err(Error::CsrfMismatch),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csrf_is_required_only_for_unsafe_session_requests() {
        let session = Credential::Session {
            id_hash: vec![1],
            csrf_token: "abc".into(),
            expires_at: Timestamp(0),
        };
        assert!(check_csrf(&session, false, None).is_ok());
        assert_eq!(
            check_csrf(&session, true, None).unwrap_err().code(),
            "csrf_missing"
        );
        assert_eq!(
            check_csrf(&session, true, Some("")).unwrap_err().code(),
            "csrf_missing"
        );
        assert_eq!(
            check_csrf(&session, true, Some("abd")).unwrap_err().code(),
            "csrf_mismatch"
        );
        assert_eq!(
            check_csrf(&session, true, Some("ab")).unwrap_err().code(),
            "csrf_mismatch"
        );
        assert!(check_csrf(&session, true, Some("abc")).is_ok());
        let token = Credential::Token {
            hash: vec![2],
            id: "t".into(),
            expires_at: None,
        };
        assert!(check_csrf(&token, true, None).is_ok());
    }

    #[test]
    fn the_bearer_scheme_name_is_case_insensitive() {
        for value in [
            "Bearer lu_x",
            "bearer lu_x",
            "BEARER lu_x",
            "bEaReR  lu_x ",
            "Bearer\tlu_x",
        ] {
            assert_eq!(bearer_token(value), Some("lu_x"), "{value:?}");
        }
        for value in [
            "Basic lu_x",
            "Bearer",
            "Bearer   ",
            "Bearerlu_x",
            "lu_x",
            "",
        ] {
            assert_eq!(bearer_token(value), None, "{value:?}");
        }
    }
}
