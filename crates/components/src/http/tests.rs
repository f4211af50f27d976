use std::net::SocketAddr;

use axum::Router;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use serde_json::{Value, json};

use super::*;
use crate::Settings;
use crate::testing::ctx;

async fn server() -> SocketAddr {
	let app = Router::new()
		.route("/json", get(|| async { axum::Json(json!({"ok": true})) }))
		.route("/echo", post(|body: String| async move { body }))
		.route(
			"/boom",
			get(|| async { (StatusCode::INTERNAL_SERVER_ERROR, "down") }),
		)
		.route("/missing", get(|| async { (StatusCode::NOT_FOUND, "no") }))
		.route("/reflect", get(reflect))
		.route(
			"/reflect-400",
			get(|h: HeaderMap| async move { (StatusCode::BAD_REQUEST, reflect(h).await) }),
		)
		.route(
			"/away",
			get(|| async {
				(
					StatusCode::FOUND,
					[("location", "http://169.254.169.254/latest/meta-data")],
				)
			}),
		);
	let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
	let addr = listener.local_addr().unwrap();
	tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
	addr
}

/// Answers with every request header, as sent and in base64 and hex: a peer that hands back
/// what it was given.
async fn reflect(headers: HeaderMap) -> String {
	let mut out = String::new();
	for (k, v) in &headers {
		let v = v.as_bytes();
		let hex: String = v.iter().map(|b| format!("{b:02x}")).collect();
		out.push_str(&format!("{k}: {} | {hex}\n", String::from_utf8_lossy(v)));
	}
	out
}

fn allowing(host: &str) -> HttpRequest {
	HttpRequest::new(&Settings {
		http_allow: vec![host.to_owned()],
		..Settings::default()
	})
}

fn loopback_allowed() -> HttpRequest {
	allowing("127.0.0.1")
}

#[tokio::test]
async fn a_get_returns_status_headers_and_parsed_json() {
	let addr = server().await;
	let out = loopback_allowed()
		.run(
			&ctx(),
			&json!({"url": format!("http://{addr}/json")}),
			Value::Null,
		)
		.await
		.unwrap();
	assert_eq!(out.output["status"], 200);
	assert_eq!(out.output["body"], json!({"ok": true}));
}

#[tokio::test]
async fn a_post_sends_its_json_body() {
	let addr = server().await;
	let config = json!({"url": format!("http://{addr}/echo"), "method": "POST", "body": {"a": 1}});
	let out = loopback_allowed()
		.run(&ctx(), &config, Value::Null)
		.await
		.unwrap();
	assert_eq!(out.output["body"], json!("{\"a\":1}"));
}

#[tokio::test]
async fn server_errors_are_retryable_and_client_errors_are_not() {
	let addr = server().await;
	let c = loopback_allowed();
	let err = c
		.run(
			&ctx(),
			&json!({"url": format!("http://{addr}/boom")}),
			Value::Null,
		)
		.await
		.unwrap_err();
	assert!(err.is_retryable(), "{err}");
	let err = c
		.run(
			&ctx(),
			&json!({"url": format!("http://{addr}/missing")}),
			Value::Null,
		)
		.await
		.unwrap_err();
	assert!(!err.is_retryable(), "{err}");
}

#[tokio::test]
async fn internal_addresses_are_refused_unless_allowed() {
	let addr = server().await;
	let err = HttpRequest::new(&Settings::default())
		.run(
			&ctx(),
			&json!({"url": format!("http://{addr}/json")}),
			Value::Null,
		)
		.await
		.unwrap_err();
	assert!(err.to_string().contains("refused"), "{err}");
	assert!(!err.is_retryable());
	let err = HttpRequest::new(&Settings::default())
		.run(
			&ctx(),
			&json!({"url": "http://169.254.169.254/latest/meta-data"}),
			Value::Null,
		)
		.await
		.unwrap_err();
	assert!(err.to_string().contains("refused"), "{err}");
}

