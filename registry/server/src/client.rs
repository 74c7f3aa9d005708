//! Who a client is, for every limit the registry keeps: the one rule the
//! connection caps, the request rate and the sign-in limits share.
//!
//! The client's address is the connection's peer, or, when
//! [`Config::behind_proxy`](crate::Config::behind_proxy) says a proxy
//! stands in front, the last `X-Forwarded-For` entry (the one the proxy
//! appended; earlier ones are whatever the client claimed). Limits count a
//! client by its **address**: an IPv4 address whole, an IPv6 address by its
//! /64 (one host usually holds a whole /64). Sign-in failures are also
//! counted by **subnet**: IPv4 /24, IPv6 /56 (what one customer of a
//! provider, or one rented server, usually gets), so that an attacker with
//! a handful of neighbouring addresses gains nothing over one address. An
//! IPv4 address written in IPv6 (`::ffff:192.0.2.1`) is the IPv4 address.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use axum::extract::ConnectInfo;
use axum::http::HeaderMap;
use axum::http::request::Parts;

/// A client as the limits see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Client {
    /// The address the client is counted by (IPv6 cut to its /64), or
    /// `None` when the request came without one (only in-process tests
    /// that call the router directly).
    address: Option<IpAddr>,
}

/// Keeps the first `bits` bits of `ip`.
fn network(ip: IpAddr, v4_bits: u32, v6_bits: u32) -> IpAddr {
    match ip.to_canonical() {
        IpAddr::V4(v4) => {
            let mask = u32::MAX.checked_shl(32 - v4_bits).unwrap_or(0);
            IpAddr::V4(Ipv4Addr::from_bits(v4.to_bits() & mask))
        }
        IpAddr::V6(v6) => {
            let mask = u128::MAX.checked_shl(128 - v6_bits).unwrap_or(0);
            IpAddr::V6(Ipv6Addr::from_bits(v6.to_bits() & mask))
        }
    }
}

/// The address `ip` is counted by: IPv4 whole, IPv6 by its /64.
pub(crate) fn address_of(ip: IpAddr) -> IpAddr {
    network(ip, 32, 64)
}

/// The last `X-Forwarded-For` entry, when it is an address.
fn forwarded(headers: &HeaderMap) -> Option<IpAddr> {
    headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .next_back()
        .and_then(|ip| ip.trim().parse::<IpAddr>().ok())
}

impl Client {
    /// The client of a request whose connection came from `peer`.
    pub fn of(peer: Option<IpAddr>, headers: &HeaderMap, behind_proxy: bool) -> Self {
        let ip = if behind_proxy {
            forwarded(headers).or(peer)
        } else {
            peer
        };
        Client {
            address: ip.map(address_of),
        }
    }

    /// The client of a request, from the connection's peer address that
    /// [`serve`](crate::serve) puts in its extensions.
    pub fn of_parts(parts: &Parts, behind_proxy: bool) -> Self {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip());
        Self::of(peer, &parts.headers, behind_proxy)
    }

    /// The address the client is counted by.
    pub fn address(&self) -> Option<IpAddr> {
        self.address
    }

    /// The address as text, for limiter keys and logs: `192.0.2.1`,
    /// `2001:db8:1:2::/64`, or `unknown`.
    pub fn address_key(&self) -> String {
        match self.address {
            Some(IpAddr::V6(ip)) => format!("{ip}/64"),
            Some(ip) => ip.to_string(),
            None => "unknown".to_owned(),
        }
    }

    /// The client's subnet as text: `192.0.2.0/24`, `2001:db8:1::/56`, or
    /// `unknown`.
    pub fn subnet_key(&self) -> String {
        match self.address.map(|ip| network(ip, 24, 56)) {
            Some(IpAddr::V6(ip)) => format!("{ip}/56"),
            Some(ip) => format!("{ip}/24"),
            None => "unknown".to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(peer: Option<&str>, forwarded: Option<&str>, behind_proxy: bool) -> Client {
        let mut headers = HeaderMap::new();
        if let Some(value) = forwarded {
            headers.insert("x-forwarded-for", value.parse().expect("a header value"));
        }
        let peer = peer.map(|p| p.parse::<IpAddr>().expect("an address"));
        Client::of(peer, &headers, behind_proxy)
    }

    #[test]
    fn addresses_and_subnets() {
        for (peer, forwarded, behind_proxy, address, subnet) in [
            (Some("192.0.2.1"), None, false, "192.0.2.1", "192.0.2.0/24"),
            (
                Some("192.0.2.1"),
                Some("203.0.113.9, 198.51.100.7"),
                false,
                "192.0.2.1",
                "192.0.2.0/24",
            ),
            (
                Some("192.0.2.1"),
                Some("203.0.113.9, 198.51.100.7"),
                true,
                "198.51.100.7",
                "198.51.100.0/24",
            ),
            (
                Some("192.0.2.1"),
                Some("not an address"),
                true,
                "192.0.2.1",
                "192.0.2.0/24",
            ),
            (
                Some("2001:db8:1:2:3:4:5:6"),
                None,
                false,
                "2001:db8:1:2::/64",
                "2001:db8:1::/56",
            ),
            (
                Some("2001:db8:1:2ff:3:4:5:6"),
                None,
                false,
                "2001:db8:1:2ff::/64",
                "2001:db8:1:200::/56",
            ),
            (
                Some("::ffff:192.0.2.77"),
                None,
                false,
                "192.0.2.77",
                "192.0.2.0/24",
            ),
            (None, None, false, "unknown", "unknown"),
            (None, Some("192.0.2.5"), true, "192.0.2.5", "192.0.2.0/24"),
        ] {
            let c = client(peer, forwarded, behind_proxy);
            assert_eq!(c.address_key(), address, "{peer:?} {forwarded:?}");
            assert_eq!(c.subnet_key(), subnet, "{peer:?} {forwarded:?}");
        }
    }
}
