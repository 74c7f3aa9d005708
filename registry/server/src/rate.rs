//! Rate limits, in memory (a restart refills them): token buckets per API
//! token for publishing, per client address and per account for signing in,
//! per account for reports; and the per-address request rate every request
//! passes (`AddressLimiter`, governor's keyed limiter); exponential delays
//! after failed sign-ins per address and subnet ([`Backoff`]). Kept by the
//! registry, taken by the handlers.

use std::collections::HashMap;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use governor::clock::Clock as _;

/// A token-bucket rate: at most `burst` requests at once, refilled evenly
/// to `burst` per `per`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    /// The bucket's size: how many requests may come back to back.
    pub burst: u32,
    /// How long the bucket takes to refill from empty.
    pub per: Duration,
}

impl RateLimit {
    /// `burst` requests per `per`.
    pub fn new(burst: u32, per: Duration) -> Self {
        Self { burst, per }
    }
}

/// Token buckets per key (an API token's hash, a client address, an
/// account), in memory (a restart refills them).
#[derive(Debug, Default)]
pub(crate) struct RateLimiter {
    buckets: Mutex<HashMap<[u8; 32], Bucket>>,
}

/// Past this many buckets, the full ones (which say nothing a fresh bucket
/// would not) are dropped.
const MAX_BUCKETS: usize = 10_000;

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    last: Instant,
}

impl RateLimiter {
    /// Takes one request from `key`'s bucket, or says after how many whole
    /// seconds one will be available.
    pub fn take(&self, key: &[u8; 32], limit: RateLimit) -> Result<(), u64> {
        self.bucket(key, limit, true)
    }

    /// Whether `key`'s bucket has a request left, without taking it.
    pub fn peek(&self, key: &[u8; 32], limit: RateLimit) -> Result<(), u64> {
        self.bucket(key, limit, false)
    }

    fn bucket(&self, key: &[u8; 32], limit: RateLimit, take: bool) -> Result<(), u64> {
        let burst = f64::from(limit.burst);
        if burst < 1.0 {
            return Err(limit.per.as_secs().max(1));
        }
        let per_second = burst / limit.per.as_secs_f64().max(f64::EPSILON);
        let now = Instant::now();
        let mut buckets = self
            .buckets
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if buckets.len() >= MAX_BUCKETS {
            buckets.retain(|_, b| {
                b.tokens + now.duration_since(b.last).as_secs_f64() * per_second < burst
            });
        }
        let bucket = buckets.entry(*key).or_insert(Bucket {
            tokens: burst,
            last: now,
        });
        let elapsed = now.duration_since(bucket.last).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * per_second).min(burst);
        bucket.last = now;
        if bucket.tokens >= 1.0 {
            if take {
                bucket.tokens -= 1.0;
            }
            Ok(())
        } else {
            let wait = ((1.0 - bucket.tokens) / per_second).ceil();
            // `wait` is positive and at most `per`; the cast saturates anyway.
            Err((wait as u64).max(1))
        }
    }
}

/// Exponential delays after failures: the first `free` failures cost
/// nothing; after each one past them the next attempt must wait twice as
/// long as the one before, from `first` up to `max`; a key with no failure
/// for `forget` starts over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// Failures that cost no delay.
    pub free: u32,
    /// The delay after the first failure past `free`.
    pub first: Duration,
    /// The longest delay.
    pub max: Duration,
    /// How long after its last failure a key is forgotten.
    pub forget: Duration,
}

impl Backoff {
    /// The wait an attempt must keep after `failures` failures.
    fn delay(&self, failures: u32) -> Duration {
        let Some(past) = failures.checked_sub(self.free).filter(|&n| n > 0) else {
            return Duration::ZERO;
        };
        let doubled = self
            .first
            .checked_mul(1u32.checked_shl(past - 1).unwrap_or(u32::MAX))
            .unwrap_or(self.max);
        doubled.min(self.max)
    }
}

/// Failure counts per key (a client address, a subnet), in memory, for
/// [`Backoff`] delays.
#[derive(Debug, Default)]
pub(crate) struct Backoffs {
    failures: Mutex<HashMap<[u8; 32], Failures>>,
}

#[derive(Debug, Clone, Copy)]
struct Failures {
    count: u32,
    last: Instant,
}

/// Past this many keys, the forgotten ones are dropped, then the ones still
/// within their free failures.
const MAX_BACKOFF_KEYS: usize = 100_000;

impl Backoffs {
    /// Whether `key` may try now, or after how many whole seconds.
    pub fn check(&self, key: &[u8; 32], policy: Backoff) -> Result<(), u64> {
        let failures = self
            .failures
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let Some(entry) = failures.get(key) else {
            return Ok(());
        };
        let since = entry.last.elapsed();
        if since >= policy.forget {
            return Ok(());
        }
        let delay = policy.delay(entry.count);
        match delay.checked_sub(since) {
            Some(left) if !left.is_zero() => {
                Err(left.as_secs() + u64::from(left.subsec_nanos() > 0))
            }
            _ => Ok(()),
        }
    }

    /// Counts a failure of `key`.
    pub fn fail(&self, key: &[u8; 32], policy: Backoff) {
        let now = Instant::now();
        let mut failures = self
            .failures
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if failures.len() >= MAX_BACKOFF_KEYS {
            failures.retain(|_, f| now.duration_since(f.last) < policy.forget);
        }
        if failures.len() >= MAX_BACKOFF_KEYS {
            failures.retain(|_, f| f.count > policy.free);
        }
        let entry = failures.entry(*key).or_insert(Failures {
            count: 0,
            last: now,
        });
        if now.duration_since(entry.last) >= policy.forget {
            entry.count = 0;
        }
        entry.count = entry.count.saturating_add(1);
        entry.last = now;
    }
}

