//! Incoming webhooks: `POST /hooks/<plugin>/<name>` on the admin listener,
//! for the webhooks plugins declare (`[webhooks.<name>]` in the manifest).
//!
//! A delivery reaches its plugin only when it is signed with the secret
//! the owner set (`[plugins.<plugin>.webhooks.<name>] secret_env`):
//! HMAC-SHA256 of the body, as GitHub sends it (`X-Hub-Signature-256:
//! sha256=<hex>`) or in the same form under `X-Plugboard-Signature-256`.
//! Refusals: 404 for a webhook no running plugin declares, 503 when the
//! owner set no usable secret, 413 for a body over the webhook's
//! `max-bytes`, 401 for a missing or wrong signature. A delivery id
//! (`X-GitHub-Delivery` or `X-Plugboard-Delivery`) seen before is answered
//! 200 and not delivered again (the last [`REMEMBERED`] ids of each
//! webhook, in memory).
//!
//! Deliveries enter the bot through [`WebhookAdapter`], an adapter of the
//! platform `webhook` serving beside the others, so they are queued,
//! ordered and counted like every event; the answer waits until the
//! plugin has handled the delivery (202 when that takes longer than a few
//! seconds).
//!
//! What it must not touch: what the plugin does with a delivery.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use hmac::{Hmac, Mac};
use plugboard_adapter::{Adapter, AdapterFuture, AdapterIo, InboxSlot, inbox_of, serve_beside};
use plugboard_bot::control::Control;
use plugboard_model::event::{Event, Platform, WEBHOOKS, Webhook};

/// Delivery ids remembered per webhook.
pub const REMEMBERED: usize = 1024;
/// How long a sender waits for the plugin before it is told 202.
const PATIENCE: Duration = Duration::from_secs(8);

/// Headers passed on to the plugin (lowercase).
const PASSED_ON: &[&str] = &[
    "x-github-event",
    "x-github-hook-id",
    "user-agent",
    "x-plugboard-event",
];

struct Shared {
    inbox: InboxSlot,
    seen: Mutex<HashMap<(String, String), Seen>>,
}

#[derive(Default)]
struct Seen {
    order: VecDeque<String>,
    ids: HashSet<String>,
}

impl Seen {
    /// Remembers `id`; false when it was remembered already.
    fn first(&mut self, id: &str) -> bool {
        if self.ids.contains(id) {
            return false;
        }
        self.ids.insert(id.to_owned());
        self.order.push_back(id.to_owned());
        while self.order.len() > REMEMBERED {
            if let Some(old) = self.order.pop_front() {
                self.ids.remove(&old);
            }
        }
        true
    }
}

/// The webhook receiver's adapter, for the bot.
pub struct WebhookAdapter {
    shared: Arc<Shared>,
}

/// The webhook receiver, for the admin listener's route.
#[derive(Clone)]
pub struct Webhooks {
    shared: Arc<Shared>,
    control: Arc<Control>,
}

/// The receiver's two halves, over the running bot's `control`.
pub fn webhook_receiver(control: Arc<Control>) -> (WebhookAdapter, Webhooks) {
    let shared = Arc::new(Shared {
        inbox: InboxSlot::default(),
        seen: Mutex::new(HashMap::new()),
    });
    (
        WebhookAdapter {
            shared: Arc::clone(&shared),
        },
        Webhooks { shared, control },
    )
}

fn answer(status: StatusCode, text: impl Into<String>) -> Response {
    let mut text = text.into();
    text.push('\n');
    (status, text).into_response()
}

/// Whether `signature` (`sha256=<hex>`) is `body`'s HMAC-SHA256 under
/// `secret`, compared in constant time.
pub fn signed(secret: &[u8], body: &[u8], signature: &str) -> bool {
    let Some(hex) = signature.trim().strip_prefix("sha256=") else {
        return false;
    };
    let Ok(expected) = hex::decode(hex) else {
        return false;
    };
    let Ok(mut mac) = Hmac::<sha2::Sha256>::new_from_slice(secret) else {
        return false;
    };
    mac.update(body);
    mac.verify_slice(&expected).is_ok()
}

fn header<'h>(headers: &'h HeaderMap, names: &[&str]) -> Option<&'h str> {
    names
        .iter()
        .find_map(|name| headers.get(*name).and_then(|v| v.to_str().ok()))
}

