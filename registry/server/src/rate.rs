//! Token-bucket rate limits, in memory (a restart refills them): per API
//! token for publishing, per client address and per account for signing in,
//! per account for reports. Kept by the registry, taken by the handlers.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

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