/// The request rate of each client address
/// ([`Config::request_rate`](crate::Config::request_rate)): governor's
/// keyed GCRA limiter (the same arithmetic as a token bucket, one atomic
/// per address, sharded), forgetting addresses whose bucket is full again
/// every few thousand requests.
pub(crate) struct AddressLimiter {
    /// `None` when the limit is off (a burst of 0).
    limiter: Option<governor::DefaultKeyedRateLimiter<IpAddr>>,
    checks: AtomicU64,
}

impl std::fmt::Debug for AddressLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AddressLimiter")
            .field("on", &self.limiter.is_some())
            .finish_non_exhaustive()
    }
}

/// After this many requests the address limiter drops the addresses whose
/// bucket is full again.
const SWEEP_EVERY: u64 = 4096;

impl AddressLimiter {
    /// A limiter of `limit` per address; off when `limit.burst` is 0.
    pub fn new(limit: RateLimit) -> Self {
        let limiter = NonZeroU32::new(limit.burst).and_then(|burst| {
            let period = limit.per.checked_div(burst.get())?;
            let quota = governor::Quota::with_period(period)?.allow_burst(burst);
            Some(governor::RateLimiter::keyed(quota))
        });
        Self {
            limiter,
            checks: AtomicU64::new(0),
        }
    }

    /// Takes one request of `address`, or says after how many whole
    /// seconds one will be allowed.
    pub fn check(&self, address: IpAddr) -> Result<(), u64> {
        let Some(limiter) = &self.limiter else {
            return Ok(());
        };
        if self.checks.fetch_add(1, Ordering::Relaxed) % SWEEP_EVERY == SWEEP_EVERY - 1 {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
        limiter.check_key(&address).map_err(|not_until| {
            let wait = not_until.wait_time_from(limiter.clock().now());
            wait.as_secs() + u64::from(wait.subsec_nanos() > 0)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_allows_a_burst_then_says_when() {
        let limiter = RateLimiter::default();
        let limit = RateLimit::new(3, Duration::from_secs(60));
        let key = [1; 32];
        for _ in 0..3 {
            assert_eq!(limiter.take(&key, limit), Ok(()));
        }
        let wait = limiter.take(&key, limit).expect_err("bucket empty");
        assert!((19..=20).contains(&wait), "{wait}");
        assert_eq!(
            limiter.take(&[2; 32], limit),
            Ok(()),
            "buckets are per token"
        );
        assert!(limiter.peek(&key, limit).is_err());
        assert_eq!(limiter.peek(&[3; 32], limit), Ok(()));
        assert_eq!(
            limiter.peek(&[3; 32], limit),
            Ok(()),
            "peeking takes nothing"
        );
    }

    #[test]
    fn backoff_delays_double_after_the_free_failures() {
        let policy = Backoff {
            free: 2,
            first: Duration::from_secs(1),
            max: Duration::from_secs(60),
            forget: Duration::from_secs(3600),
        };
        let delays: Vec<u64> = (0..12).map(|n| policy.delay(n).as_secs()).collect();
        assert_eq!(delays, [0, 0, 0, 1, 2, 4, 8, 16, 32, 60, 60, 60]);
        assert_eq!(policy.delay(u32::MAX), Duration::from_secs(60));

        let backoffs = Backoffs::default();
        let key = [7; 32];
        for _ in 0..2 {
            assert_eq!(backoffs.check(&key, policy), Ok(()));
            backoffs.fail(&key, policy);
        }
        assert_eq!(
            backoffs.check(&key, policy),
            Ok(()),
            "two failures are free"
        );
        for _ in 0..4 {
            backoffs.fail(&key, policy);
        }
        // Six failures: wait 8 s.
        let wait = backoffs.check(&key, policy).expect_err("a delay");
        assert!((7..=8).contains(&wait), "{wait}");
        assert_eq!(backoffs.check(&[8; 32], policy), Ok(()), "per key");
    }

    #[test]
    fn addresses_have_their_own_request_rate() {
        let limiter = AddressLimiter::new(RateLimit::new(3, Duration::from_secs(30)));
        let (a, b): (IpAddr, IpAddr) = ([192, 0, 2, 1].into(), [192, 0, 2, 2].into());
        for _ in 0..3 {
            assert_eq!(limiter.check(a), Ok(()));
        }
        let wait = limiter.check(a).expect_err("a's burst is used up");
        assert!(
            (1..=10).contains(&wait),
            "one request comes back every 10 s: {wait}"
        );
        assert_eq!(limiter.check(b), Ok(()), "b has its own bucket");
        let off = AddressLimiter::new(RateLimit::new(0, Duration::from_secs(1)));
        for _ in 0..1000 {
            assert_eq!(off.check(a), Ok(()), "a burst of 0 turns the limit off");
        }
    }

    #[test]
    fn full_buckets_are_forgotten_past_the_cap() {
        let limiter = RateLimiter::default();
        let limit = RateLimit::new(2, Duration::from_secs(60));
        for i in 0..MAX_BUCKETS as u32 {
            let mut key = [0; 32];
            key[..4].copy_from_slice(&i.to_be_bytes());
            limiter.peek(&key, limit).expect("fresh bucket");
        }
        limiter.take(&[0xff; 32], limit).expect("fresh bucket");
        let len = limiter.buckets.lock().map(|b| b.len()).unwrap_or(0);
        assert!(len < MAX_BUCKETS, "{len} buckets kept");
    }
}