impl Webhooks {
    /// Checks and delivers one request to webhook `name` of `plugin`; the
    /// body is read only once the webhook is known, and only up to its
    /// size.
    pub async fn receive(
        &self,
        plugin: &str,
        name: &str,
        headers: &HeaderMap,
        body: Body,
    ) -> Response {
        let Ok(running) = self.control.plugin(plugin) else {
            return answer(StatusCode::NOT_FOUND, "no such webhook");
        };
        let Some(spec) = running.manifest().webhooks.get(name) else {
            return answer(StatusCode::NOT_FOUND, "no such webhook");
        };
        let secret = self
            .control
            .config()
            .ok_or_else(|| "the bot was not started from a config file".to_owned())
            .and_then(|config| config.webhook_secret(plugin, name));
        let secret = match secret {
            Ok(secret) => secret,
            Err(why) => {
                tracing::error!(
                    plugin,
                    webhook = name,
                    "a webhook delivery is refused: {why}"
                );
                return answer(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "this webhook is not set up on the bot yet; its owner's log says what is missing",
                );
            }
        };
        let max = spec.max_bytes();
        let Ok(body) = axum::body::to_bytes(body, max).await else {
            return answer(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("the body is over this webhook's {max} bytes (or was cut short)"),
            );
        };
        let signature = header(
            headers,
            &["x-hub-signature-256", "x-plugboard-signature-256"],
        );
        if !signature.is_some_and(|s| signed(secret.as_bytes(), &body, s)) {
            // Unsigned requests are anyone's noise; a wrong signature may
            // be a sender with an old secret, which the owner wants to see.
            match signature {
                Some(_) => tracing::warn!(
                    plugin,
                    webhook = name,
                    "a webhook delivery with a wrong signature is refused"
                ),
                None => tracing::debug!(
                    plugin,
                    webhook = name,
                    "an unsigned webhook delivery is refused"
                ),
            }
            return answer(
                StatusCode::UNAUTHORIZED,
                "missing or wrong signature: sign the body with HMAC-SHA256 under the webhook's secret, in X-Hub-Signature-256: sha256=<hex>",
            );
        }
        let delivery = header(headers, &["x-github-delivery", "x-plugboard-delivery"])
            .map(|d| plugboard_registry_types::text::one_line(d, 128));
        if let Some(id) = &delivery {
            let mut seen = self.shared.seen.lock().unwrap_or_else(|p| p.into_inner());
            let first = seen
                .entry((plugin.to_owned(), name.to_owned()))
                .or_default()
                .first(id);
            if !first {
                return answer(StatusCode::OK, "delivered before; not again");
            }
        }
        let headers_passed = PASSED_ON
            .iter()
            .filter_map(|n| Some(((*n).to_owned(), headers.get(*n)?.to_str().ok()?.to_owned())))
            .collect();
        let hook = Webhook {
            plugin: plugin.to_owned(),
            name: name.to_owned(),
            delivery: delivery.clone(),
            content_type: header(headers, &["content-type"]).map(str::to_owned),
            headers: headers_passed,
            body: body.to_vec(),
            chat: Webhook::chat_of(plugin, name),
        };
        let inbox = inbox_of(&self.shared.inbox);
        let Some(inbox) = inbox else {
            self.forget(plugin, name, delivery.as_deref());
            return answer(
                StatusCode::SERVICE_UNAVAILABLE,
                "the bot is starting or stopping; send it again",
            );
        };
        let Ok(handled) = inbox.submit_tracked(Event::Webhook(Box::new(hook))).await else {
            self.forget(plugin, name, delivery.as_deref());
            return answer(
                StatusCode::SERVICE_UNAVAILABLE,
                "the bot is stopping; send it again",
            );
        };
        drop(inbox);
        match tokio::time::timeout(PATIENCE, handled).await {
            Ok(_) => answer(StatusCode::OK, "delivered"),
            Err(_) => answer(
                StatusCode::ACCEPTED,
                "accepted; the plugin is still handling it",
            ),
        }
    }

    /// Forgets a delivery id that was not delivered after all, so that the
    /// sender's retry gets through.
    fn forget(&self, plugin: &str, name: &str, delivery: Option<&str>) {
        if let Some(id) = delivery {
            let mut seen = self.shared.seen.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(hook) = seen.get_mut(&(plugin.to_owned(), name.to_owned())) {
                hook.ids.remove(id);
                hook.order.retain(|d| d != id);
            }
        }
    }
}

/// `POST /hooks/{plugin}/{name}`.
pub(crate) async fn receive(
    State(hooks): State<Webhooks>,
    UrlPath((plugin, name)): UrlPath<(String, String)>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    // In a task of its own: a sender that hangs up does not cut a delivery
    // between remembering its id and handing it to the bot.
    let receiving =
        tokio::spawn(async move { hooks.receive(&plugin, &name, &headers, body).await });
    receiving
        .await
        .unwrap_or_else(|_| answer(StatusCode::INTERNAL_SERVER_ERROR, "the delivery failed"))
}

impl Adapter for WebhookAdapter {
    fn platform(&self) -> Platform {
        Platform::Other(WEBHOOKS.into())
    }

    fn beside(&self) -> bool {
        true
    }

    fn run(self: Box<Self>, io: AdapterIo) -> AdapterFuture {
        Box::pin(async move {
            serve_beside(io, &self.shared.inbox, |outbound| {
                tracing::warn!(
                    plugin = %outbound.plugin,
                    "a webhook comes from no chat, so its plugin's answer to it is dropped; \
                     send to a chat instead (`send`, with send-any-chat)"
                )
            })
            .await
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_is_the_bodys_hmac_sha256_in_githubs_form() {
        // GitHub's documented example ("Validating webhook deliveries").
        let secret = b"It's a Secret to Everybody";
        let body = b"Hello, World!";
        let good = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
        assert!(signed(secret, body, good));
        assert!(!signed(secret, b"Hello, World?", good));
        assert!(!signed(b"another secret", body, good));
        assert!(!signed(secret, body, good.trim_start_matches("sha256=")));
        assert!(!signed(secret, body, "sha256=zz"));
    }

    #[test]
    fn a_delivery_id_is_let_through_once_and_the_oldest_are_forgotten() {
        let mut seen = Seen::default();
        assert!(seen.first("a"));
        assert!(!seen.first("a"));
        for i in 0..REMEMBERED {
            assert!(seen.first(&i.to_string()));
        }
        assert!(seen.first("a"), "forgotten after {REMEMBERED} others");
    }
}
