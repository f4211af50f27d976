//! Guessing spread out (issue 9): many client addresses against one account, one address against
//! many accounts, `X-Forwarded-For` not believed, lock-outs that end; and a flood of
//! unauthenticated requests with 60 kB paths adding a bounded number of small audit rows.
//! Clients bind to other loopback addresses (all of 127.0.0.0/8 reaches the server on Linux),
//! so the server sees real, distinct peers.

use std::net::IpAddr;

use futures_util::StreamExt;

use super::*;

/// A client whose connections come from `ip`.
fn from(ip: &str) -> reqwest::Client {
	reqwest::Client::builder()
		.local_address(ip.parse::<IpAddr>().unwrap())
		.build()
		.unwrap()
}

async fn login(server: &Server, who: &reqwest::Client, name: &str, password: &str) -> (u16, Value) {
	let r = who
		.post(server.url("/api/v1/auth/login"))
		.json(&json!({"username": name, "password": password}))
		.send()
		.await
		.unwrap();
	let code = r.status().as_u16();
	(code, r.json().await.unwrap())
}

/// A 429 in the envelope, and how many seconds it says to wait.
fn throttled(code: u16, body: &Value) -> u64 {
	assert_eq!(code, 429, "{body}");
	assert_eq!(body["success"], false, "{body}");
	assert_eq!(body["category"], "performance", "{body}");
	assert_eq!(body["retry_suggested"], true, "{body}");
	let error = body["error"].as_str().unwrap();
	error
		.split("try again in ")
		.nth(1)
		.and_then(|rest| rest.split(' ').next())
		.and_then(|n| n.parse().ok())
		.unwrap_or_else(|| panic!("no wait in {error}"))
}

async fn many_addresses_against_one_account(server: Server) {
	let admin = admin_client(&server.base).await;
	// `account` logs Vic in once from 127.0.0.1: an address she is known at.
	let _vic = account(&server, &admin, "vic", "viewer").await;
	let mut codes = Vec::new();
	let mut wait = 0;
	for i in 0..14 {
		let (code, body) = login(
			&server,
			&from(&format!("127.0.0.{}", 10 + i)),
			"vic",
			"guess",
		)
		.await;
		if code == 429 {
			wait = throttled(code, &body);
		} else {
			assert_eq!(code, 401, "{body}");
		}
		codes.push(code);
	}
	assert_eq!(&codes[..10], &[401; 10], "{codes:?}");
	assert_eq!(&codes[10..], &[429; 4], "the account is locked: {codes:?}");
	assert!(
		(1..=16).contains(&wait),
		"a first lock-out is short: {wait} s"
	);
	// Even the right password waits, from an address Vic never used, whatever its case…
	for (ip, name) in [("127.0.0.40", "vic"), ("127.0.0.41", "VIC")] {
		let (code, body) = login(&server, &from(ip), name, "vic-password-1").await;
		throttled(code, &body);
	}
	// …but where she logged in before she gets in, lock-out or not.
	let (code, body) = login(&server, &from("127.0.0.1"), "vic", "vic-password-1").await;
	assert_eq!(code, 200, "{body}");
	// Once the lock-out is over, a new address logs in.
	tokio::time::sleep(Duration::from_secs(wait + 1)).await;
	let (code, body) = login(&server, &from("127.0.0.42"), "vic", "vic-password-1").await;
	assert_eq!(code, 200, "{body}");
	// The failures are audited with the addresses they came from.
	let audit: Value = get_json(
		&admin,
		server.url("/api/v1/audit?action=auth.login&outcome=denied&limit=100"),
	)
	.await;
	let clients: std::collections::BTreeSet<&str> = audit["data"]
		.as_array()
		.unwrap()
		.iter()
		.filter_map(|r| r["details"]["client"].as_str())
		.collect();
	assert!(clients.len() >= 14, "{clients:?}");
}

