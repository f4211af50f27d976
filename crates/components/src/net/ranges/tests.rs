use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::*;

const INTERNAL: Ipv4Addr = Ipv4Addr::new(10, 1, 2, 3);
const PUBLIC: Ipv4Addr = Ipv4Addr::new(8, 8, 8, 8);

fn refused(ip: &str) -> bool {
	refusal(ip.parse().unwrap()).is_some()
}

/// Addresses of `net/len` worth trying: a row's own addresses are those no more specific row
/// takes, and any of these may be the one.
fn samples(net: u128, len: u8, bits: u32) -> Vec<u128> {
	let host = (u128::MAX >> (128 - bits))
		.checked_shr(u32::from(len))
		.unwrap_or(0);
	[
		net,
		net + 1,
		net | (host / 3),
		net | (host >> 1),
		net | (host / 3 * 2),
		net | host,
	]
	.into_iter()
	.filter(|a| *a <= net | host)
	.collect()
}

/// `net` with `inner` embedded as `how` says.
fn embed(net: Ipv6Addr, how: Embedding, server: Ipv4Addr, client: Ipv4Addr) -> Ipv6Addr {
	let net = net.to_bits();
	let bits = match how {
		Embedding::Low32 => net | u128::from(u32::from(client)),
		Embedding::SixToFour => net | (u128::from(u32::from(client)) << 80),
		Embedding::Teredo => {
			net | (u128::from(u32::from(server)) << 64) | u128::from(!u32::from(client))
		}
	};
	Ipv6Addr::from_bits(bits)
}

#[test]
fn rows_are_well_formed_and_unique() {
	for (i, r) in V4.iter().enumerate() {
		let host = u32::MAX.checked_shr(u32::from(r.len)).unwrap_or(0);
		assert_eq!(u32::from(r.net) & host, 0, "{} has host bits", r.name);
		assert!(
			!V4[..i].iter().any(|o| o.net == r.net && o.len == r.len),
			"{} twice",
			r.name
		);
	}
	for (i, r) in V6.iter().enumerate() {
		let host = u128::MAX.checked_shr(u32::from(r.len)).unwrap_or(0);
		assert_eq!(r.net.to_bits() & host, 0, "{} has host bits", r.name);
		assert!(
			!V6[..i].iter().any(|o| o.net == r.net && o.len == r.len),
			"{} twice",
			r.name
		);
	}
}

#[test]
fn every_ipv4_row_decides_its_own_addresses() {
	for r in V4 {
		let own: Vec<Ipv4Addr> = samples(u128::from(u32::from(r.net)), r.len, 32)
			.into_iter()
			.map(|a| Ipv4Addr::from(a as u32))
			.filter(|a| std::ptr::eq(row_v4(*a), r))
			.collect();
		assert!(!own.is_empty(), "{} is shadowed by other rows", r.name);
		for ip in own {
			let why = refusal(IpAddr::V4(ip));
			match r.verdict {
				Verdict::Allowed => assert_eq!(why, None, "{ip} ({})", r.name),
				Verdict::Refused => {
					let why = why.unwrap_or_else(|| panic!("{ip} ({}) allowed", r.name));
					assert!(why.contains(r.name), "{why}");
				}
				Verdict::Embeds(_) => panic!("an IPv4 row embeds nothing: {}", r.name),
			}
		}
	}
}

#[test]
fn every_ipv6_row_decides_its_own_addresses() {
	for r in V6 {
		let own: Vec<Ipv6Addr> = samples(r.net.to_bits(), r.len, 128)
			.into_iter()
			.map(Ipv6Addr::from_bits)
			.filter(|a| std::ptr::eq(row_v6(*a), r))
			.collect();
		assert!(!own.is_empty(), "{} is shadowed by other rows", r.name);
		match r.verdict {
			Verdict::Allowed => {
				for ip in own {
					assert_eq!(refusal(IpAddr::V6(ip)), None, "{ip} ({})", r.name);
				}
			}
			Verdict::Refused => {
				for ip in own {
					let why = refusal(IpAddr::V6(ip))
						.unwrap_or_else(|| panic!("{ip} ({}) allowed", r.name));
					assert!(why.contains(r.name), "{why}");
				}
			}
			// An embedding row is as internal as what it leads to: every place an address hides
			// in it counts.
			Verdict::Embeds(how) => {
				let ok = embed(r.net, how, PUBLIC, PUBLIC);
				assert!(std::ptr::eq(row_v6(ok), r), "{ok}");
				assert_eq!(refusal(IpAddr::V6(ok)), None, "{ok} ({})", r.name);
				for (server, client) in [(INTERNAL, INTERNAL), (PUBLIC, INTERNAL)] {
					let bad = embed(r.net, how, server, client);
					let why = refusal(IpAddr::V6(bad))
						.unwrap_or_else(|| panic!("{bad} ({}) allowed", r.name));
					assert!(why.contains(r.name) && why.contains("Private-Use"), "{why}");
				}
				if how == Embedding::Teredo {
					let bad = embed(r.net, how, INTERNAL, PUBLIC);
					assert!(refusal(IpAddr::V6(bad)).is_some(), "{bad}");
				}
			}
		}
	}
}

