//! `http_request` against an axum server on loopback: query parameters, the three body types,
//! the three auth kinds, redirects (followed only when asked, each hop guarded), `as: base64`
//! and the response size limit.

mod common;

use std::collections::HashMap;
use std::net::SocketAddr;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::{any, get};
use serde_json::{Value, json};

use apg_components::{HttpRequest, Settings};
use apg_core::Component;

use common::{loopback, run};

/// Answers every request with what it received: method, query, headers and body.
async fn echo(
	method: axum::http::Method,
	RawQuery(query): RawQuery,
	headers: HeaderMap,
	body: Bytes,
) -> axum::Json<Value> {
	let headers: HashMap<String, String> = headers
		.iter()
		.map(|(k, v)| {
			(
				k.to_string(),
				String::from_utf8_lossy(v.as_bytes()).into_owned(),
			)
		})
		.collect();
	axum::Json(
		json!({"method": method.as_str(), "query": query, "headers": headers,
		"body": String::from_utf8_lossy(&body)}),
	)
}

async fn server() -> SocketAddr {
	let app = Router::new()
		.route("/echo", any(echo))
		.route(
			"/bytes",
			get(|| async {
				(
					[(header::CONTENT_TYPE, "application/octet-stream")],
					vec![0u8, 255, 16],
				)
			}),
		)
		.route("/big", get(|| async { "x".repeat(10_000) }))
		.route(
			"/hop/{n}",
			any(|Path(n): Path<u32>| async move {
				let to = if n == 0 {
					"/echo?arrived=1".to_owned()
				} else {
					format!("/hop/{}", n - 1)
				};
				(StatusCode::FOUND, [(header::LOCATION, to)]).into_response()
			}),
		)
		.route(
			"/see-other",
			any(|| async { (StatusCode::SEE_OTHER, [(header::LOCATION, "/echo")]) }),
		)
		.route(
			"/keep",
			any(|| async {
				(
					StatusCode::TEMPORARY_REDIRECT,
					[(header::LOCATION, "/echo")],
				)
			}),
		)
		.route(
			"/metadata",
			get(|| async {
				(
					StatusCode::FOUND,
					[(header::LOCATION, "http://169.254.169.254/latest/meta-data")],
				)
			}),
		)
		.route(
			"/elsewhere",
			get(|h: HeaderMap| async move {
				// The same server under another origin (localhost instead of 127.0.0.1).
				let host = h
					.get(header::HOST)
					.and_then(|v| v.to_str().ok())
					.unwrap_or_default();
				let port = host.rsplit(':').next().unwrap_or_default().to_owned();
				let to = format!("http://localhost:{port}/echo");
				(StatusCode::FOUND, [(header::LOCATION, to)])
			}),
		);
	let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
	let addr = listener.local_addr().unwrap();
	tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
	addr
}

fn component() -> HttpRequest {
	HttpRequest::new(&loopback(Vec::new()))
}

async fn body_of(c: &HttpRequest, config: Value) -> Value {
	run(c, config.clone())
		.await
		.unwrap_or_else(|e| panic!("{config}: {e}"))
		.output["body"]
		.clone()
}

#[tokio::test]
async fn query_parameters_are_encoded_and_lists_repeat() {
	let addr = server().await;
	let got = body_of(
		&component(),
		json!({"url": format!("http://{addr}/echo?keep=1"),
			"query": {"q": "a b&c", "n": 5, "flag": true, "tag": ["x", "y"], "none": null}}),
	)
	.await;
	assert_eq!(got["query"], "keep=1&q=a+b%26c&n=5&flag=true&tag=x&tag=y");
}

#[tokio::test]
async fn json_form_and_raw_bodies_are_sent_with_their_content_types() {
	let addr = server().await;
	let c = component();
	let url = format!("http://{addr}/echo");
	let got = body_of(
		&c,
		json!({"url": url, "method": "POST", "body": {"a": [1, "b"]}}),
	)
	.await;
	assert_eq!(got["body"], "{\"a\":[1,\"b\"]}");
	assert_eq!(got["headers"]["content-type"], "application/json");
	let got = body_of(
		&c,
		json!({"url": url, "method": "POST", "body_type": "form",
			"body": {"name": "Ada L", "n": 3, "ok": false}}),
	)
	.await;
	assert_eq!(got["body"], "name=Ada+L&n=3&ok=false");
	assert_eq!(
		got["headers"]["content-type"],
		"application/x-www-form-urlencoded"
	);
	let got = body_of(
		&c,
		json!({"url": url, "method": "PUT", "body_type": "raw", "body": "<x>1</x>",
			"content_type": "application/xml"}),
	)
	.await;
	assert_eq!(got["method"], "PUT");
	assert_eq!(got["body"], "<x>1</x>");
	assert_eq!(got["headers"]["content-type"], "application/xml");
	let e = run(
		&c,
		json!({"url": url, "method": "POST", "body_type": "form", "body": [1]}),
	)
	.await
	.unwrap_err();
	assert!(e.to_string().contains("form body must be an object"), "{e}");
}

