//! Which IP addresses a component may connect to (`http_request`, `database_query`, `email`):
//! one table row per special-purpose range of the IANA IPv4 and IPv6 Special-Purpose Address
//! Registries (RFC 6890), plus the few ranges outside them that matter here (multicast, deprecated
//! site-local and IPv4-compatible forms), each with its registry name and what it means for a
//! request.
//!
//! Why a table: the SSRF guard was a chain of `is_loopback() || is_private() || …` that missed
//! whatever the chain did not name (`198.18.0.0/15`, `240.0.0.0/4`, NAT64, 6to4, …). With every
//! registry row written down, an address is looked up by longest prefix, a range nobody thought
//! about falls under a default row (IPv6 outside `2000::/3` is refused), and the tests walk the
//! table row by row.
//!
//! The policy: only ordinary public unicast is allowed. Every special-purpose range is refused,
//! even those the registry marks "globally reachable": those are anycast services (PCP, TURN,
//! AS112, AMT) answered by the *nearest* server, which is often the caller's own router or
//! resolver. A range that carries an IPv4 address inside an IPv6 one (IPv4-mapped, NAT64's
//! well-known prefix, 6to4, Teredo) is as internal as the IPv4 address it leads to, because the
//! packet ends there; deprecated embeddings (IPv4-compatible `::a.b.c.d`, SIIT's
//! `::ffff:0:a.b.c.d`, and NAT64's local-use `64:ff9b:1::/48`, which leads to a local
//! translator) are refused whatever they embed: nothing legitimate uses them.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// What a range means for a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Verdict {
	/// Ordinary public unicast: allowed.
	Allowed,
	/// Refused, whatever the host is called.
	Refused,
	/// As internal as the IPv4 address(es) embedded this way.
	Embeds(Embedding),
}

/// Where an IPv6 range carries an IPv4 address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Embedding {
	/// The low 32 bits (IPv4-mapped, NAT64 well-known prefix).
	Low32,
	/// Bits 16 to 48 (6to4, RFC 3056).
	SixToFour,
	/// The Teredo server in bits 32 to 64 and the client, XOR-obfuscated, in the low 32 bits
	/// (RFC 4380): the packet reaches both.
	Teredo,
}

/// One row: `net/len`, its registry name, and its verdict.
#[derive(Debug)]
pub(super) struct Range<A> {
	pub(super) net: A,
	pub(super) len: u8,
	pub(super) name: &'static str,
	pub(super) verdict: Verdict,
}

const fn v4(net: [u8; 4], len: u8, name: &'static str, verdict: Verdict) -> Range<Ipv4Addr> {
	Range {
		net: Ipv4Addr::new(net[0], net[1], net[2], net[3]),
		len,
		name,
		verdict,
	}
}

const fn v6(net: [u16; 8], len: u8, name: &'static str, verdict: Verdict) -> Range<Ipv6Addr> {
	let [a, b, c, d, e, f, g, h] = net;
	Range {
		net: Ipv6Addr::new(a, b, c, d, e, f, g, h),
		len,
		name,
		verdict,
	}
}

use Embedding::{Low32, SixToFour, Teredo};
use Verdict::{Allowed, Embeds, Refused};

/// The IPv4 rows (the IANA IPv4 Special-Purpose Address Registry, and multicast).
pub(super) static V4: &[Range<Ipv4Addr>] = &[
	v4([0, 0, 0, 0], 0, "public unicast", Allowed),
	v4([0, 0, 0, 0], 8, "\"This network\" (RFC 791)", Refused),
	v4(
		[0, 0, 0, 0],
		32,
		"\"This host on this network\" (RFC 1122)",
		Refused,
	),
	v4([10, 0, 0, 0], 8, "Private-Use (RFC 1918)", Refused),
	v4(
		[100, 64, 0, 0],
		10,
		"Shared Address Space (RFC 6598)",
		Refused,
	),
	v4([127, 0, 0, 0], 8, "Loopback (RFC 1122)", Refused),
	v4([169, 254, 0, 0], 16, "Link Local (RFC 3927)", Refused),
	v4([172, 16, 0, 0], 12, "Private-Use (RFC 1918)", Refused),
	v4(
		[192, 0, 0, 0],
		24,
		"IETF Protocol Assignments (RFC 6890)",
		Refused,
	),
	v4(
		[192, 0, 0, 0],
		29,
		"IPv4 Service Continuity Prefix (RFC 7335)",
		Refused,
	),
	v4([192, 0, 0, 8], 32, "IPv4 dummy address (RFC 7600)", Refused),
	v4(
		[192, 0, 0, 9],
		32,
		"Port Control Protocol Anycast (RFC 7723)",
		Refused,
	),
	v4(
		[192, 0, 0, 10],
		32,
		"Traversal Using Relays around NAT Anycast (RFC 8155)",
		Refused,
	),
	v4(
		[192, 0, 0, 170],
		32,
		"NAT64/DNS64 Discovery (RFC 7050)",
		Refused,
	),
	v4(
		[192, 0, 0, 171],
		32,
		"NAT64/DNS64 Discovery (RFC 7050)",
		Refused,
	),
	v4(
		[192, 0, 2, 0],
		24,
		"Documentation (TEST-NET-1, RFC 5737)",
		Refused,
	),
	v4([192, 31, 196, 0], 24, "AS112-v4 (RFC 7535)", Refused),
	v4([192, 52, 193, 0], 24, "AMT (RFC 7450)", Refused),
	v4(
		[192, 88, 99, 0],
		24,
		"Deprecated (6to4 Relay Anycast, RFC 7526)",
		Refused,
	),
	v4([192, 168, 0, 0], 16, "Private-Use (RFC 1918)", Refused),
	v4(
		[192, 175, 48, 0],
		24,
		"Direct Delegation AS112 Service (RFC 7534)",
		Refused,
	),
	v4([198, 18, 0, 0], 15, "Benchmarking (RFC 2544)", Refused),
	v4(
		[198, 51, 100, 0],
		24,
		"Documentation (TEST-NET-2, RFC 5737)",
		Refused,
	),
	v4(
		[203, 0, 113, 0],
		24,
		"Documentation (TEST-NET-3, RFC 5737)",
		Refused,
	),
	v4([224, 0, 0, 0], 4, "Multicast (RFC 5771)", Refused),
	v4([240, 0, 0, 0], 4, "Reserved (RFC 1112)", Refused),
	v4(
		[255, 255, 255, 255],
		32,
		"Limited Broadcast (RFC 919)",
		Refused,
	),
];

