use std::net::SocketAddr;

use axum::Router;
use axum::http::StatusCode;
use axum::routing::{get, post};
use serde_json::{Value, json};

use super::*;
use crate::testing::ctx;

async fn server() -> SocketAddr {
	let app = Router::new()
		.route("/json", get(|| async { axum::Json(json!({"ok": true})) }))
		.route("/echo", post(|body: String| async move { body }))
		.route(
			"/boom",
			get(|| async { (StatusCode::INTERNAL_SERVER_ERROR, "down") }),
		)
		.route("/missing", get(|| async { (StatusCode::NOT_FOUND, "no") }));
	let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
	let addr = listener.local_addr().unwrap();
	tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
	addr
}

fn loopback_allowed() -> HttpRequest {
	HttpRequest::new(["127.0.0.1".to_owned()])
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
	let err = HttpRequest::new([])
		.run(
			&ctx(),
			&json!({"url": format!("http://{addr}/json")}),
			Value::Null,
		)
		.await
		.unwrap_err();
	assert!(err.to_string().contains("refused"), "{err}");
	assert!(!err.is_retryable());
	let err = HttpRequest::new([])
		.run(
			&ctx(),
			&json!({"url": "http://169.254.169.254/latest/meta-data"}),
			Value::Null,
		)
		.await
		.unwrap_err();
	assert!(err.to_string().contains("refused"), "{err}");
}

#[test]
fn internal_ranges_are_recognised() {
	for ip in [
		"127.0.0.1",
		"10.1.2.3",
		"172.16.0.1",
		"192.168.1.1",
		"169.254.169.254",
		"100.64.0.1",
		"0.0.0.0",
		"::1",
		"fd00::1",
		"fe80::1",
		"::ffff:127.0.0.1",
	] {
		assert!(guard::is_internal(ip.parse().unwrap()), "{ip}");
	}
	for ip in ["8.8.8.8", "1.1.1.1", "2606:4700:4700::1111"] {
		assert!(!guard::is_internal(ip.parse().unwrap()), "{ip}");
	}
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