#[tokio::test]
async fn each_auth_kind_sends_its_header_and_never_hands_it_back() {
	let addr = server().await;
	let c = component();
	let url = format!("http://{addr}/echo");
	let cases = [
		(
			json!({"type": "basic", "username": "ada", "password": "pw-0123456789"}),
			"authorization",
			vec!["pw-0123456789", "YWRhOnB3LTAxMjM0NTY3ODk"],
		),
		(
			json!({"type": "bearer", "token": "tok-abcdef123456"}),
			"authorization",
			vec!["tok-abcdef123456"],
		),
		(
			json!({"type": "header", "header": "X-Custom-Auth", "token": "hdr-abcdef123456"}),
			"x-custom-auth",
			vec!["hdr-abcdef123456"],
		),
	];
	for (auth, header_name, secrets) in cases {
		let got = body_of(&c, json!({"url": url, "auth": auth})).await;
		// The server saw a header there (its echo is masked on the way back).
		assert_eq!(got["headers"][header_name], "***", "{auth}: {got}");
		let text = got.to_string();
		for secret in secrets {
			assert!(!text.contains(secret), "{secret} in {text}");
		}
	}
	let problems = c.check_config(
		json!({"url": url, "auth": {"type": "header", "token": "{{secrets.k}}"}})
			.as_object()
			.unwrap(),
	);
	assert_eq!(problems[0].0, "auth.header", "{problems:?}");
}

#[tokio::test]
async fn redirects_are_followed_only_when_asked_and_at_most_max_redirects() {
	let addr = server().await;
	let c = component();
	let out = run(
		&c,
		json!({"url": format!("http://{addr}/hop/2"), "expected_status": [302]}),
	)
	.await
	.unwrap();
	assert_eq!(out.output["status"], 302);
	let out = run(
		&c,
		json!({"url": format!("http://{addr}/hop/2"), "follow_redirects": true}),
	)
	.await
	.unwrap();
	assert_eq!(out.output["body"]["query"], "arrived=1");
	assert_eq!(out.output["url"], format!("http://{addr}/echo?arrived=1"));
	let e = run(
		&c,
		json!({"url": format!("http://{addr}/hop/3"), "follow_redirects": true,
			"max_redirects": 2}),
	)
	.await
	.unwrap_err();
	assert!(e.to_string().contains("more than max_redirects (2)"), "{e}");
	assert!(!e.is_retryable());
}

#[tokio::test]
async fn a_redirect_to_an_internal_address_is_refused_at_that_hop() {
	let addr = server().await;
	let e = run(
		&component(),
		json!({"url": format!("http://{addr}/metadata"), "follow_redirects": true}),
	)
	.await
	.unwrap_err();
	assert!(e.to_string().contains("refused: 169.254.169.254"), "{e}");
	assert!(!e.is_retryable());
}

#[tokio::test]
async fn redirect_methods_follow_the_status_and_credentials_stay_with_their_origin() {
	let addr = server().await;
	let c = component();
	let got = body_of(
		&c,
		json!({"url": format!("http://{addr}/see-other"), "method": "POST", "body": {"a": 1},
			"follow_redirects": true}),
	)
	.await;
	assert_eq!(
		(got["method"].as_str(), got["body"].as_str()),
		(Some("GET"), Some(""))
	);
	let got = body_of(
		&c,
		json!({"url": format!("http://{addr}/keep"), "method": "POST", "body": {"a": 1},
			"follow_redirects": true, "auth": {"token": "tok-same-origin-1"}}),
	)
	.await;
	assert_eq!(
		(got["method"].as_str(), got["body"].as_str()),
		(Some("POST"), Some("{\"a\":1}"))
	);
	assert_eq!(got["headers"]["authorization"], "***");
	let got = body_of(
		&c,
		json!({"url": format!("http://{addr}/elsewhere"), "follow_redirects": true,
			"auth": {"type": "header", "header": "X-Custom-Auth", "token": "tok-other-origin"}}),
	)
	.await;
	assert!(got["headers"].get("x-custom-auth").is_none(), "{got}");
}

#[tokio::test]
async fn binary_bodies_come_back_as_base64() {
	let addr = server().await;
	let got = body_of(
		&component(),
		json!({"url": format!("http://{addr}/bytes"), "as": "base64"}),
	)
	.await;
	assert_eq!(got, "AP8Q");
}

#[tokio::test]
async fn the_size_limit_is_per_component_under_the_server_maximum() {
	let addr = server().await;
	let url = format!("http://{addr}/big");
	let e = run(
		&component(),
		json!({"url": url, "max_response_bytes": 9_999}),
	)
	.await
	.unwrap_err();
	assert!(
		e.to_string().contains("max_response_bytes (9999 bytes)"),
		"{e}"
	);
	assert!(!e.is_retryable());
	let got = body_of(
		&component(),
		json!({"url": url, "max_response_bytes": 10_000}),
	)
	.await;
	assert_eq!(got.as_str().map(str::len), Some(10_000));
	let server_max = HttpRequest::new(&Settings {
		http_max_response_bytes: 1_000,
		..loopback(Vec::new())
	});
	let e = run(
		&server_max,
		json!({"url": url, "max_response_bytes": 1_000_000}),
	)
	.await
	.unwrap_err();
	assert!(
		e.to_string().contains("max_response_bytes (1000 bytes)"),
		"{e}"
	);
	let problems = server_max.check_config(
		json!({"url": url, "max_response_bytes": 1_000_000})
			.as_object()
			.unwrap(),
	);
	assert_eq!(problems[0].0, "max_response_bytes");
}