/// The IPv6 rows (the IANA IPv6 Special-Purpose Address Registry, multicast, and the deprecated
/// forms still parsed everywhere).
pub(super) static V6: &[Range<Ipv6Addr>] = &[
	v6(
		[0, 0, 0, 0, 0, 0, 0, 0],
		0,
		"not global unicast (outside 2000::/3, RFC 4291)",
		Refused,
	),
	v6(
		[0x2000, 0, 0, 0, 0, 0, 0, 0],
		3,
		"Global Unicast (RFC 4291)",
		Allowed,
	),
	v6(
		[0, 0, 0, 0, 0, 0, 0, 0],
		128,
		"Unspecified Address (RFC 4291)",
		Refused,
	),
	v6(
		[0, 0, 0, 0, 0, 0, 0, 1],
		128,
		"Loopback Address (RFC 4291)",
		Refused,
	),
	v6(
		[0, 0, 0, 0, 0, 0, 0, 0],
		96,
		"IPv4-compatible, deprecated (RFC 4291)",
		Refused,
	),
	v6(
		[0, 0, 0, 0, 0, 0xffff, 0, 0],
		96,
		"IPv4-mapped Address (RFC 4291)",
		Embeds(Low32),
	),
	v6(
		[0, 0, 0, 0, 0xffff, 0, 0, 0],
		96,
		"IPv4-translated (SIIT), deprecated (RFC 2765)",
		Refused,
	),
	v6(
		[0x64, 0xff9b, 0, 0, 0, 0, 0, 0],
		96,
		"IPv4-IPv6 Translat. (RFC 6052)",
		Embeds(Low32),
	),
	v6(
		[0x64, 0xff9b, 1, 0, 0, 0, 0, 0],
		48,
		"IPv4-IPv6 Translat., local-use (RFC 8215)",
		Refused,
	),
	v6(
		[0x100, 0, 0, 0, 0, 0, 0, 0],
		64,
		"Discard-Only Address Block (RFC 6666)",
		Refused,
	),
	v6(
		[0x100, 0, 0, 1, 0, 0, 0, 0],
		64,
		"Dummy IPv6 Prefix (RFC 9780)",
		Refused,
	),
	v6(
		[0x2001, 0, 0, 0, 0, 0, 0, 0],
		23,
		"IETF Protocol Assignments (RFC 2928)",
		Refused,
	),
	v6(
		[0x2001, 0, 0, 0, 0, 0, 0, 0],
		32,
		"TEREDO (RFC 4380)",
		Embeds(Teredo),
	),
	v6(
		[0x2001, 1, 0, 0, 0, 0, 0, 1],
		128,
		"Port Control Protocol Anycast (RFC 7723)",
		Refused,
	),
	v6(
		[0x2001, 1, 0, 0, 0, 0, 0, 2],
		128,
		"Traversal Using Relays around NAT Anycast (RFC 8155)",
		Refused,
	),
	v6(
		[0x2001, 1, 0, 0, 0, 0, 0, 3],
		128,
		"DNS-SD Service Registration Protocol Anycast (RFC 9665)",
		Refused,
	),
	v6(
		[0x2001, 2, 0, 0, 0, 0, 0, 0],
		48,
		"Benchmarking (RFC 5180)",
		Refused,
	),
	v6([0x2001, 3, 0, 0, 0, 0, 0, 0], 32, "AMT (RFC 7450)", Refused),
	v6(
		[0x2001, 4, 0x112, 0, 0, 0, 0, 0],
		48,
		"AS112-v6 (RFC 7535)",
		Refused,
	),
	v6(
		[0x2001, 0x10, 0, 0, 0, 0, 0, 0],
		28,
		"Deprecated (previously ORCHID, RFC 4843)",
		Refused,
	),
	v6(
		[0x2001, 0x20, 0, 0, 0, 0, 0, 0],
		28,
		"ORCHIDv2 (RFC 7343)",
		Refused,
	),
	v6(
		[0x2001, 0x30, 0, 0, 0, 0, 0, 0],
		28,
		"Drone Remote ID Protocol Entity Tags (DETs) Prefix (RFC 9374)",
		Refused,
	),
	v6(
		[0x2001, 0xdb8, 0, 0, 0, 0, 0, 0],
		32,
		"Documentation (RFC 3849)",
		Refused,
	),
	v6(
		[0x2002, 0, 0, 0, 0, 0, 0, 0],
		16,
		"6to4 (RFC 3056)",
		Embeds(SixToFour),
	),
	v6(
		[0x2620, 0x4f, 0x8000, 0, 0, 0, 0, 0],
		48,
		"Direct Delegation AS112 Service (RFC 7534)",
		Refused,
	),
	v6(
		[0x3fff, 0, 0, 0, 0, 0, 0, 0],
		20,
		"Documentation (RFC 9637)",
		Refused,
	),
	v6(
		[0x5f00, 0, 0, 0, 0, 0, 0, 0],
		16,
		"Segment Routing (SRv6) SIDs (RFC 9602)",
		Refused,
	),
	v6(
		[0xfc00, 0, 0, 0, 0, 0, 0, 0],
		7,
		"Unique-Local (RFC 4193)",
		Refused,
	),
	v6(
		[0xfe80, 0, 0, 0, 0, 0, 0, 0],
		10,
		"Link-Local Unicast (RFC 4291)",
		Refused,
	),
	v6(
		[0xfec0, 0, 0, 0, 0, 0, 0, 0],
		10,
		"Site-Local, deprecated (RFC 3879)",
		Refused,
	),
	v6(
		[0xff00, 0, 0, 0, 0, 0, 0, 0],
		8,
		"Multicast (RFC 4291)",
		Refused,
	),
];

