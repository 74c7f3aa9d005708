//! Webhook mode: Telegram posts every update to a public HTTPS URL.
//!
//! At start the adapter binds `listen`, then registers `public_url` and a
//! secret token with `setWebhook`. Telegram sends the secret in the
//! `X-Telegram-Bot-Api-Secret-Token` header of every post; a post without
//! the right secret is refused with `401` and logged, so nobody who merely
//! guesses the URL can inject updates.
//!
//! A post is answered `200 OK` only once its update has been handled and the
//! replies sent; until then (or if the bot is shutting down, `503`) Telegram
//! keeps the update and posts it again later. Updates already handled, as
//! the `Ledger` in the store says, are acknowledged without handling them
//! twice. Unparseable bodies get `400`.
//!
//! TLS is left to a reverse proxy (Caddy, nginx) in front of `listen`, or to
//! a self-hosted Bot API server, which may post over plain HTTP.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use teloxide_core::payloads::SetWebhookSetters;
use teloxide_core::requests::Requester;
use teloxide_core::types as tg;
use teloxide_core::{ApiError, RequestError};
use url::Url;

use crate::{Ledger, Shutdown, Updates, fail, token_refused};
use plugboard_adapter::{AdapterError, InboxClosed};
use plugboard_store::RuntimeMeta;

/// The header in which Telegram sends the secret token.
pub const SECRET_HEADER: &str = "x-telegram-bot-api-secret-token";

/// Where the webhook is served and how Telegram reaches it.
#[derive(Debug)]
pub struct Webhook {
    listen: Listen,
    public_url: Url,
    secret: String,
}

#[derive(Debug)]
enum Listen {
    Addr(SocketAddr),
    Bound(std::net::TcpListener),
}

impl Webhook {
    /// A webhook served on `listen` and registered as `public_url`, with
    /// `secret` as the secret token (a random one when `None`).
    pub fn new(
        listen: SocketAddr,
        public_url: &str,
        secret: Option<String>,
    ) -> Result<Self, String> {
        Self::build(Listen::Addr(listen), public_url, secret)
    }

    /// Like [`Webhook::new`], on a listener already bound (tests bind
    /// `127.0.0.1:0` and read the port first).
    pub fn on_listener(
        listener: std::net::TcpListener,
        public_url: &str,
        secret: Option<String>,
    ) -> Result<Self, String> {
        Self::build(Listen::Bound(listener), public_url, secret)
    }

    fn build(listen: Listen, public_url: &str, secret: Option<String>) -> Result<Self, String> {
        let public_url = Url::parse(public_url)
            .map_err(|e| format!("`public_url` = {public_url:?} is not a URL: {e}"))?;
        let secret = match secret {
            Some(secret) => {
                check_secret(&secret)?;
                secret
            }
            None => random_secret()?,
        };
        Ok(Self {
            listen,
            public_url,
            secret,
        })
    }

    /// Whether the public URL is `https://`, as Telegram's own servers
    /// require.
    pub fn is_https(&self) -> bool {
        self.public_url.scheme() == "https"
    }

    /// Serves updates until shutdown; in-flight posts are finished first.
    pub(super) async fn serve(
        self,
        updates: Updates,
        ledger: Ledger,
        store: Arc<dyn RuntimeMeta>,
        mut shutdown: Shutdown,
    ) -> Result<(), AdapterError> {
        let listener = match self.listen {
            Listen::Addr(addr) => tokio::net::TcpListener::bind(addr)
                .await
                .map_err(|e| fail(format!("cannot listen on {addr} (`listen`): {e}")))?,
            Listen::Bound(listener) => listener
                .set_nonblocking(true)
                .and_then(|()| tokio::net::TcpListener::from_std(listener))
                .map_err(|e| fail(format!("cannot use the webhook listener: {e}")))?,
        };
        let local = listener
            .local_addr()
            .map_err(|e| fail(format!("cannot use the webhook listener: {e}")))?;
        let hook = Arc::new(Hook {
            secret: self.secret.clone(),
            seen: Mutex::new(Seen {
                ledger,
                in_flight: HashSet::new(),
            }),
            store,
            updates,
        });
        let path = match self.public_url.path() {
            "" => "/",
            path => path,
        };
        let app = axum::Router::new()
            .route(path, post(receive))
            .with_state(Arc::clone(&hook));

        // Listening first, so that Telegram's first post finds us.
        match hook
            .updates
            .bot
            .set_webhook(self.public_url.clone())
            .secret_token(self.secret)
            .await
        {
            Ok(_) => {}
            Err(RequestError::Api(ApiError::InvalidToken)) => return Err(token_refused()),
            Err(e) => {
                return Err(fail(format!(
                    "Telegram refused the webhook {} (`public_url`): {e}",
                    self.public_url
                )));
            }
        }
        tracing::info!(
            "telegram: webhook {} registered; serving it on {local}",
            self.public_url
        );
        axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = shutdown.wait_for(|stop| *stop).await;
            })
            .await
            .map_err(|e| fail(format!("the webhook server failed: {e}")))
    }
}