async fn one_address_against_many_accounts(server: Server) {
	let admin = admin_client(&server.base).await;
	for name in ["sam", "sue"] {
		account(&server, &admin, name, "viewer").await;
	}
	let sprayer = from("127.0.0.60");
	let mut codes = Vec::new();
	for i in 0..30 {
		// Real accounts among made-up ones, one common password for all.
		let name = match i {
			3 => "sam".to_owned(),
			7 => "sue".to_owned(),
			_ => format!("user{i}"),
		};
		let (code, body) = login(&server, &sprayer, &name, "Summer2024!").await;
		if code == 429 {
			throttled(code, &body);
		}
		codes.push(code);
	}
	assert_eq!(&codes[..20], &[401; 20], "{codes:?}");
	assert_eq!(&codes[20..], &[429; 10], "the address is locked: {codes:?}");
	// From there even a right password for an account it never logged in to waits…
	let (code, body) = login(&server, &sprayer, "sam", "sam-password-1").await;
	throttled(code, &body);
	// …and claiming another address changes nothing: X-Forwarded-For is not believed.
	for header in ["x-forwarded-for", "x-real-ip", "forwarded"] {
		let value = if header == "forwarded" {
			"for=10.9.8.7"
		} else {
			"10.9.8.7"
		};
		let r = sprayer
			.post(server.url("/api/v1/auth/login"))
			.header(header, value)
			.json(&json!({"username": "user99", "password": "Summer2024!"}))
			.send()
			.await
			.unwrap();
		let code = r.status().as_u16();
		throttled(code, &r.json().await.unwrap());
	}
	// Other addresses are not affected; sam's account took one failure and still logs in.
	let (code, body) = login(&server, &from("127.0.0.61"), "sam", "sam-password-1").await;
	assert_eq!(code, 200, "{body}");
}

async fn a_flood_of_refusals_adds_few_small_rows(server: Server) {
	let admin = admin_client(&server.base).await;
	let denied = server.url("/api/v1/audit?action=auth.authenticate&outcome=denied&limit=500");
	let before = get_json(&admin, &denied).await["data"]
		.as_array()
		.unwrap()
		.len();
	let long = "a".repeat(60_000);
	let clients: Vec<reqwest::Client> = (0..5)
		.map(|i| from(&format!("127.0.0.{}", 80 + i)))
		.collect();
	let requests = (0..1_000).map(|i| {
		let who = clients[i % clients.len()].clone();
		// Half the same path, half each its own; user agents vary too.
		let path = if i % 2 == 0 {
			format!("/api/v1/{long}")
		} else {
			format!("/api/v1/{i}{}", &long[..59_990])
		};
		let url = server.url(&path);
		async move {
			who.get(url)
				.header("user-agent", format!("flood/{}", i % 3).repeat(2_000))
				.send()
				.await
				.unwrap()
				.status()
				.as_u16()
		}
	});
	let codes: Vec<u16> = futures_util::stream::iter(requests)
		.buffer_unordered(8)
		.collect()
		.await;
	assert!(codes.iter().all(|c| *c == 401), "{codes:?}");

	let rows: Vec<Value> = get_json(&admin, &denied).await["data"]
		.as_array()
		.unwrap()
		.iter()
		.filter(|r| {
			r["details"]["client"]
				.as_str()
				.is_some_and(|c| c.starts_with("127.0.0.8"))
		})
		.cloned()
		.collect();
	assert_eq!(before, 0, "a fresh server");
	// Per client and minute: at most 20 kinds written one by one and one `*` row, and, once the
	// minute is over, at most one repeat row for each of those. The flood may straddle two
	// minutes, so the first rows are at most 2 × 5 × 21, whatever the number of requests.
	let first = rows
		.iter()
		.filter(|r| r["details"]["repeated"] != true)
		.count();
	let repeats = rows.len() - first;
	assert!(first <= 2 * 5 * 21, "{first} first rows for 1,000 refusals");
	assert!(
		repeats <= first,
		"{repeats} repeat rows, {first} first ones"
	);
	for row in &rows {
		assert!(
			row["resource"].as_str().unwrap().chars().count() <= 257,
			"{row}"
		);
		assert!(
			row.to_string().len() < 3_000,
			"{} bytes",
			row.to_string().len()
		);
	}
	// Every refusal is counted: the repeats of a minute are written once it is over.
	let mut counted = 0;
	for _ in 0..45 {
		let rows: Value = get_json(&admin, &denied).await;
		counted = rows["data"]
			.as_array()
			.unwrap()
			.iter()
			.filter(|r| {
				r["details"]["client"]
					.as_str()
					.is_some_and(|c| c.starts_with("127.0.0.8"))
			})
			.map(|r| r["details"]["count"].as_u64().unwrap_or(0))
			.sum::<u64>();
		if counted == 1_000 {
			break;
		}
		tokio::time::sleep(Duration::from_secs(2)).await;
	}
	assert_eq!(counted, 1_000);
}

