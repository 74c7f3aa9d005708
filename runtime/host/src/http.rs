//! Outbound HTTP for plugins, restricted to what the owner allowed.
//!
//! A plugin granted `http` may call the origins its manifest lists
//! (`http = ["https://api.example.com", "https://*.github.com"]`). Every
//! request is checked twice:
//!
//! 1. **by name**: the URL's scheme, host and port must match one of the
//!    plugin's origin patterns; so must every redirect target (at most
//!    [`MAX_REDIRECTS`]);
//! 2. **by address**: the host is resolved by [`CheckedResolver`], which drops
//!    every loopback, private, link-local, shared, multicast or otherwise
//!    special address (cloud metadata endpoints live there), unless the owner
//!    allowed that range for the plugin (`http_allow_private`). The connection
//!    is made only to the addresses that passed, so a name that resolves (or
//!    re-resolves) to `127.0.0.1` cannot reach the host's own services. IP
//!    literals in URLs get the same check.
//!
//! Request and response bodies are capped, no proxy from the environment is
//! used, and the request must finish within what is left of the event's
//! deadline.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use plugboard_registry_types::OriginPattern;
use reqwest::Url;

/// Most redirects followed for one request.
pub const MAX_REDIRECTS: usize = 5;
/// Largest request body, in bytes.
pub const MAX_REQUEST_BODY: usize = 1 << 20;
/// Largest response body, in bytes.
pub const MAX_RESPONSE_BODY: usize = 4 << 20;
/// Most response headers kept.
pub const MAX_RESPONSE_HEADERS: usize = 100;
/// Longest request URL, in bytes.
pub const MAX_URL: usize = 8 * 1024;
/// Most headers one request may send.
pub const MAX_REQUEST_HEADERS: usize = 100;
/// Longest request header (name and value together), in bytes.
pub const MAX_REQUEST_HEADER: usize = 8 * 1024;

/// An address range, `192.168.0.0/16` or `fd00::/8`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    network: IpAddr,
    prefix: u8,
}

impl Cidr {
    /// Parses `address/prefix` (or a bare address, meaning just it).
    pub fn parse(text: &str) -> Result<Self, String> {
        let (address, prefix) = match text.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (text, None),
        };
        let network: IpAddr = address
            .parse()
            .map_err(|_| format!("`{text}` is not an address range like 10.0.0.0/8"))?;
        let max = if network.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(p) => p
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| format!("`{text}`: the prefix must be 0 to {max}"))?,
            None => max,
        };
        Ok(Self { network, prefix })
    }

    /// Whether `ip` lies in the range.
    pub fn contains(&self, ip: IpAddr) -> bool {
        // An IPv4-mapped IPv6 address is judged as the IPv4 address it is.
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        match (self.network, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

/// Why an address is not a public one, or `None` when it is.
pub fn special_address(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => special_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return special_v4(v4);
            }
            let first = v6.segments()[0];
            if v6.is_loopback() {
                Some("loopback")
            } else if v6.is_unspecified() {
                Some("unspecified")
            } else if v6.is_multicast() {
                Some("multicast")
            } else if first & 0xfe00 == 0xfc00 {
                Some("private (unique local)")
            } else if first & 0xffc0 == 0xfe80 {
                Some("link-local")
            } else if first == 0x2001 && v6.segments()[1] == 0x0db8 {
                Some("documentation")
            } else if first == 0x0064 && v6.segments()[1] == 0xff9b {
                Some("NAT64 (reaches IPv4 addresses)")
            } else {
                None
            }
        }
    }
}

fn special_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, ..] = ip.octets();
    if ip.is_loopback() {
        Some("loopback")
    } else if ip.is_private() {
        Some("private")
    } else if ip.is_link_local() {
        Some("link-local (cloud metadata lives here)")
    } else if ip.is_unspecified() || a == 0 {
        Some("unspecified")
    } else if ip.is_broadcast() || ip.is_multicast() || a >= 240 {
        Some("broadcast, multicast or reserved")
    } else if a == 100 && (64..128).contains(&b) {
        Some("shared (carrier-grade NAT)")
    } else if ip.is_documentation() || (a == 198 && (b == 18 || b == 19)) {
        Some("documentation or benchmarking")
    } else {
        None
    }
}