/// The webhook's shared state.
struct Hook {
    secret: String,
    /// The handled updates, and those being handled, under one lock.
    seen: Mutex<Seen>,
    store: Arc<dyn RuntimeMeta>,
    updates: Updates,
}

struct Seen {
    ledger: Ledger,
    in_flight: HashSet<i32>,
}

fn locked<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // Nothing panics while these locks are held; the data stays consistent.
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

async fn receive(State(hook): State<Arc<Hook>>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let given = headers
        .get(SECRET_HEADER)
        .map(|v| v.as_bytes())
        .unwrap_or_default();
    if !same(given, hook.secret.as_bytes()) {
        tracing::warn!(
            "telegram: refused a webhook post without the right secret token; \
             if this is Telegram, the webhook was registered by another process"
        );
        return StatusCode::UNAUTHORIZED;
    }
    let update: tg::Update = match serde_json::from_slice(&body) {
        Ok(update) => update,
        Err(e) => {
            tracing::warn!("telegram: refused a webhook post that is not an update: {e}");
            return StatusCode::BAD_REQUEST;
        }
    };
    let id = update.id.0 as i32;
    {
        let mut seen = locked(&hook.seen);
        seen.ledger.follow_renumbering(id);
        if seen.ledger.contains(id) {
            return StatusCode::OK; // a repeat of a finished update
        }
        if !seen.in_flight.insert(id) {
            // Still being handled: Telegram retries later, and is answered
            // then by how this attempt ended.
            return StatusCode::SERVICE_UNAVAILABLE;
        }
    }
    let submitted = hook.updates.submit(&update).await;
    let status = match submitted {
        Ok(handled) => {
            for done in handled {
                let _ = done.await;
            }
            {
                let mut seen = locked(&hook.seen);
                seen.ledger.record(id);
                seen.ledger.save(&*hook.store);
            }
            plugboard_adapter::flush(Arc::clone(&hook.store) as Arc<dyn plugboard_store::Durable>)
                .await;
            StatusCode::OK
        }
        // Shutting down: Telegram will post it again.
        Err(InboxClosed) => StatusCode::SERVICE_UNAVAILABLE,
    };
    locked(&hook.seen).in_flight.remove(&id);
    status
}

/// Compares secrets in time independent of where they differ.
fn same(given: &[u8], expected: &[u8]) -> bool {
    given.len() == expected.len()
        && given
            .iter()
            .zip(expected)
            .fold(0u8, |diff, (a, b)| diff | (a ^ b))
            == 0
}

/// Telegram's rule for secret tokens: 1–256 of `A-Z a-z 0-9 _ -`.
fn check_secret(secret: &str) -> Result<(), String> {
    let ok = (1..=256).contains(&secret.len())
        && secret
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(
            "the webhook secret token must be 1 to 256 characters of A-Z, a-z, 0-9, `_` and `-`"
                .into(),
        )
    }
}

fn random_secret() -> Result<String, String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| format!("cannot make a webhook secret token: {e}"))?;
    Ok(hex::encode(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_checked_and_compared() {
        assert!(check_secret("abc-DEF_123").is_ok());
        assert!(check_secret("").is_err());
        assert!(check_secret("has space").is_err());
        assert!(check_secret(&"a".repeat(257)).is_err());
        assert!(same(b"secret", b"secret"));
        assert!(!same(b"secret", b"secreT"));
        assert!(!same(b"secret", b"secret-longer"));
        let made = random_secret().expect("randomness");
        assert_eq!(made.len(), 64);
        assert!(check_secret(&made).is_ok());
    }
}
