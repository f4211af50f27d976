//! The SSRF guard: resolve once, refuse internal addresses unless allow-listed.

use std::collections::HashSet;
use std::net::{IpAddr, SocketAddr};

use apg_core::ComponentError;

/// Whether `ip` is internal: loopback, private, link-local, unspecified, CGNAT, ULA, multicast,
/// documentation or broadcast.
pub(super) fn is_internal(ip: IpAddr) -> bool {
	match ip {
		IpAddr::V4(v4) => {
			let o = v4.octets();
			v4.is_loopback()
				|| v4.is_private()
				|| v4.is_link_local()
				|| v4.is_unspecified()
				|| v4.is_broadcast()
				|| v4.is_multicast()
				|| v4.is_documentation()
				|| (o[0] == 100 && (64..128).contains(&o[1]))
				|| o[0] == 0
		}
		IpAddr::V6(v6) => {
			if let Some(v4) = v6.to_ipv4_mapped() {
				return is_internal(IpAddr::V4(v4));
			}
			let first = v6.segments()[0];
			v6.is_loopback()
				|| v6.is_unspecified()
				|| v6.is_multicast()
				|| (first & 0xfe00) == 0xfc00
				|| (first & 0xffc0) == 0xfe80
		}
	}
}

/// Resolves `host` and returns its addresses, or refuses when one is internal and neither the
/// host nor the address is allow-listed.
pub(super) async fn resolve_checked(
	host: &str,
	port: u16,
	allow: &HashSet<String>,
) -> Result<Vec<SocketAddr>, ComponentError> {
	let host_key = host
		.trim_start_matches('[')
		.trim_end_matches(']')
		.to_lowercase();
	let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host_key.as_str(), port))
		.await
		.map_err(|e| ComponentError::Retryable(format!("cannot resolve {host}: {e}")))?
		.collect();
	if addrs.is_empty() {
		return Err(ComponentError::Retryable(format!("{host} has no address")));
	}
	let allowed = |a: &SocketAddr| {
		allow.contains("*") || allow.contains(&host_key) || allow.contains(&a.ip().to_string())
	};
	if let Some(bad) = addrs.iter().find(|a| is_internal(a.ip()) && !allowed(a)) {
		return Err(ComponentError::Fatal(format!(
			"refused: {host} resolves to the internal address {} (allow it with APG_HTTP_ALLOW)",
			bad.ip()
		)));
	}
	Ok(addrs)
}