/// What one plugin may reach.
#[derive(Debug, Clone, Default)]
pub struct HttpPolicy {
    /// Origins from the manifest.
    pub origins: Vec<OriginPattern>,
    /// Special address ranges the owner allowed anyway.
    pub allow_private: Vec<Cidr>,
}

impl HttpPolicy {
    /// Checks a URL by name: scheme, host and port against the origins.
    pub fn check_url(&self, url: &Url) -> Result<(), String> {
        let scheme = url.scheme();
        // IPv6 hosts without brackets, as origin patterns hold them.
        let host = match url.host() {
            Some(url::Host::Domain(name)) => name.to_owned(),
            Some(url::Host::Ipv4(ip)) => ip.to_string(),
            Some(url::Host::Ipv6(ip)) => ip.to_string(),
            None => String::new(),
        };
        let port = url.port_or_known_default().unwrap_or(0);
        if !url.username().is_empty() || url.password().is_some() {
            return Err(format!(
                "`{url}` carries credentials in the URL; send them in a header"
            ));
        }
        if !self.origins.iter().any(|o| o.matches(scheme, &host, port)) {
            return Err(format!(
                "`{scheme}://{host}:{port}` is not one of the origins the plugin may call (its manifest's `http`)"
            ));
        }
        if let Some(ip) = literal_ip(url) {
            self.check_ip(ip)?;
        }
        Ok(())
    }

    /// Checks one address.
    pub fn check_ip(&self, ip: IpAddr) -> Result<(), String> {
        match special_address(ip) {
            Some(kind) if !self.allow_private.iter().any(|c| c.contains(ip)) => Err(format!(
                "{ip} is a {kind} address; the owner can allow it with `http_allow_private`"
            )),
            _ => Ok(()),
        }
    }
}

fn literal_ip(url: &Url) -> Option<IpAddr> {
    match url.host()? {
        url::Host::Ipv4(ip) => Some(IpAddr::V4(ip)),
        url::Host::Ipv6(ip) => Some(IpAddr::V6(ip)),
        url::Host::Domain(_) => None,
    }
}

/// A resolver that only returns addresses the policy allows.
pub struct CheckedResolver {
    policy: Arc<HttpPolicy>,
}

impl reqwest::dns::Resolve for CheckedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let policy = Arc::clone(&self.policy);
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let found: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let mut refused = Vec::new();
            let allowed: Vec<SocketAddr> = found
                .into_iter()
                .filter(|addr| match policy.check_ip(addr.ip()) {
                    Ok(()) => true,
                    Err(why) => {
                        refused.push(why);
                        false
                    }
                })
                .collect();
            if allowed.is_empty() {
                let why = if refused.is_empty() {
                    Refused::failure(format!("`{host}` has no address"))
                } else {
                    Refused::policy(format!(
                        "`{host}` resolves only to refused addresses: {}",
                        refused.join("; ")
                    ))
                };
                return Err(Box::new(why) as Box<dyn std::error::Error + Send + Sync>);
            }
            let addrs: reqwest::dns::Addrs = Box::new(allowed.into_iter());
            Ok(addrs)
        })
    }
}

/// A request stopped by the host (carried through reqwest's errors):
/// `by_policy` for refusals of the owner's rules, otherwise a failure such
/// as a name with no address or too many redirects.
#[derive(Debug)]
struct Refused {
    message: String,
    by_policy: bool,
}

impl Refused {
    fn policy(message: String) -> Self {
        Self {
            message,
            by_policy: true,
        }
    }