crate::on_every_backend! {
	many_addresses_against_one_account_are_locked_out => super::many_addresses_against_one_account,
	one_address_against_many_accounts_is_locked_out => super::one_address_against_many_accounts,
	a_flood_of_refusals_adds_few_small_rows => super::a_flood_of_refusals_adds_few_small_rows,
}

/// Behind a configured proxy (127.0.0.70), the client it forwards for is the address that is
/// counted: one client of the proxy is locked out, another is not. A peer that is not the proxy
/// claims an address in vain.
async fn a_trusted_proxy_names_the_client(server: Server) {
	let proxy = from("127.0.0.70");
	let forwarded = |who: &'static str| {
		let proxy = proxy.clone();
		let url = server.url("/api/v1/auth/login");
		move |name: String| {
			proxy
				.post(url.clone())
				.header("x-forwarded-for", format!("198.51.100.1, {who}"))
				.json(&json!({"username": name, "password": "Summer2024!"}))
				.send()
		}
	};
	let sprayer = forwarded("203.0.113.7");
	let mut codes = Vec::new();
	for i in 0..21 {
		codes.push(sprayer(format!("user{i}")).await.unwrap().status().as_u16());
	}
	assert_eq!(&codes[..20], &[401; 20], "{codes:?}");
	assert_eq!(codes[20], 429, "the forwarded client is locked: {codes:?}");
	let other = forwarded("203.0.113.8")("user99".to_owned()).await.unwrap();
	assert_eq!(other.status(), 401, "another client of the proxy is not");
	// An untrusted peer's claim is ignored: it is counted as itself.
	let stranger = from("127.0.0.71");
	let mut codes = Vec::new();
	for i in 0..21 {
		let r = stranger
			.post(server.url("/api/v1/auth/login"))
			.header("x-forwarded-for", format!("203.0.113.{}", 100 + i))
			.json(&json!({"username": format!("user{i}"), "password": "Summer2024!"}))
			.send()
			.await
			.unwrap();
		codes.push(r.status().as_u16());
	}
	assert_eq!(
		codes[20], 429,
		"a claimed address does not reset the count: {codes:?}"
	);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_trusted_proxy_names_the_client_on_sqlite() {
	let dir = tempfile::tempdir().unwrap();
	let server = Server::start_in(
		&dir.path().join("data"),
		&[("APG_TRUSTED_PROXIES", "127.0.0.70")],
	);
	a_trusted_proxy_names_the_client(server).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_trusted_proxy_names_the_client_on_postgres() {
	let Some(server) = Server::start_postgres_with(&[("APG_TRUSTED_PROXIES", "127.0.0.70")]).await
	else {
		eprintln!("skipped: APG_TEST_DATABASE_URL is not set");
		return;
	};
	a_trusted_proxy_names_the_client(server).await;
}