/// Every spelling of a loopback address the URL parser accepts, with the host it normalises it
/// to: the guard sees only the normalised form, so each is refused, while with everything
/// allowed each really reaches the loopback server (so none is a harmless typo).
#[tokio::test]
async fn every_spelling_of_an_internal_address_is_refused() {
	let addr = server().await;
	let port = addr.port();
	let v4 = "127.0.0.1";
	let mapped = "[::ffff:7f00:1]";
	for (host, normalised, reaches) in [
		("2130706433", v4, true),
		("0177.0.0.1", v4, true),
		("127.1", v4, true),
		("0x7f.1", v4, true),
		("0x7f000001", v4, true),
		("017700000001", v4, true),
		("127.0.0.1.", v4, true),
		("%31%32%37.0.0.1", v4, true),
		("\u{ff11}\u{ff12}\u{ff17}.0.0.1", v4, true),
		("[::ffff:7f00:1]", mapped, true),
		("[::ffff:127.0.0.1]", mapped, true),
		("[0:0:0:0:0:ffff:7f00:1]", mapped, true),
		("[::127.0.0.1]", "[::7f00:1]", false),
		("[::ffff:0:127.0.0.1]", "[::ffff:0:7f00:1]", false),
		("[64:ff9b::127.0.0.1]", "[64:ff9b::7f00:1]", false),
		("[2002:7f00:1::]", "[2002:7f00:1::]", false),
		("localhost", "localhost", true),
	] {
		let url = format!("http://{host}:{port}/json");
		let parsed = reqwest::Url::parse(&url).unwrap();
		assert_eq!(parsed.host_str(), Some(normalised), "{url}");
		let err = HttpRequest::new(&Settings::default())
			.run(&ctx(), &json!({"url": url}), Value::Null)
			.await
			.unwrap_err();
		assert!(err.to_string().contains("refused"), "{url}: {err}");
		assert!(!err.is_retryable(), "{url}");
		if reaches {
			let out = allowing("*")
				.run(&ctx(), &json!({"url": url}), Value::Null)
				.await
				.unwrap_or_else(|e| panic!("{url}: {e}"));
			assert_eq!(out.output["status"], 200, "{url}");
		}
	}
}

/// Redirects are not followed, so a public host cannot bounce a request to an internal one: the
/// 3xx is the result.
#[tokio::test]
async fn a_redirect_is_the_result_and_not_followed() {
	let addr = server().await;
	let config = json!({"url": format!("http://{addr}/away"), "expected_status": [302]});
	let out = loopback_allowed()
		.run(&ctx(), &config, Value::Null)
		.await
		.unwrap();
	assert_eq!(out.output["status"], 302);
	assert_eq!(
		out.output["headers"]["location"],
		"http://169.254.169.254/latest/meta-data"
	);
}

#[test]
fn only_http_urls_validate() {
	let c = loopback_allowed();
	assert!(
		c.check_config(json!({"url": "ftp://x/y"}).as_object().unwrap())
			.len() == 1
	);
	assert!(
		c.check_config(json!({"url": "not a url"}).as_object().unwrap())
			.len() == 1
	);
	assert!(
		c.check_config(json!({"url": "{{ source_url }}"}).as_object().unwrap())
			.is_empty()
	);
	assert!(
		c.check_config(
			json!({"url": "https://api.example.com/data"})
				.as_object()
				.unwrap()
		)
		.is_empty()
	);
}

/// The request's credential-bearing headers never come back: not in the output of a peer that
/// reflects them, nor in the error text of one that fails with them, in clear or derived.
#[tokio::test]
async fn credentials_sent_are_not_handed_back() {
	let addr = server().await;
	let password = "open-sesame-4711";
	let token = "tok-1234567890abcdef";
	let pair = format!("alice:{password}");
	let hex = |s: &str| -> String { s.bytes().map(|b| format!("{b:02x}")).collect() };
	let c = loopback_allowed();
	let configs = [
		json!({"url": format!("http://{addr}/reflect"),
			"auth": {"username": "alice", "password": password}}),
		json!({"url": format!("http://alice:{password}@{addr}/reflect")}),
		json!({"url": format!("http://{addr}/reflect"), "auth": {"token": token},
			"headers": {"Cookie": format!("sid={token}"), "X-Api-Key": password}}),
	];
	for config in configs {
		let out = c.run(&ctx(), &config, Value::Null).await.unwrap();
		let text = out.output.to_string();
		assert!(text.contains("***"), "{text}");
		for secret in [password, token, pair.as_str()] {
			assert!(!text.contains(secret), "{secret} in {text}");
			assert!(!text.contains(&hex(secret)), "{secret} in {text}");
		}
		assert!(!text.contains("YWxpY2U6b3Blbi1zZXNhbWUtNDcxMQ"), "{text}");
	}
	let err = c
		.run(
			&ctx(),
			&json!({"url": format!("http://{addr}/reflect-400"),
				"auth": {"username": "alice", "password": password}}),
			Value::Null,
		)
		.await
		.unwrap_err()
		.to_string();
	assert!(
		err.contains("unexpected status 400") && err.contains("***"),
		"{err}"
	);
	assert!(
		!err.contains(password) && !err.contains("YWxpY2U6b3Blbi1zZXNhbWUtNDcxMQ"),
		"{err}"
	);
}
