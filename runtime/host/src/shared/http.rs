//! `plugboard:plugin/http`: outbound HTTP to the origins the owner granted.

use plugboard_registry_types::Permission;

use super::plugboard;
use super::wit::HostError;
use crate::state::HostState;

impl plugboard::plugin::http::Host for HostState {
    async fn fetch(
        &mut self,
        request: plugboard::plugin::http::Request,
    ) -> Result<plugboard::plugin::http::Response, HostError> {
        use crate::http::{FetchError, Request, fetch};
        use plugboard::plugin::http::{Header, Response};
        self.require(Permission::Http)?;
        let Some(crate::state::HttpState { client, policy }) = self.plugin.http.clone() else {
            return Err(HostError::PermissionDenied(
                "the plugin has no HTTP access".into(),
            ));
        };
        let size = request.method.len()
            + request.url.len()
            + request
                .headers
                .iter()
                .map(|h| h.name.len() + h.value.len())
                .sum::<usize>()
            + request.body.len();
        self.charge(size)
            .map_err(|e| HostError::LimitExceeded(e.to_string()))?;
        let time_left = self
            .cpu
            .deadline
            .saturating_duration_since(std::time::Instant::now());
        let request = Request {
            method: request.method,
            url: request.url,
            headers: request
                .headers
                .into_iter()
                .map(|h| (h.name, h.value))
                .collect(),
            body: request.body,
        };
        let url = request.url.clone();
        match fetch(&client, &policy, request, time_left).await {
            Ok(response) => Ok(Response {
                status: response.status,
                headers: response
                    .headers
                    .into_iter()
                    .map(|(name, value)| Header { name, value })
                    .collect(),
                body: response.body,
            }),
            Err(FetchError::Refused(why)) => {
                self.plugin
                    .refused_calls
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                tracing::warn!(plugin = %self.plugin.name, url = ?url, reason = ?why, "HTTP request refused");
                Err(HostError::PermissionDenied(why))
            }
            Err(FetchError::TooLarge(why)) => Err(HostError::LimitExceeded(why)),
            Err(FetchError::Invalid(why)) => Err(HostError::InvalidArgument(why)),
            Err(FetchError::Failed(why)) => Err(HostError::Other(why)),
        }
    }
}
