//! Which address a request comes from: the TCP peer's, unless the peer is a trusted proxy
//! (`trusted_proxies`), in which case it is the right-most `X-Forwarded-For` entry that is not a
//! trusted proxy itself. Anyone can send `X-Forwarded-For`, so only the proxies named in the
//! configuration are believed, and only for the hops they appended (the right end of the list);
//! entries further left were written by the client and are never used. The login throttle and the
//! audit log see this address; the connection caps count the TCP peer.

use std::collections::HashSet;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use anyhow::Context;
use axum::http::HeaderMap;

/// The proxies whose `X-Forwarded-For` is believed.
#[derive(Clone, Debug, Default)]
pub(crate) struct TrustedProxies(Arc<HashSet<IpAddr>>);

impl TrustedProxies {
	/// Parses a comma-separated list of IP addresses (`APG_TRUSTED_PROXIES=10.0.0.5,10.0.0.6`).
	pub(crate) fn parse(text: &str) -> anyhow::Result<Self> {
		let mut set = HashSet::new();
		for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
			let ip: IpAddr = part
				.parse()
				.with_context(|| format!("trusted_proxies: '{part}' is not an IP address"))?;
			set.insert(ip);
		}
		Ok(Self(Arc::new(set)))
	}

	/// The client of a request from `peer` with `headers`.
	pub(crate) fn client(&self, peer: SocketAddr, headers: &HeaderMap) -> SocketAddr {
		if !self.0.contains(&peer.ip()) {
			return peer;
		}
		// Every X-Forwarded-For header, in order, as one list; walk it from the right.
		let hops: Vec<&str> = headers
			.get_all("x-forwarded-for")
			.iter()
			.filter_map(|v| v.to_str().ok())
			.flat_map(|v| v.split(','))
			.map(str::trim)
			.collect();
		for hop in hops.iter().rev() {
			match hop.parse::<IpAddr>() {
				Ok(ip) if self.0.contains(&ip) => continue,
				Ok(ip) => return SocketAddr::new(ip, 0),
				// Garbage where a proxy should have written an address: keep the proxy's own.
				Err(_) => return peer,
			}
		}
		peer
	}

	/// Whether the client of a request from `peer` came over TLS. This server has no TLS
	/// listener, so only a trusted proxy can say so: by the right-most `X-Forwarded-Proto`
	/// value (the one it wrote, as with `X-Forwarded-For`). Anyone else's header is ignored.
	pub(crate) fn https(&self, peer: SocketAddr, headers: &HeaderMap) -> bool {
		if !self.0.contains(&peer.ip()) {
			return false;
		}
		headers
			.get_all("x-forwarded-proto")
			.iter()
			.filter_map(|v| v.to_str().ok())
			.flat_map(|v| v.split(','))
			.map(str::trim)
			.next_back()
			.is_some_and(|proto| proto.eq_ignore_ascii_case("https"))
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	fn headers(values: &[&str]) -> HeaderMap {
		let mut h = HeaderMap::new();
		for v in values {
			h.append("x-forwarded-for", v.parse().unwrap());
		}
		h
	}

	#[test]
	fn only_a_trusted_peer_is_believed_and_only_for_the_hops_it_appended() {
		let proxies = TrustedProxies::parse("10.0.0.5, 10.0.0.6").unwrap();
		let proxy: SocketAddr = "10.0.0.5:4000".parse().unwrap();
		let stranger: SocketAddr = "192.0.2.9:4000".parse().unwrap();
		let ip = |a: SocketAddr| a.ip().to_string();
		assert_eq!(
			ip(proxies.client(stranger, &headers(&["203.0.113.1"]))),
			"192.0.2.9"
		);
		assert_eq!(
			ip(proxies.client(proxy, &headers(&["203.0.113.1"]))),
			"203.0.113.1"
		);
		// The client's own claim (left) is not taken; the hop the proxies recorded is.
		let chain = headers(&["1.1.1.1, 203.0.113.1", "10.0.0.6"]);
		assert_eq!(ip(proxies.client(proxy, &chain)), "203.0.113.1");
		assert_eq!(
			ip(proxies.client(proxy, &headers(&["not-an-ip"]))),
			"10.0.0.5"
		);
		assert_eq!(ip(proxies.client(proxy, &HeaderMap::new())), "10.0.0.5");
		assert!(TrustedProxies::parse("10.0.0.5, nope").is_err());
	}

	#[test]
	fn only_a_trusted_peer_says_the_client_came_over_tls() {
		let proxies = TrustedProxies::parse("10.0.0.5").unwrap();
		let proxy: SocketAddr = "10.0.0.5:4000".parse().unwrap();
		let stranger: SocketAddr = "192.0.2.9:4000".parse().unwrap();
		let proto = |v: &str| {
			let mut h = HeaderMap::new();
			h.append("x-forwarded-proto", v.parse().unwrap());
			h
		};
		assert!(proxies.https(proxy, &proto("https")));
		assert!(!proxies.https(stranger, &proto("https")));
		// The proxy's own hop is the right-most: what the client wrote before it is not.
		assert!(!proxies.https(proxy, &proto("https, http")));
		assert!(!proxies.https(proxy, &HeaderMap::new()));
	}
}
