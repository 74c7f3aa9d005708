//! API tokens, their scopes, the `Authed` extractor that checks them, and
//! the per-token publish rate limit.
//!
//! A token is `pbr_` followed by 64 hex digits (32 random bytes from the
//! operating system). The registry stores only its sha256, in the `tokens`
//! tree, with the user and the scopes; the token itself is shown once, when
//! it is created. Clients send it as `Authorization: Bearer <token>`.

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use serde::{Deserialize, Serialize};

use crate::error::AppError;
use crate::store::{Registry, token_hash};

/// What every token starts with, so that secret scanners can spot leaked ones.
pub const TOKEN_PREFIX: &str = "pbr_";

/// What a token may do. Reading (index, downloads, search) needs no token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Scope {
    /// Publish new plugins and versions, and register publisher keys.
    Publish,
    /// Yank and unyank versions.
    Yank,
    /// Add and remove a plugin's owners.
    Owners,
}

impl Scope {
    /// Every scope.
    pub const ALL: &'static [Scope] = &[Scope::Publish, Scope::Yank, Scope::Owners];

    /// The scope's name, as `--scope` takes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Publish => "publish",
            Scope::Yank => "yank",
            Scope::Owners => "owners",
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Scope {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        Scope::ALL
            .iter()
            .copied()
            .find(|s| s.as_str() == text)
            .ok_or_else(|| format!("unknown scope `{text}`; the scopes are publish, yank, owners"))
    }
}

/// The user behind a valid `Authorization: Bearer` token. As an extractor
/// it answers 401 when the header is missing or the token unknown.
#[derive(Debug, Clone)]
pub(crate) struct Authed {
    pub user: String,
    pub scopes: Vec<Scope>,
    pub token_hash: [u8; 32],
}

impl Authed {
    /// 403 unless the token has `scope`.
    pub fn require(&self, scope: Scope) -> Result<(), AppError> {
        if self.scopes.contains(&scope) {
            return Ok(());
        }
        let have: Vec<&str> = self.scopes.iter().map(|s| s.as_str()).collect();
        Err(AppError::forbidden(format!(
            "this token lacks the `{scope}` scope (it has: {}); create one that has it with \
             `plugboard-registry token create {} --scope {scope}`",
            if have.is_empty() {
                "none".into()
            } else {
                have.join(", ")
            },
            self.user
        )))
    }
}

impl FromRequestParts<Registry> for Authed {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, registry: &Registry) -> Result<Self, AppError> {
        let value = parts.headers.get(header::AUTHORIZATION).ok_or_else(|| {
            AppError::unauthorized(
                "this request needs an API token: send `Authorization: Bearer <token>`; the \
                 registry's operator creates tokens with `plugboard-registry token create <user>`",
            )
        })?;
        let token = value
            .to_str()
            .ok()
            .and_then(|v| v.split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, token)| token.trim())
            .ok_or_else(|| {
                AppError::unauthorized(
                    "the Authorization header is not `Bearer <token>`; send the token as \
                     `Authorization: Bearer pbr_…`",
                )
            })?;
        let hash = token_hash(token);
        let record = registry.token(&hash)?.ok_or_else(|| {
            AppError::unauthorized(
                "this registry does not know the API token (mistyped, revoked, or made for \
                 another registry); ask the registry's operator for a new one",
            )
        })?;
        Ok(Authed {
            user: record.user,
            scopes: record.scopes,
            token_hash: hash,
        })
    }
}

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

    #[test]
    fn scopes_parse_by_name() {
        assert_eq!("yank".parse::<Scope>(), Ok(Scope::Yank));
        assert!("root".parse::<Scope>().is_err());
    }
}