/// Whether `addr` (of `BITS` bits) lies in `net/len`.
fn within<const BITS: u32>(addr: u128, net: u128, len: u8) -> bool {
	let len = u32::from(len);
	// A /0 matches everything (and a shift by the full width would overflow).
	len == 0 || (addr ^ net) >> (BITS - len) == 0
}

/// The most specific IPv4 row holding `ip` (the `/0` row holds everything).
pub(super) fn row_v4(ip: Ipv4Addr) -> &'static Range<Ipv4Addr> {
	let bits = u128::from(u32::from(ip));
	V4.iter()
		.filter(|r| within::<32>(bits, u128::from(u32::from(r.net)), r.len))
		.max_by_key(|r| r.len)
		.unwrap_or(&V4[0])
}

/// The most specific IPv6 row holding `ip` (the `/0` row holds everything).
pub(super) fn row_v6(ip: Ipv6Addr) -> &'static Range<Ipv6Addr> {
	let bits = ip.to_bits();
	V6.iter()
		.filter(|r| within::<128>(bits, r.net.to_bits(), r.len))
		.max_by_key(|r| r.len)
		.unwrap_or(&V6[0])
}

/// The IPv4 addresses `ip` leads to, embedded as `how` says.
pub(super) fn embedded(ip: Ipv6Addr, how: Embedding) -> Vec<Ipv4Addr> {
	let bits = ip.to_bits();
	// Truncation is the point: each cast keeps exactly the 32 bits of one embedded address.
	let at = |shift: u32| Ipv4Addr::from((bits >> shift) as u32);
	match how {
		Low32 => vec![at(0)],
		SixToFour => vec![at(80)],
		Teredo => vec![at(64), Ipv4Addr::from(!(bits as u32))],
	}
}

/// Why `ip` is refused (its registry row, and the embedded address that decided), or `None` when
/// it may be called.
pub(super) fn refusal(ip: IpAddr) -> Option<String> {
	match ip {
		IpAddr::V4(v4) => {
			let row = row_v4(v4);
			(row.verdict != Allowed).then(|| format!("{v4} is {}", row.name))
		}
		IpAddr::V6(v6) => {
			let row = row_v6(v6);
			match row.verdict {
				Allowed => None,
				Refused => Some(format!("{v6} is {}", row.name)),
				Embeds(how) => embedded(v6, how).into_iter().find_map(|inner| {
					refusal(IpAddr::V4(inner))
						.map(|why| format!("{v6} is {}, which leads to {why}", row.name))
				}),
			}
		}
	}
}

#[cfg(test)]
mod tests;
