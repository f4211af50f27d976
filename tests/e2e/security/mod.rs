//! The attack suite (issue 5): every route, GraphQL and `/ws` without a token, with an expired
//! one and with one signed by another key → 401; a role × operation matrix over REST and
//! GraphQL; a stranger's reads → 404; credentials write-only and never stored in clear (SQLite
//! file and WAL, `pg_dump`); tampered tokens and wrong keys → clear errors; denials audited;
//! login throttling. One file per concern: `tokens` (who may call at all), `access` (who may
//! do what to which resource), `secrets` (credentials and keys).

use std::io::Read;
use std::net::TcpListener;
use std::time::Duration;

use apg_auth::{Keyring, TokenIssuer, TokenKind};
use apg_core::{Role, User, UserId};
use serde_json::{Value, json};

use crate::server::Server;
use crate::util::{ENCRYPTION_KEY, admin_client, client_with, token};

mod access;
mod bad_input;
mod derived;
mod hostile;
mod secrets;
mod sharee;
mod throttle;
mod tokens;

/// A user of the server, with a client that acts as them.
pub(super) struct Account {
	pub(super) id: String,
	pub(super) client: reqwest::Client,
	pub(super) token: String,
}

pub(super) async fn account(
	server: &Server,
	admin: &reqwest::Client,
	name: &str,
	role: &str,
) -> Account {
	let password = format!("{name}-password-1");
	let r = admin
		.post(server.url("/api/v1/users"))
		.json(&json!({"username": name, "password": password, "role": role}))
		.send()
		.await
		.unwrap();
	assert_eq!(r.status(), 201, "create {name}");
	let body: Value = r.json().await.unwrap();
	let token = token(&server.base, name, &password).await;
	Account {
		id: body["data"]["id"].as_str().unwrap().to_owned(),
		client: client_with(&token),
		token,
	}
}

/// A loopback HTTP server that answers each request with the request itself (so a component
/// that calls it gets its own headers back in its output), and remembers what it received.
pub(super) fn echo_server() -> (String, std::sync::Arc<std::sync::Mutex<String>>) {
	let listener = TcpListener::bind("127.0.0.1:0").unwrap();
	let url = format!("http://{}/echo", listener.local_addr().unwrap());
	let seen = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
	let keep = seen.clone();
	std::thread::spawn(move || {
		for stream in listener.incoming().flatten() {
			let mut stream = stream;
			let mut buf = [0u8; 8192];
			let n = stream.read(&mut buf).unwrap_or(0);
			let request = String::from_utf8_lossy(&buf[..n]).to_string();
			keep.lock().unwrap().push_str(&request);
			let body = json!({"echo": request}).to_string();
			let response = format!(
				"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
				body.len()
			);
			use std::io::Write;
			let _ = stream.write_all(response.as_bytes());
		}
	});
	(url, seen)
}

/// How often `needle` occurs in `haystack`.
pub(super) fn occurrences(haystack: &[u8], needle: &str) -> usize {
	haystack
		.windows(needle.len())
		.filter(|w| *w == needle.as_bytes())
		.count()
}

/// Files of the SQLite database under a data dir (main file, WAL, shared memory).
pub(super) fn sqlite_bytes(data: &std::path::Path) -> Vec<u8> {
	let mut all = Vec::new();
	for entry in std::fs::read_dir(data).unwrap().flatten() {
		let name = entry.file_name().to_string_lossy().to_string();
		if name.contains(".db") || name.contains("sqlite") {
			all.extend(std::fs::read(entry.path()).unwrap_or_default());
		}
	}
	all
}

/// PUTs `body` to `url` as `who` and reads the JSON answer.
pub(super) async fn put_json(who: &reqwest::Client, url: &str, body: &Value) -> Value {
	who.put(url)
		.json(body)
		.send()
		.await
		.unwrap()
		.json()
		.await
		.unwrap()
}

pub(super) fn workflow(name: &str) -> Value {
	json!({"name": name, "definition": {
		"components": [
			{"id": "start", "type": "start"},
			{"id": "say", "type": "task", "config": {"task_type": "echo", "message": "hi"}},
			{"id": "end", "type": "end"}
		],
		"connections": [{"source": "start", "target": "say"}, {"source": "say", "target": "end"}]
	}})
}

/// GET `url` as `who` and read the JSON body.
pub(super) async fn get_json(who: &reqwest::Client, url: impl reqwest::IntoUrl) -> Value {
	who.get(url).send().await.unwrap().json().await.unwrap()
}

/// GET `url` as `who` and read the body as text.
pub(super) async fn get_text(who: &reqwest::Client, url: impl reqwest::IntoUrl) -> String {
	who.get(url).send().await.unwrap().text().await.unwrap()
}

pub(super) async fn status(r: reqwest::RequestBuilder) -> u16 {
	r.send().await.unwrap().status().as_u16()
}

pub(super) async fn create(server: &Server, who: &reqwest::Client, name: &str) -> String {
	let r = who
		.post(server.url("/api/v1/workflows"))
		.json(&workflow(name))
		.send()
		.await
		.unwrap();
	assert_eq!(r.status(), 201);
	let body: Value = r.json().await.unwrap();
	body["data"]["id"].as_str().unwrap().to_owned()
}

pub(super) async fn execute(server: &Server, who: &reqwest::Client, id: &str) -> String {
	let url = server.url(&format!("/api/v1/workflows/{id}/execute"));
	let body: Value = who
		.post(url)
		.json(&json!({}))
		.send()
		.await
		.unwrap()
		.json()
		.await
		.unwrap();
	body["data"]["id"]
		.as_str()
		.expect("execution id")
		.to_owned()
}

pub(super) async fn wait_ended(server: &Server, who: &reqwest::Client, id: &str) -> Value {
	for _ in 0..200 {
		let url = server.url(&format!("/api/v1/executions/{id}"));
		let body: Value = get_json(who, url).await;
		let s = body["data"]["status"]
			.as_str()
			.unwrap_or_default()
			.to_owned();
		if ["completed", "failed", "cancelled"].contains(&s.as_str()) {
			return body["data"].clone();
		}
		tokio::time::sleep(Duration::from_millis(50)).await;
	}
	panic!("execution {id} did not end");
}

pub(super) async fn graphql(
	server: &Server,
	who: &reqwest::Client,
	query: &str,
	variables: Value,
) -> Value {
	who.post(server.url("/graphql"))
		.json(&json!({"query": query, "variables": variables}))
		.send()
		.await
		.unwrap()
		.json()
		.await
		.unwrap()
}
