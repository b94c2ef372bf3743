//! Rate limits: keyed token buckets (sends and socket frames per user, typing, and the
//! authentication attempts of `AuthLimits`), shared by HTTP and WebSocket.

use std::hash::Hash;
use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::auth::address::ClientAddress;
use crate::domain::error::Error;
use crate::domain::input::Username;

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

/// What an authentication attempt is, for the buckets it draws on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attempt {
    /// `POST /api/auth/login`, and a password checked to change it (`POST /api/me/password`).
    Login,
    /// `POST /api/auth/tokens`.
    Token,
    /// `POST /api/auth/signup`.
    Signup,
}

/// The limits on password guessing (PROTOCOL.md, Authentication: Limits): logins and token
/// requests each have a bucket per (username, client address), and every attempt of the three
/// kinds draws on one bucket per client address. No bucket is keyed by the username alone, so
/// wrong guesses from elsewhere never lock the owner out of their own address.
pub struct AuthLimits {
    per_address: KeyedLimit<ClientAddress>,
    logins: KeyedLimit<(Username, ClientAddress)>,
    tokens: KeyedLimit<(Username, ClientAddress)>,
}

impl AuthLimits {
    /// `per_pair` logins and as many token requests per (username, address) a minute;
    /// `per_address` attempts of any kind per address a minute (bursts of as many). 0 turns a
    /// limit off.
    pub fn new(per_pair: u32, per_address: u32) -> Self {
        AuthLimits {
            per_address: KeyedLimit::per_minute(per_address),
            logins: KeyedLimit::per_minute(per_pair),
            tokens: KeyedLimit::per_minute(per_pair),
        }
    }

    /// Takes a token for this attempt from every bucket it draws on, the address's first (a
    /// refusal there takes nothing from the pair's), or says how long to wait.
    pub fn check(
        &self,
        attempt: Attempt,
        username: &Username,
        from: ClientAddress,
    ) -> Result<(), Error> {
        self.per_address.check(&from)?;
        match attempt {
            Attempt::Login => self.logins.check(&(username.clone(), from)),
            Attempt::Token => self.tokens.check(&(username.clone(), from)),
            Attempt::Signup => Ok(()),
        }
    }

    /// Forgets full buckets, so memory stays bounded.
    pub fn forget_idle(&self) {
        self.per_address.forget_idle();
        self.logins.forget_idle();
        self.tokens.forget_idle();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn address(raw: &str) -> ClientAddress {
        ClientAddress::of(raw.parse().unwrap())
    }

    #[test]
    fn a_strangers_guesses_never_lock_the_owner_out() {
        let limits = AuthLimits::new(30, 60);
        let alice = Username::parse("alice").unwrap();
        let (owner, stranger) = (address("127.0.0.1"), address("127.0.0.2"));
        for _ in 0..30 {
            limits.check(Attempt::Login, &alice, stranger).unwrap();
        }
        let refused = limits.check(Attempt::Login, &alice, stranger).unwrap_err();
        assert_eq!(refused.code(), "rate_limited");
        limits.check(Attempt::Login, &alice, owner).unwrap();
        // Tokens have a bucket of their own per pair.
        limits.check(Attempt::Token, &alice, stranger).unwrap();
    }

    #[test]
    fn every_attempt_draws_on_the_address_bucket() {
        let limits = AuthLimits::new(30, 60);
        let from = address("2001:db8::1");
        for i in 0..60 {
            let name = Username::parse(&format!("user{i}")).unwrap();
            let attempt = [Attempt::Login, Attempt::Token, Attempt::Signup][i % 3];
            limits.check(attempt, &name, from).unwrap();
        }
        let name = Username::parse("someone").unwrap();
        let neighbour = address("2001:db8::ffff");
        assert_eq!(
            limits
                .check(Attempt::Signup, &name, neighbour)
                .unwrap_err()
                .code(),
            "rate_limited",
            "the same /64"
        );
        limits
            .check(Attempt::Signup, &name, address("2001:db8:0:1::1"))
            .unwrap();
        let off = AuthLimits::new(0, 0);
        for _ in 0..100 {
            off.check(Attempt::Login, &name, from).unwrap();
        }
    }

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
