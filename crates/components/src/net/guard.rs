//! The SSRF guard: resolve once, refuse internal addresses unless allow-listed. What counts as
//! internal is the table in [`super::ranges`]; this module owns resolving a host and applying
//! the allow-list.

use std::collections::HashSet;
use std::net::{IpAddr, SocketAddr};

use apg_core::ComponentError;

use super::ranges;

/// Hosts or IP addresses that may be reached although internal (`*`: all), as configured in
/// `components.http_allow` / `APG_HTTP_ALLOW` (the name predates the other network components;
/// one list for every peer, so allowing a host is one decision).
#[derive(Clone, Debug, Default)]
pub(crate) struct AllowList(HashSet<String>);

impl AllowList {
	/// The list from configured entries (trimmed, lowercased, empty ones dropped).
	pub(crate) fn new(entries: impl IntoIterator<Item = String>) -> Self {
		Self(
			entries
				.into_iter()
				.map(|h| h.trim().to_lowercase())
				.filter(|h| !h.is_empty())
				.collect(),
		)
	}

	fn allows(&self, host_key: &str, addr: &SocketAddr) -> bool {
		self.0.contains("*") || self.0.contains(host_key) || self.0.contains(&addr.ip().to_string())
	}
}

/// Resolves `host` (as the URL parser wrote it) and returns its addresses, or refuses when one is
/// internal and neither the host nor the address is allow-listed. The caller connects to exactly
/// these addresses (no second lookup, so DNS rebinding cannot slip past).
pub(crate) async fn resolve_checked(
	host: &str,
	port: u16,
	allow: &AllowList,
) -> Result<Vec<SocketAddr>, ComponentError> {
	let host_key = host
		.trim_start_matches('[')
		.trim_end_matches(']')
		.to_lowercase();
	// The URL parser already rewrote every spelling of an address (`2130706433`, `0177.0.0.1`,
	// `127.1`, `[::ffff:7f00:1]`) to its canonical form, so a literal is taken as it is and
	// never handed to the system resolver, whose own notion of what an address looks like
	// could differ.
	let addrs: Vec<SocketAddr> = match host_key.parse::<IpAddr>() {
		Ok(ip) => vec![SocketAddr::new(ip, port)],
		Err(_) => tokio::net::lookup_host((host_key.as_str(), port))
			.await
			.map_err(|e| ComponentError::Retryable(format!("cannot resolve {host}: {e}")))?
			.collect(),
	};
	if addrs.is_empty() {
		return Err(ComponentError::Retryable(format!("{host} has no address")));
	}
	for a in &addrs {
		if allow.allows(&host_key, a) {
			continue;
		}
		if let Some(why) = ranges::refusal(a.ip()) {
			return Err(ComponentError::Fatal(format!(
				"refused: {host} resolves to an internal address: {why} (allow it with \
				 APG_HTTP_ALLOW or components.http_allow)"
			)));
		}
	}
	Ok(addrs)
}