/// The registry's ranges, written out independently of the table: the first and last address
/// of each, and the spellings issue 9 found getting through.
#[test]
fn every_special_purpose_range_and_every_reported_bypass_is_refused() {
	for ip in [
		// IPv4 Special-Purpose Address Registry.
		"0.0.0.0",
		"0.255.255.255",
		"10.0.0.0",
		"10.255.255.255",
		"100.64.0.0",
		"100.127.255.255",
		"127.0.0.1",
		"127.255.255.255",
		"169.254.0.0",
		"169.254.169.254",
		"172.16.0.0",
		"172.31.255.255",
		"192.0.0.0",
		"192.0.0.9",
		"192.0.0.10",
		"192.0.0.170",
		"192.0.0.255",
		"192.0.2.1",
		"192.31.196.1",
		"192.52.193.1",
		"192.88.99.1",
		"192.168.0.1",
		"192.168.255.255",
		"192.175.48.1",
		"198.18.0.0",
		"198.18.0.1",
		"198.19.255.255",
		"198.51.100.1",
		"203.0.113.1",
		"224.0.0.1",
		"239.255.255.255",
		"240.0.0.0",
		"240.0.0.1",
		"255.255.255.254",
		"255.255.255.255",
		// IPv6 Special-Purpose Address Registry.
		"::",
		"::1",
		"::ffff:127.0.0.1",
		"::ffff:7f00:1",
		"::ffff:10.0.0.1",
		"::ffff:0:127.0.0.1",
		"::ffff:0:8.8.8.8",
		"::127.0.0.1",
		"::8.8.8.8",
		"64:ff9b::127.0.0.1",
		"64:ff9b::10.0.0.1",
		"64:ff9b::a9fe:a9fe",
		"64:ff9b:1::1",
		"64:ff9b:1::808:808",
		"100::1",
		"100::ffff:ffff:ffff:ffff",
		"2001::1",
		"2001:1::1",
		"2001:1::2",
		"2001:2::1",
		"2001:3::1",
		"2001:4:112::1",
		"2001:10::1",
		"2001:20::1",
		"2001:1ff:ffff::1",
		"2001:db8::1",
		"2002:7f00:1::",
		"2002:a00:1::1",
		"2002:c0a8:101::1",
		"2002:a9fe:a9fe::1",
		"2620:4f:8000::1",
		"3fff::1",
		"5f00::1",
		"fc00::1",
		"fd00::1",
		"fe80::1",
		"febf::1",
		"fec0::1",
		"feff::1",
		"ff02::1",
		"ff0e::1",
		// Teredo: server 65.54.227.120, client 127.0.0.1 (XOR ffff:ffff).
		"2001:0:4136:e378:8000:63bf:80ff:fffe",
		// Teredo: server 10.0.0.1, client 8.8.8.8.
		"2001:0:a00:1:8000:63bf:f7f7:f7f7",
		// Outside 2000::/3 and nothing else.
		"4000::1",
		"e000::1",
	] {
		assert!(refused(ip), "{ip} is allowed");
	}
	for ip in [
		"8.8.8.8",
		"1.1.1.1",
		"100.63.255.255",
		"100.128.0.0",
		"172.15.255.255",
		"172.32.0.0",
		"192.0.1.1",
		"198.17.255.255",
		"198.20.0.0",
		"223.255.255.255",
		"2606:4700:4700::1111",
		"2a00:1450:4001::1",
		"::ffff:8.8.8.8",
		"64:ff9b::8.8.8.8",
		"2002:808:808::1",
		"2001:0:4136:e378:8000:63bf:f7f7:f7f7",
		"2001:200::1",
	] {
		assert!(!refused(ip), "{ip} is refused");
	}
}

#[test]
fn a_refusal_names_the_range_and_what_an_address_embeds() {
	let why = refusal("2002:a00:1::1".parse().unwrap()).unwrap();
	assert!(
		why.contains("6to4") && why.contains("10.0.0.1 is Private-Use"),
		"{why}"
	);
	let why = refusal("198.18.0.1".parse().unwrap()).unwrap();
	assert!(why.contains("Benchmarking"), "{why}");
}
