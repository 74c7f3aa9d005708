//! Outbound HTTP (needs the `http` permission, and only reaches the origins
//! listed in the manifest's `http`).
//!
//! ```no_run
//! use plugboard_sdk::{http, Result};
//!
//! fn fact() -> Result<String> {
//!     let response = http::get("https://api.example.com/fact")?;
//!     Ok(response.text())
//! }
//! ```
//!
//! The host refuses other origins, names that resolve to private or
//! loopback addresses, bodies over the caps (1 MiB out, 4 MiB in) and
//! requests that outlive the event's deadline; each refusal is an
//! [`Error::Failed`](crate::Error) naming the reason.

use serde::de::DeserializeOwned;

use crate::bindings::plugboard::plugin::http as host;
pub use crate::bindings::plugboard::plugin::http::{Header, Request, Response};
use crate::error::from_host;
use crate::{Error, Result};

/// Sends a request and returns the whole response (any status).
pub fn fetch(request: &Request) -> Result<Response> {
    host::fetch(request).map_err(from_host)
}

/// Sends a `GET` for `url`.
pub fn get(url: &str) -> Result<Response> {
    fetch(&Request {
        method: "GET".into(),
        url: url.into(),
        headers: vec![Header {
            name: "accept".into(),
            value: "*/*".into(),
        }],
        body: Vec::new(),
    })
}

impl Response {
    /// The body as text (invalid UTF-8 replaced).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body parsed as JSON.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T> {
        serde_json::from_slice(&self.body)
            .map_err(|e| Error::failed(format!("the response is not the expected JSON: {e}")))
    }

    /// The first header named `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(name))
            .map(|h| h.value.as_str())
    }
}
