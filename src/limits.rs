//! Rate limits: keyed token buckets (sends and socket frames per user, typing, logins and
//! sign-ups per name), shared by HTTP and WebSocket.

use std::hash::Hash;
use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::domain::error::Error;

/// A keyed token bucket; `None` inside means unlimited.
pub struct KeyedLimit<K: Hash + Eq + Clone> {
    limiter: Option<DefaultKeyedRateLimiter<K>>,
}

impl<K: Hash + Eq + Clone> KeyedLimit<K> {
    /// `per_second` on average with bursts of `burst`; 0 per second disables the limit.
    pub fn per_second(per_second: u32, burst: u32) -> Self {
        let limiter = NonZeroU32::new(per_second).map(|rate| {
            let burst = NonZeroU32::new(burst).unwrap_or(rate);
            RateLimiter::keyed(Quota::per_second(rate).allow_burst(burst))
        });
        KeyedLimit { limiter }
    }

    /// `per_minute` with bursts of the same size; 0 disables the limit.
    pub fn per_minute(per_minute: u32) -> Self {
        let limiter =
            NonZeroU32::new(per_minute).map(|rate| RateLimiter::keyed(Quota::per_minute(rate)));
        KeyedLimit { limiter }
    }

    /// `per_hour` with bursts of the same size; 0 disables the limit.
    pub fn per_hour(per_hour: u32) -> Self {
        let limiter = NonZeroU32::new(per_hour)
            .and_then(|rate| Quota::with_period(Duration::from_secs(3600) / rate.get()))
            .zip(NonZeroU32::new(per_hour))
            .map(|(quota, burst)| RateLimiter::keyed(quota.allow_burst(burst)));
        KeyedLimit { limiter }
    }

    /// Takes one token for `key`, or says how long to wait.
    pub fn check(&self, key: &K) -> Result<(), Error> {
        let Some(limiter) = &self.limiter else {
            return Ok(());
        };
        limiter
            .check_key(key)
            .map_err(|not_until| Error::RateLimited {
                retry_after: not_until
                    .wait_time_from(DefaultClock::default().now())
                    .max(Duration::from_millis(1)),
            })
    }

    /// Forgets keys whose buckets are full again, so memory stays bounded.
    pub fn forget_idle(&self) {
        if let Some(limiter) = &self.limiter {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_then_refusal_with_a_wait() {
        let limit = KeyedLimit::per_second(1, 3);
        for _ in 0..3 {
            limit.check(&7u64).unwrap();
        }
        match limit.check(&7u64) {
            Err(Error::RateLimited { retry_after }) => assert!(retry_after > Duration::ZERO),
            other => panic!("expected a rate limit, got {other:?}"),
        }
        limit.check(&8u64).unwrap();
        assert!(KeyedLimit::per_second(0, 0).check(&1u64).is_ok());
    }
}