    fn failure(message: String) -> Self {
        Self {
            message,
            by_policy: false,
        }
    }
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Refused {}

/// Builds the HTTP client of one plugin: checked resolver, checked
/// redirects, no proxy.
pub fn client(policy: Arc<HttpPolicy>) -> Result<reqwest::Client, String> {
    let redirects = Arc::clone(&policy);
    reqwest::Client::builder()
        .no_proxy()
        .dns_resolver(Arc::new(CheckedResolver {
            policy: Arc::clone(&policy),
        }))
        .redirect(reqwest::redirect::Policy::custom(move |attempt| {
            // `previous` holds the original URL and every redirect so far.
            if attempt.previous().len() > MAX_REDIRECTS {
                return attempt.error(Refused::failure(format!(
                    "more than {MAX_REDIRECTS} redirects"
                )));
            }
            match redirects.check_url(attempt.url()) {
                Ok(()) => attempt.follow(),
                Err(why) => attempt.error(Refused::policy(format!("redirect refused: {why}"))),
            }
        }))
        .connect_timeout(Duration::from_secs(10))
        .user_agent(concat!("plugboard/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| format!("cannot build the HTTP client: {e}"))
}

/// The host's side of one request.
pub struct Request {
    /// Method, e.g. `GET`.
    pub method: String,
    /// Absolute URL.
    pub url: String,
    /// Headers.
    pub headers: Vec<(String, String)>,
    /// Body.
    pub body: Vec<u8>,
}

/// What came back.
pub struct Response {
    /// Status code.
    pub status: u16,
    /// Headers (at most [`MAX_RESPONSE_HEADERS`]).
    pub headers: Vec<(String, String)>,
    /// Body (at most [`MAX_RESPONSE_BODY`] bytes).
    pub body: Vec<u8>,
}

/// Why a request was not made or did not complete.
#[derive(Debug)]
pub enum FetchError {
    /// The policy refused it.
    Refused(String),
    /// A size cap was hit.
    TooLarge(String),
    /// The request itself was malformed.
    Invalid(String),
    /// Network, TLS, timeout and other failures.
    Failed(String),
}

/// Sends `request` with the plugin's client, within `time_left`.
pub async fn fetch(
    client: &reqwest::Client,
    policy: &HttpPolicy,
    request: Request,
    time_left: Duration,
) -> Result<Response, FetchError> {
    if request.url.len() > MAX_URL {
        return Err(FetchError::TooLarge(format!(
            "a URL is at most {MAX_URL} bytes; this one has {}",
            request.url.len()
        )));
    }
    if request.headers.len() > MAX_REQUEST_HEADERS
        || request
            .headers
            .iter()
            .any(|(n, v)| n.len() + v.len() > MAX_REQUEST_HEADER)
    {
        return Err(FetchError::TooLarge(format!(
            "a request sends at most {MAX_REQUEST_HEADERS} headers of at most {MAX_REQUEST_HEADER} bytes each"
        )));
    }
    let url = Url::parse(&request.url).map_err(|e| {
        FetchError::Invalid(format!(
            "{} is not a URL: {e}",
            plugboard_registry_types::text::quote(&request.url)
        ))
    })?;
    policy.check_url(&url).map_err(FetchError::Refused)?;
    if request.body.len() > MAX_REQUEST_BODY {
        return Err(FetchError::TooLarge(format!(
            "a request body is at most {MAX_REQUEST_BODY} bytes; this one has {}",
            request.body.len()
        )));
    }
    let method = reqwest::Method::from_bytes(request.method.as_bytes()).map_err(|_| {
        FetchError::Invalid(format!(
            "{} is not an HTTP method",
            plugboard_registry_types::text::quote(&request.method)
        ))
    })?;
    let mut builder = client
        .request(method, url)
        .timeout(time_left)
        .body(request.body);
    for (name, value) in &request.headers {
        builder = builder.header(name.as_str(), value.as_str());
    }
    let mut response = builder.send().await.map_err(explain)?;
    let status = response.status().as_u16();
    let headers = response
        .headers()
        .iter()
        .take(MAX_RESPONSE_HEADERS)
        .map(|(k, v)| {
            (
                k.as_str().to_owned(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    if response
        .content_length()
        .is_some_and(|n| n > MAX_RESPONSE_BODY as u64)
    {
        return Err(too_large());
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(explain)? {
        if body.len() + chunk.len() > MAX_RESPONSE_BODY {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Response {
        status,
        headers,
        body,
    })
}

fn too_large() -> FetchError {
    FetchError::TooLarge(format!(
        "a response body is at most {MAX_RESPONSE_BODY} bytes"
    ))
}

/// Finds a policy refusal inside a reqwest error, or describes the failure.
fn explain(error: reqwest::Error) -> FetchError {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&error);
    while let Some(e) = source {
        if let Some(refused) = e.downcast_ref::<Refused>() {
            return match refused.by_policy {
                true => FetchError::Refused(refused.message.clone()),
                false => FetchError::Failed(refused.message.clone()),
            };
        }
        source = e.source();
    }
    if error.is_timeout() {
        return FetchError::Failed("the request did not finish within the event's deadline".into());
    }
    if error.is_builder() {
        return FetchError::Invalid(format!("the request is malformed: {error}"));
    }
    let mut message = error.to_string();
    let mut source = std::error::Error::source(&error);
    while let Some(e) = source {
        message.push_str(": ");
        message.push_str(&e.to_string());
        source = e.source();
    }
    FetchError::Failed(message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn special_addresses_are_named() {
        for (ip, kind) in [
            ("127.0.0.1", "loopback"),
            ("10.1.2.3", "private"),
            ("172.16.0.1", "private"),
            ("192.168.1.1", "private"),
            ("169.254.169.254", "link-local"),
            ("100.64.0.1", "shared"),
            ("0.0.0.0", "unspecified"),
            ("::1", "loopback"),
            ("::ffff:127.0.0.1", "loopback"),
            ("fd00:ec2::254", "private"),
            ("fe80::1", "link-local"),
        ] {
            let ip: IpAddr = ip.parse().expect("ip");
            let found = special_address(ip).unwrap_or("public");
            assert!(found.contains(kind), "{ip}: {found}");
        }
        for public in [
            "93.184.216.34",
            "2606:2800:220:1:248:1893:25c8:1946",
            "1.1.1.1",
        ] {
            assert_eq!(
                special_address(public.parse().expect("ip")),
                None,
                "{public}"
            );
        }
    }

    #[test]
    fn cidr_ranges() {
        let lo = Cidr::parse("127.0.0.0/8").expect("cidr");
        assert!(lo.contains("127.9.9.9".parse().expect("ip")));
        assert!(!lo.contains("128.0.0.1".parse().expect("ip")));
        assert!(!lo.contains("::1".parse().expect("ip")));
        assert!(lo.contains("::ffff:127.0.0.1".parse().expect("ip")));
        assert!(
            Cidr::parse("::1")
                .expect("cidr")
                .contains("::1".parse().expect("ip"))
        );
        assert!(
            Cidr::parse("0.0.0.0/0")
                .expect("cidr")
                .contains("8.8.8.8".parse().expect("ip"))
        );
        for bad in ["10.0.0.0/33", "nope/8", "10.0.0.0/x"] {
            assert!(Cidr::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn urls_are_checked_by_name_and_literal_address() {
        let policy = HttpPolicy {
            origins: vec![
                OriginPattern::parse("https://api.example.com").expect("pattern"),
                OriginPattern::parse("http://127.0.0.1:*").expect("pattern"),
            ],
            allow_private: Vec::new(),
        };
        let url = |s: &str| Url::parse(s).expect("url");
        assert!(
            policy
                .check_url(&url("https://api.example.com/v1?q=1"))
                .is_ok()
        );
        let err = policy
            .check_url(&url("https://evil.example.com/"))
            .expect_err("other host");
        assert!(err.contains("not one of the origins"), "{err}");
        let err = policy
            .check_url(&url("http://127.0.0.1:8080/"))
            .expect_err("loopback literal");
        assert!(err.contains("loopback"), "{err}");
        let err = policy
            .check_url(&url("https://user:pw@api.example.com/"))
            .expect_err("credentials");
        assert!(err.contains("credentials"), "{err}");
        let allowed = HttpPolicy {
            allow_private: vec![Cidr::parse("127.0.0.0/8").expect("cidr")],
            ..policy
        };
        assert!(allowed.check_url(&url("http://127.0.0.1:8080/")).is_ok());
        let v6 = HttpPolicy {
            origins: vec![OriginPattern::parse("http://[::1]:*").expect("pattern")],
            allow_private: vec![Cidr::parse("::1").expect("cidr")],
        };
        assert!(v6.check_url(&url("http://[::1]:8080/")).is_ok());
    }
}
