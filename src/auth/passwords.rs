//! Password hashing with argon2id at OWASP's minimum cost (19 MiB, 2 passes, 1 lane), always on
//! the blocking pool and at most a few at a time, so logins never stall the async threads or
//! exhaust memory. The wait is bounded too: when [`MAX_WAITING`] requests already wait for a
//! permit, another is refused at once (429 `rate_limited`, `Retry-After: 1`) instead of
//! queueing, so a flood of logins from many addresses costs a bounded amount of memory and
//! the answers that are given stay prompt.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};
use argon2::{Algorithm, Argon2, Params, Version};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::domain::error::Error;
use crate::domain::input::Password;

fn argon2() -> Argon2<'static> {
    let params = Params::new(19_456, 2, 1, None).expect("OWASP argon2id parameters are valid");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Requests that may wait for a hashing permit (beyond those hashing) before more are refused:
/// enough for bursts from many addresses at once, few enough that the last waits only seconds.
pub const MAX_WAITING: usize = 256;

/// Hashes and verifies passwords off the async runtime.
#[derive(Clone)]
pub struct Hasher {
    /// Bounds concurrent hashes: each takes 19 MiB and a core for tens of milliseconds.
    permits: Arc<Semaphore>,
    /// Hashes running or waiting for a permit, and how many may be before more are refused.
    queued: Arc<AtomicUsize>,
    max_queued: usize,
    /// A real hash of a random password, verified when the username is unknown so that an
    /// unknown user and a wrong password take the same time.
    decoy: Arc<String>,
}

impl Hasher {
    pub fn new(concurrency: usize) -> Result<Self, Error> {
        let decoy = hash_now(&crate::auth::secrets::random_token())?;
        let concurrency = concurrency.max(1);
        Ok(Hasher {
            permits: Arc::new(Semaphore::new(concurrency)),
            queued: Arc::new(AtomicUsize::new(0)),
            max_queued: concurrency + MAX_WAITING,
            decoy: Arc::new(decoy),
        })
    }

    /// Waits for a permit, unless too many already wait: then 429 `rate_limited`. The slot
    /// goes into the blocking task, so a hash whose client went away still holds its permit
    /// until it finishes.
    async fn permit(&self) -> Result<Slot, Error> {
        let mut slot = Slot {
            queued: self.queued.clone(),
            _permit: None,
        };
        if self.queued.fetch_add(1, Ordering::AcqRel) >= self.max_queued {
            return Err(Error::RateLimited {
                retry_after: Duration::from_secs(1),
            });
        }
        let permit = self
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|e| Error::Internal(e.into()))?;
        slot._permit = Some(permit);
        Ok(slot)
    }

    pub async fn hash(&self, password: &Password) -> Result<String, Error> {
        let slot = self.permit().await?;
        let password = password.expose().to_owned();
        tokio::task::spawn_blocking(move || {
            let _slot = slot;
            hash_now(&password)
        })
        .await
        .map_err(|e| Error::Internal(e.into()))?
    }

    /// True if `password` matches `stored`; with no stored hash, burns the same time and says no.
    pub async fn verify(&self, password: &Password, stored: Option<String>) -> Result<bool, Error> {
        let slot = self.permit().await?;
        let known = stored.is_some();
        let hash = stored.unwrap_or_else(|| self.decoy.as_str().to_owned());
        let password = password.expose().to_owned();
        let matches = tokio::task::spawn_blocking(move || {
            let _slot = slot;
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

/// A place in the hashing queue, and once it is its turn, the permit; both given back on drop.
struct Slot {
    queued: Arc<AtomicUsize>,
    _permit: Option<OwnedSemaphorePermit>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.queued.fetch_sub(1, Ordering::AcqRel);
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

    #[tokio::test]
    async fn a_full_queue_refuses_at_once_and_frees_its_places() {
        let hasher = Hasher::new(1).unwrap();
        let pw = Password::parse("correct horse".into()).unwrap();
        // Every place taken: the next request is refused without waiting.
        let held: Vec<Slot> = (0..=MAX_WAITING)
            .map(|_| Slot {
                queued: hasher.queued.clone(),
                _permit: None,
            })
            .collect();
        hasher.queued.store(held.len(), Ordering::Release);
        let refused = hasher.verify(&pw, None).await.unwrap_err();
        assert_eq!(refused.code(), "rate_limited");
        drop(held);
        assert_eq!(hasher.queued.load(Ordering::Acquire), 0);
        assert!(!hasher.verify(&pw, None).await.unwrap());
        assert_eq!(
            hasher.queued.load(Ordering::Acquire),
            0,
            "the place is given back"
        );
    }
}
