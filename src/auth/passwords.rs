//! Password hashing with argon2id at OWASP's minimum cost (19 MiB, 2 passes, 1 lane), always on
//! the blocking pool and at most a few at a time, so logins never stall the async threads or
//! exhaust memory.

use std::sync::Arc;

use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};
use argon2::{Algorithm, Argon2, Params, Version};
use tokio::sync::Semaphore;

use crate::domain::error::Error;
use crate::domain::input::Password;

fn argon2() -> Argon2<'static> {
    let params = Params::new(19_456, 2, 1, None).expect("OWASP argon2id parameters are valid");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Hashes and verifies passwords off the async runtime.
#[derive(Clone)]
pub struct Hasher {
    /// Bounds concurrent hashes: each takes 19 MiB and a core for tens of milliseconds.
    permits: Arc<Semaphore>,
    /// A real hash of a random password, verified when the username is unknown so that an
    /// unknown user and a wrong password take the same time.
    decoy: Arc<String>,
}

impl Hasher {
    pub fn new(concurrency: usize) -> Result<Self, Error> {
        let decoy = hash_now(&crate::auth::secrets::random_token())?;
        Ok(Hasher {
            permits: Arc::new(Semaphore::new(concurrency.max(1))),
            decoy: Arc::new(decoy),
        })
    }

    pub async fn hash(&self, password: &Password) -> Result<String, Error> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|e| Error::Internal(e.into()))?;
        let password = password.expose().to_owned();
        tokio::task::spawn_blocking(move || hash_now(&password))
            .await
            .map_err(|e| Error::Internal(e.into()))?
    }

    /// True if `password` matches `stored`; with no stored hash, burns the same time and says no.
    pub async fn verify(&self, password: &Password, stored: Option<String>) -> Result<bool, Error> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|e| Error::Internal(e.into()))?;
        let known = stored.is_some();
        let hash = stored.unwrap_or_else(|| self.decoy.as_str().to_owned());
        let password = password.expose().to_owned();
        let matches = tokio::task::spawn_blocking(move || {
            PasswordHash::new(&hash).is_ok_and(|parsed| {
                argon2()
                    .verify_password(password.as_bytes(), &parsed)
                    .is_ok()
            })
        })
        .await
        .map_err(|e| Error::Internal(e.into()))?;
        Ok(known && matches)
    }
}

fn hash_now(password: &str) -> Result<String, Error> {
    argon2()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| Error::Internal(anyhow::anyhow!("argon2: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_verify_and_use_argon2id_with_owasp_cost() {
        let hasher = Hasher::new(2).unwrap();
        let pw = Password::parse("correct horse".into()).unwrap();
        let hash = hasher.hash(&pw).await.unwrap();
        assert!(
            hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{hash}"
        );
        assert!(hasher.verify(&pw, Some(hash.clone())).await.unwrap());
        let wrong = Password::parse("wrong horse".into()).unwrap();
        assert!(!hasher.verify(&wrong, Some(hash)).await.unwrap());
        assert!(!hasher.verify(&pw, None).await.unwrap());
    }
}
