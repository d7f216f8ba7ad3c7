//! Per-credential rate limiting: each API key, agent token and the admin
//! key may make `per_second` requests a second on average, with bursts of
//! up to `burst`, on each server (a generic cell rate algorithm, kept in
//! memory; servers do not share counts).

use std::num::NonZeroU32;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};

use crate::App;
use crate::auth::Principal;
use crate::errors::{AppError, Result};

/// How many requests a credential may make.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateLimit {
    /// On average, each second.
    pub per_second: NonZeroU32,
    /// At once, after a quiet while.
    pub burst: NonZeroU32,
}

impl RateLimit {
    /// `per_second` with bursts of `burst` (at least `per_second`); none
    /// when `per_second` is 0 (no limit).
    pub fn new(per_second: u32, burst: u32) -> Option<Self> {
        let per_second = NonZeroU32::new(per_second)?;
        let burst = NonZeroU32::new(burst.max(per_second.get())).unwrap_or(per_second);
        Some(RateLimit { per_second, burst })
    }
}

/// The limiter of a server.
pub(crate) struct Limiter {
    limiter: DefaultKeyedRateLimiter<String>,
    clock: DefaultClock,
}

impl Limiter {
    pub(crate) fn new(limit: RateLimit) -> Self {
        let quota = Quota::per_second(limit.per_second).allow_burst(limit.burst);
        Limiter {
            limiter: DefaultKeyedRateLimiter::dashmap(quota),
            clock: DefaultClock::default(),
        }
    }

    /// Counts one request of `credential`; the seconds to wait (at least
    /// 1) when it is one too many.
    fn check(&self, credential: &str) -> std::result::Result<(), u32> {
        // Keys seen once and never again are dropped now and then.
        if self.limiter.len() > 10_000 {
            self.limiter.retain_recent();
        }
        self.limiter
            .check_key(&credential.to_owned())
            .map_err(|not_until| {
                let wait = not_until.wait_time_from(self.clock.now());
                u32::try_from(wait.as_secs())
                    .unwrap_or(u32::MAX)
                    .saturating_add(1)
            })
    }
}

impl App {
    /// Admits one more request of `principal`, or refuses it with
    /// [`AppError::RateLimited`].
    pub(crate) fn admit(&self, principal: &Principal) -> Result<()> {
        let Some(limiter) = &self.inner.limiter else {
            return Ok(());
        };
        limiter.check(principal.credential_id()).map_err(|seconds| {
            metrics::counter!("warrant_rate_limited_total").increment(1);
            AppError::RateLimited(seconds)
        })
    }
}
