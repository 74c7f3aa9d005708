//! Incoming webhooks: deliveries other services post to the bot, verified
//! by the host with the owner's secret before [`Plugin::on_webhook`](crate::Plugin::on_webhook)
//! sees them.

pub use crate::bindings::exports::plugboard::plugin::webhooks::Webhook;
use crate::{Error, Result};

impl Webhook {
    /// The value of header `name` (lowercase), if the sender set it and the
    /// host passes it on (`x-github-event`, `x-github-hook-id`,
    /// `user-agent`, `x-plugboard-event`).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The body as text; an error when it is not UTF-8.
    pub fn text(&self) -> Result<&str> {
        std::str::from_utf8(&self.body)
            .map_err(|_| Error::invalid_input("the webhook's body is not UTF-8 text"))
    }

    /// The body read as JSON into `T`; the error says what did not fit.
    pub fn json<T: serde::de::DeserializeOwned>(&self) -> Result<T> {
        serde_json::from_slice(&self.body).map_err(|e| {
            Error::invalid_input(format!("the webhook's body is not the JSON expected: {e}"))
        })
    }
}
