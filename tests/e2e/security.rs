//! The attack suite (issue 5): every route, GraphQL and `/ws` without a token, with an expired
//! one and with one signed by another key → 401; a role × operation matrix over REST and
//! GraphQL; a stranger's reads → 404; credentials write-only and never stored in clear (SQLite
//! file and WAL, `pg_dump`); tampered tokens and wrong keys → clear errors; denials audited;
//! login throttling.

use std::io::Read;
use std::net::TcpListener;
use std::time::Duration;

use apg_auth::{Keyring, TokenIssuer, TokenKind};
use apg_core::{Role, User, UserId};
use serde_json::{Value, json};

use crate::server::Server;
use crate::util::{ENCRYPTION_KEY, admin_client, client_with, token};

/// A user of the server, with a client that acts as them.
struct Account {
	id: String,
	client: reqwest::Client,
	token: String,
}

async fn account(server: &Server, admin: &reqwest::Client, name: &str, role: &str) -> Account {
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

fn workflow(name: &str) -> Value {
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
async fn get_json(who: &reqwest::Client, url: impl reqwest::IntoUrl) -> Value {
	who.get(url).send().await.unwrap().json().await.unwrap()
}

/// GET `url` as `who` and read the body as text.
async fn get_text(who: &reqwest::Client, url: impl reqwest::IntoUrl) -> String {
	who.get(url).send().await.unwrap().text().await.unwrap()
}

async fn status(r: reqwest::RequestBuilder) -> u16 {
	r.send().await.unwrap().status().as_u16()
}

async fn create(server: &Server, who: &reqwest::Client, name: &str) -> String {
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

async fn execute(server: &Server, who: &reqwest::Client, id: &str) -> String {
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

async fn wait_ended(server: &Server, who: &reqwest::Client, id: &str) -> Value {
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

async fn graphql(server: &Server, who: &reqwest::Client, query: &str, variables: Value) -> Value {
	who.post(server.url("/graphql"))
		.json(&json!({"query": query, "variables": variables}))
		.send()
		.await
		.unwrap()
		.json()
		.await
		.unwrap()
}

/// A token for the user `me` describes (the body of `/auth/me`), signed by `issuer`.
fn forged(me: &Value, issuer: &TokenIssuer, iat: i64, exp: i64) -> String {
	let updated = me["updated_at"].as_str().unwrap();
	let user = User {
		id: me["id"].as_str().unwrap().parse::<UserId>().unwrap(),
		username: "admin".into(),
		password_hash: String::new(),
		role: Role::Admin,
		active: true,
		created_at: 0,
		updated_at: chrono::DateTime::parse_from_rfc3339(updated)
			.unwrap()
			.timestamp_millis(),
	};
	issuer.issue_at(&user, TokenKind::Access, iat, exp).0
}

async fn unauthenticated_everywhere(server: Server) {
	let admin = admin_client(&server.base).await;
	let me: Value = get_json(&admin, server.url("/api/v1/auth/me")).await;
	let admin_id = &me["data"];
	let now = apg_core::now_millis() / 1000;
	let ours = TokenIssuer::new(
		&Keyring::from_keys(ENCRYPTION_KEY)
			.unwrap()
			.derived_signing_key(),
		900,
		900,
	);
	let expired = forged(admin_id, &ours, now - 7200, now - 3600);
	let foreign = forged(
		admin_id,
		&TokenIssuer::new(b"another key entirely!!!!!!!!!!!!", 900, 900),
		now,
		now + 900,
	);
	// Sanity: a fresh token signed with the server's key works, so the refusals below are
	// about expiry and signature, not about a wrong key derivation here.
	let valid = forged(admin_id, &ours, now, now + 900);
	let ok = client_with(&valid)
		.get(server.url("/api/v1/auth/me"))
		.send()
		.await
		.unwrap();
	assert_eq!(ok.status(), 200);

	let doc: Value = get_json(&admin, server.url("/api/v1/openapi.json")).await;
	let id = uuid::Uuid::now_v7().to_string();
	let mut routes: Vec<(String, String)> = Vec::new();
	for (path, item) in doc["paths"].as_object().unwrap() {
		if path == "/health" || path.ends_with("/auth/login") || path.ends_with("/auth/refresh") {
			continue;
		}
		for method in item.as_object().unwrap().keys() {
			let concrete = path.replace("{id}", &id);
			routes.push((method.to_uppercase(), concrete));
		}
	}
	assert!(
		routes.len() >= 40,
		"{} routes in the document",
		routes.len()
	);
	for extra in [
		"/api/v1/openapi.json",
		"/metrics",
		"/graphql",
		"/graphql/playground",
		"/ws",
	] {
		routes.push(("GET".into(), extra.into()));
	}
	routes.push(("POST".into(), "/graphql".into()));
	let plain = reqwest::Client::new();
	let mut refused = 0;
	for (method, path) in &routes {
		let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
		for (what, header) in [
			("no token", None),
			("an expired token", Some(format!("Bearer {expired}"))),
			(
				"a token signed by another key",
				Some(format!("Bearer {foreign}")),
			),
			("garbage", Some("Bearer not.a.token".to_owned())),
			("an unknown API key", Some("Bearer apg_nonsense".to_owned())),
		] {
			let mut r = plain
				.request(method.clone(), server.url(path))
				.header("content-type", "application/json")
				.body("{}");
			if let Some(h) = header {
				r = r.header("authorization", h);
			}
			let response = r.send().await.unwrap();
			let code = response.status().as_u16();
			let body: Value = response.json().await.unwrap_or(Value::Null);
			assert_eq!(code, 401, "{method} {path} with {what}: {body}");
			assert_eq!(body["success"], false, "{method} {path}");
			assert_eq!(body["category"], "security");
			refused += 1;
		}
	}
	// WebSocket upgrades (ours and GraphQL's) are refused before the handshake.
	for path in ["/ws", "/graphql"] {
		let url = format!(
			"{}{path}?access_token={expired}",
			server.base.replacen("http", "ws", 1)
		);
		let Err(err) = tokio_tungstenite::connect_async(url).await else {
			panic!("{path}: the upgrade was accepted with an expired token");
		};
		assert!(err.to_string().contains("401"), "{path}: {err}");
	}
	assert_eq!(
		status(plain.get(server.url("/health"))).await,
		200,
		"/health stays open"
	);
	// Every refusal is in the audit log.
	let audit: Value = get_json(
		&admin,
		server.url("/api/v1/audit?outcome=denied&action=auth.authenticate&limit=500"),
	)
	.await;
	let logged = audit["data"].as_array().unwrap().len();
	assert!(
		logged >= refused.min(500),
		"{logged} denials audited of {refused}"
	);
}

async fn roles_and_operations(server: Server) {
	let admin = admin_client(&server.base).await;
	let editor = account(&server, &admin, "edith", "editor").await;
	let operator = account(&server, &admin, "otto", "operator").await;
	let viewer = account(&server, &admin, "vera", "viewer").await;
	// Creating: admin and editor may, operator and viewer may not (403, audited).
	assert_eq!(
		status(
			admin
				.post(server.url("/api/v1/workflows"))
				.json(&workflow("a1"))
		)
		.await,
		201
	);
	let wf = create(&server, &editor.client, "shared").await;
	for who in [&operator, &viewer] {
		let r = who
			.client
			.post(server.url("/api/v1/workflows"))
			.json(&workflow("nope"));
		assert_eq!(status(r).await, 403);
	}
	// Shared with the operator (read, update, execute) and the viewer (read).
	let shares = json!({"shares": [
		{"user_id": operator.id, "actions": ["read", "update", "execute"]},
		{"user_id": viewer.id, "actions": ["read"]}]});
	let url = server.url(&format!("/api/v1/workflows/{wf}/shares"));
	assert_eq!(
		status(operator.client.put(&url).json(&shares)).await,
		404,
		"not visible yet"
	);
	assert_eq!(status(editor.client.put(&url).json(&shares)).await, 200);
	assert_eq!(
		status(operator.client.put(&url).json(&shares)).await,
		403,
		"not the owner"
	);
	let wf_url = server.url(&format!("/api/v1/workflows/{wf}"));
	let patch = json!({"description": "changed"});
	let exec_url = server.url(&format!("/api/v1/workflows/{wf}/execute"));
	// (who, read, update, execute, delete)
	let matrix: [(&reqwest::Client, u16, u16, u16); 3] = [
		(&editor.client, 200, 200, 200),
		(&operator.client, 200, 403, 200),
		(&viewer.client, 200, 403, 403),
	];
	for (who, read, update, exec) in matrix {
		assert_eq!(status(who.get(&wf_url)).await, read);
		assert_eq!(status(who.patch(&wf_url).json(&patch)).await, update);
		assert_eq!(status(who.post(&exec_url).json(&json!({}))).await, exec);
	}
	for who in [&operator.client, &viewer.client] {
		assert_eq!(status(who.delete(&wf_url)).await, 403);
	}
	// An editor with an update share edits, but cannot make the workflow read more of its
	// owner's credentials (they would go wherever the editor points them).
	let eve = account(&server, &admin, "eve", "editor").await;
	let shares = json!({"shares": [
		{"user_id": operator.id, "actions": ["read", "update", "execute"]},
		{"user_id": viewer.id, "actions": ["read"]},
		{"user_id": eve.id, "actions": ["read", "update"]}]});
	assert_eq!(status(editor.client.put(&url).json(&shares)).await, 200);
	let mut edited = workflow("shared");
	assert_eq!(status(eve.client.put(&wf_url).json(&edited)).await, 200);
	edited["definition"]["components"][1]["config"]["message"] = json!("{{secrets.x}}");
	assert_eq!(status(eve.client.put(&wf_url).json(&edited)).await, 403);
	assert_eq!(
		status(editor.client.put(&wf_url).json(&edited)).await,
		200,
		"the owner may"
	);
	// Admin-only resources.
	for path in ["/api/v1/users", "/api/v1/audit"] {
		assert_eq!(status(admin.get(server.url(path))).await, 200);
		for who in [&editor, &operator, &viewer] {
			assert_eq!(
				status(who.client.get(server.url(path))).await,
				403,
				"{path}"
			);
		}
	}
	let cred = json!({"name": "x", "value": "v-123456"});
	assert_eq!(
		status(
			editor
				.client
				.post(server.url("/api/v1/credentials"))
				.json(&cred)
		)
		.await,
		201
	);
	for who in [&operator, &viewer] {
		let r = who
			.client
			.post(server.url("/api/v1/credentials"))
			.json(&cred);
		assert_eq!(status(r).await, 403);
	}
	// The same over GraphQL.
	let create_q = r#"mutation($d: String!) { createWorkflow(name: "g", definition: $d) { id } }"#;
	let d = workflow("g")["definition"].to_string();
	let ok = graphql(&server, &editor.client, create_q, json!({"d": d})).await;
	assert!(ok["errors"].is_null(), "{ok}");
	for who in [&operator, &viewer] {
		let refused = graphql(&server, &who.client, create_q, json!({"d": d})).await;
		assert_eq!(
			refused["errors"][0]["extensions"]["category"], "security",
			"{refused}"
		);
	}
	let exec_q = r#"mutation($id: ID!) { executeWorkflow(workflowId: $id) { id } }"#;
	let ran = graphql(&server, &operator.client, exec_q, json!({"id": wf})).await;
	assert!(ran["errors"].is_null(), "{ran}");
	let refused = graphql(&server, &viewer.client, exec_q, json!({"id": wf})).await;
	assert_eq!(
		refused["errors"][0]["extensions"]["category"], "security",
		"{refused}"
	);
	let del_q = r#"mutation($id: ID!) { deleteWorkflow(id: $id) }"#;
	let refused = graphql(&server, &operator.client, del_q, json!({"id": wf})).await;
	assert!(!refused["errors"].is_null(), "{refused}");
	// Denials are audited with who was refused.
	let audit: Value = get_json(
		&admin,
		server.url("/api/v1/audit?outcome=denied&actor=vera&limit=500"),
	)
	.await;
	assert!(audit["data"].as_array().unwrap().len() >= 4, "{audit}");
}

async fn strangers_see_nothing(server: Server) {
	let admin = admin_client(&server.base).await;
	let a = account(&server, &admin, "alice", "editor").await;
	let b = account(&server, &admin, "bob", "editor").await;
	let wf = create(&server, &a.client, "private").await;
	let exec = execute(&server, &a.client, &wf).await;
	wait_ended(&server, &a.client, &exec).await;
	for path in [
		format!("/api/v1/workflows/{wf}"),
		format!("/api/v1/workflows/{wf}/stats"),
		format!("/api/v1/workflows/{wf}/versions"),
		format!("/api/v1/workflows/{wf}/shares"),
		format!("/api/v1/executions/{exec}"),
		format!("/api/v1/executions/{exec}/logs"),
		format!("/api/v1/executions/{exec}/trace"),
		format!("/api/v1/executions/{exec}/debug"),
	] {
		assert_eq!(status(a.client.get(server.url(&path))).await, 200, "{path}");
		assert_eq!(status(b.client.get(server.url(&path))).await, 404, "{path}");
	}
	let patch = json!({"description": "mine now"});
	let wf_url = server.url(&format!("/api/v1/workflows/{wf}"));
	assert_eq!(status(b.client.patch(&wf_url).json(&patch)).await, 404);
	assert_eq!(status(b.client.delete(&wf_url)).await, 404);
	let exec_url = server.url(&format!("/api/v1/workflows/{wf}/execute"));
	assert_eq!(status(b.client.post(&exec_url).json(&json!({}))).await, 404);
	let retry = server.url(&format!("/api/v1/executions/{exec}/retry"));
	assert_eq!(status(b.client.post(&retry)).await, 404);
	for list in ["/api/v1/workflows", "/api/v1/executions"] {
		let body: Value = get_json(&b.client, server.url(list)).await;
		assert_eq!(body["data"].as_array().unwrap().len(), 0, "{list}: {body}");
	}
	let q = r#"query($w: ID!, $e: ID!) { workflow(id: $w) { id } execution(id: $e) { id } }"#;
	let seen = graphql(&server, &b.client, q, json!({"w": wf, "e": exec})).await;
	assert!(
		seen["data"]["workflow"].is_null() && seen["data"]["execution"].is_null(),
		"{seen}"
	);
	let seen = graphql(&server, &a.client, q, json!({"w": wf, "e": exec})).await;
	assert_eq!(seen["data"]["workflow"]["id"], wf.as_str(), "{seen}");
	// Subscriptions: B cannot follow A's workflow or execution over /ws.
	use futures_util::{SinkExt, StreamExt};
	let url = format!(
		"{}/ws?access_token={}",
		server.base.replacen("http", "ws", 1),
		b.token
	);
	let (mut ws, _) = tokio_tungstenite::connect_async(url).await.unwrap();
	for sub in [
		json!({"action": "subscribe", "workflow_id": wf}),
		json!({"action": "subscribe", "execution_id": exec}),
	] {
		ws.send(tokio_tungstenite::tungstenite::Message::Text(
			sub.to_string().into(),
		))
		.await
		.unwrap();
		let reply = ws.next().await.unwrap().unwrap().into_text().unwrap();
		let reply: Value = serde_json::from_str(&reply).unwrap();
		assert_eq!(reply["type"], "error", "{reply}");
	}
	// Every one of those refusals is audited as B's.
	let audit: Value = get_json(
		&admin,
		server.url("/api/v1/audit?outcome=denied&actor=bob&limit=500"),
	)
	.await;
	assert!(audit["data"].as_array().unwrap().len() >= 12, "{audit}");
}

/// A loopback HTTP server that answers each request with the request itself (so a component
/// that calls it gets its own headers back in its output), and remembers what it received.
fn echo_server() -> (String, std::sync::Arc<std::sync::Mutex<String>>) {
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

fn occurrences(haystack: &[u8], needle: &str) -> usize {
	haystack
		.windows(needle.len())
		.filter(|w| *w == needle.as_bytes())
		.count()
}

/// Files of the SQLite database under a data dir (main file, WAL, shared memory).
fn sqlite_bytes(data: &std::path::Path) -> Vec<u8> {
	let mut all = Vec::new();
	for entry in std::fs::read_dir(data).unwrap().flatten() {
		let name = entry.file_name().to_string_lossy().to_string();
		if name.contains(".db") || name.contains("sqlite") {
			all.extend(std::fs::read(entry.path()).unwrap_or_default());
		}
	}
	all
}

async fn secrets_stay_secret(
	server: &Server,
	admin: &reqwest::Client,
	echo: &str,
) -> (String, String, String) {
	let secret = format!("CRED-{}", uuid::Uuid::now_v7().simple());
	let sealed = format!("FIELD-{}", uuid::Uuid::now_v7().simple());
	let r = admin
		.post(server.url("/api/v1/credentials"))
		.json(&json!({"name": "api", "value": secret, "description": "echo"}))
		.send()
		.await
		.unwrap();
	assert_eq!(r.status(), 201);
	let created: Value = r.json().await.unwrap();
	assert_eq!(created["data"]["value"], "***");
	let cred_id = created["data"]["id"].as_str().unwrap().to_owned();
	for path in [
		"/api/v1/credentials".to_owned(),
		format!("/api/v1/credentials/{cred_id}"),
	] {
		let text = get_text(admin, server.url(&path)).await;
		assert!(!text.contains(&secret), "{path} returned the value");
	}
	let wf = json!({"name": "uses secrets", "definition": {
		"components": [
			{"id": "start", "type": "start"},
			{"id": "call", "type": "http_request", "config": {"url": echo, "method": "GET",
				"headers": {"X-Api": "{{secrets.api}}"}, "auth": {"token": sealed}}},
			{"id": "say", "type": "task", "config": {"task_type": "echo",
				"message": "key={{secrets.api}}"}},
			{"id": "end", "type": "end"}
		],
		"connections": [{"source": "start", "target": "call"}, {"source": "call", "target": "say"},
			{"source": "say", "target": "end"}]
	}});
	let r = admin
		.post(server.url("/api/v1/workflows"))
		.json(&wf)
		.send()
		.await
		.unwrap();
	let text = r.text().await.unwrap();
	assert!(
		!text.contains(&sealed),
		"the sealed field came back: {text}"
	);
	let body: Value = serde_json::from_str(&text).unwrap();
	assert_eq!(
		body["data"]["definition"]["components"][1]["config"]["auth"]["token"], "***",
		"{body}"
	);
	let wf_id = body["data"]["id"].as_str().unwrap().to_owned();
	let exec = execute(server, admin, &wf_id).await;
	let ended = wait_ended(server, admin, &exec).await;
	(wf_id, exec, format!("{secret}|{sealed}|{ended}"))
}

async fn credentials_are_write_only_and_sealed_at_rest() {
	let (echo, seen) = echo_server();
	let dir = tempfile::tempdir().unwrap();
	let data = dir.path().join("data");
	let server = Server::start_in(&data, &[("APG_HTTP_ALLOW", "127.0.0.1")]);
	let admin = admin_client(&server.base).await;
	let (_, exec, facts) = secrets_stay_secret(&server, &admin, &echo).await;
	let parts: Vec<&str> = facts.splitn(3, '|').collect();
	let (secret, sealed, ended) = (parts[0], parts[1], parts[2]);
	assert!(ended.contains("\"completed\""), "{ended}");
	// The component really got the secret…
	let received = seen.lock().unwrap().clone();
	assert!(
		received.contains(secret) && received.contains(&format!("Bearer {sealed}")),
		"{received}"
	);
	// …and nothing it returned kept it.
	for path in [
		format!("/api/v1/executions/{exec}"),
		format!("/api/v1/executions/{exec}/logs"),
		format!("/api/v1/executions/{exec}/trace"),
	] {
		let text = get_text(&admin, server.url(&path)).await;
		assert!(
			!text.contains(secret) && !text.contains(sealed),
			"{path}: {text}"
		);
		assert!(
			path.ends_with("logs") || text.contains("***"),
			"{path} shows the mask"
		);
	}
	let bytes = sqlite_bytes(&data);
	assert!(bytes.len() > 10_000);
	assert_eq!(
		occurrences(&bytes, secret),
		0,
		"credential in the SQLite files"
	);
	assert_eq!(
		occurrences(&bytes, sealed),
		0,
		"sealed field in the SQLite files"
	);
	// The key file is private.
	#[cfg(unix)]
	{
		use std::os::unix::fs::PermissionsExt;
		let key = data.join("encryption.key");
		if key.exists() {
			assert_eq!(
				std::fs::metadata(key).unwrap().permissions().mode() & 0o777,
				0o600
			);
		}
	}
	drop(server);
	// A wrong key: the server starts, logins work, the step that needs the secret fails with a
	// clear message (never a 500).
	let other = Keyring::generate_key();
	let server = Server::start_in(
		&data,
		&[
			("APG_HTTP_ALLOW", "127.0.0.1"),
			("WORKFLOW_ENCRYPTION_KEY", &other),
		],
	);
	let admin = admin_client(&server.base).await;
	let list: Value = get_json(&admin, server.url("/api/v1/workflows")).await;
	let wf_id = list["data"][0]["id"].as_str().unwrap().to_owned();
	let exec = execute(&server, &admin, &wf_id).await;
	let ended = wait_ended(&server, &admin, &exec).await;
	assert_eq!(ended["status"], "failed", "{ended}");
	let error = ended["error_message"].to_string() + &ended.to_string();
	assert!(error.contains("cannot decrypt"), "{error}");
	drop(server);
	// A tampered token with the right key: the same clear failure.
	{
		use sqlx::{Connection, SqliteConnection};
		let db = std::fs::read_dir(&data)
			.unwrap()
			.flatten()
			.map(|e| e.path())
			.find(|p| p.extension().is_some_and(|x| x == "db"))
			.unwrap();
		let mut conn = SqliteConnection::connect(&format!("sqlite://{}", db.display()))
			.await
			.unwrap();
		sqlx::query(
			"UPDATE credentials SET token = substr(token, 1, 30) || 'AAAA' || substr(token, 35)",
		)
		.execute(&mut conn)
		.await
		.unwrap();
	}
	let server = Server::start_in(&data, &[("APG_HTTP_ALLOW", "127.0.0.1")]);
	let admin = admin_client(&server.base).await;
	let exec = execute(&server, &admin, &wf_id).await;
	let ended = wait_ended(&server, &admin, &exec).await;
	assert_eq!(ended["status"], "failed", "{ended}");
	assert!(ended.to_string().contains("cannot decrypt"), "{ended}");
}

async fn postgres_holds_no_clear_secret() {
	let Some(server) = Server::start_postgres_with(&[("APG_HTTP_ALLOW", "127.0.0.1")]).await else {
		eprintln!("skipped: APG_TEST_DATABASE_URL is not set");
		return;
	};
	let (echo, _) = echo_server();
	let admin = admin_client(&server.base).await;
	let (_, _, facts) = secrets_stay_secret(&server, &admin, &echo).await;
	let parts: Vec<&str> = facts.splitn(3, '|').collect();
	let (url, schema) = server.pg().unwrap();
	let dump = std::process::Command::new("pg_dump")
		.args(["--dbname", &url, "--schema", &schema, "--data-only"])
		.output()
		.expect("pg_dump runs");
	assert!(
		dump.status.success(),
		"{}",
		String::from_utf8_lossy(&dump.stderr)
	);
	assert!(dump.stdout.len() > 1000);
	assert!(String::from_utf8_lossy(&dump.stdout).contains("fernet:"));
	assert_eq!(
		occurrences(&dump.stdout, parts[0]),
		0,
		"credential in pg_dump"
	);
	assert_eq!(
		occurrences(&dump.stdout, parts[1]),
		0,
		"sealed field in pg_dump"
	);
}

async fn logins_are_throttled(server: Server) {
	let admin = admin_client(&server.base).await;
	let _tina = account(&server, &admin, "tina", "viewer").await;
	let plain = reqwest::Client::new();
	let mut codes = Vec::new();
	// `account` logged tina in once: nine more attempts fit in her minute.
	for _ in 0..11 {
		let r = plain
			.post(server.url("/api/v1/auth/login"))
			.json(&json!({"username": "tina", "password": "wrong password"}));
		codes.push(status(r).await);
	}
	assert_eq!(&codes[..9], &[401; 9], "{codes:?}");
	assert_eq!(codes[9], 429, "{codes:?}");
	let r = plain
		.post(server.url("/api/v1/auth/login"))
		.json(&json!({"username": "tina", "password": "tina-password-1"}));
	assert_eq!(
		status(r).await,
		429,
		"even the right password waits out the minute"
	);
	// API keys: shown once, work, and stop working when revoked.
	let r = admin
		.post(server.url("/api/v1/auth/tokens"))
		.json(&json!({"name": "ci"}))
		.send()
		.await
		.unwrap();
	assert_eq!(r.status(), 201);
	let body: Value = r.json().await.unwrap();
	let key = body["data"]["key"].as_str().unwrap().to_owned();
	let id = body["data"]["id"].as_str().unwrap().to_owned();
	let listed = get_text(&admin, server.url("/api/v1/auth/tokens")).await;
	assert!(!listed.contains(&key));
	let machine = reqwest::Client::new();
	let me = machine
		.get(server.url("/api/v1/auth/me"))
		.header("x-api-key", &key);
	assert_eq!(status(me).await, 200);
	assert_eq!(
		status(admin.delete(server.url(&format!("/api/v1/auth/tokens/{id}")))).await,
		200
	);
	let me = machine
		.get(server.url("/api/v1/auth/me"))
		.header("x-api-key", &key);
	assert_eq!(status(me).await, 401);
	// Refresh tokens buy access tokens and are refused as access tokens.
	let login: Value = plain
		.post(server.url("/api/v1/auth/login"))
		.json(&json!({"username": "admin", "password": crate::util::ADMIN_PASSWORD}))
		.send()
		.await
		.unwrap()
		.json()
		.await
		.unwrap();
	let refresh = login["data"]["refresh_token"].as_str().map(str::to_owned);
	if let Some(refresh) = refresh {
		let r = client_with(&refresh).get(server.url("/api/v1/auth/me"));
		assert_eq!(status(r).await, 401);
		let r = plain
			.post(server.url("/api/v1/auth/refresh"))
			.json(&json!({"refresh_token": refresh}));
		assert_eq!(status(r).await, 200);
	}
}

crate::on_every_backend! {
	every_route_refuses_missing_expired_and_foreign_tokens => super::unauthenticated_everywhere,
	a_role_by_operation_matrix_holds_over_rest_and_graphql => super::roles_and_operations,
	a_stranger_gets_404_for_everything_of_another_user => super::strangers_see_nothing,
	logins_are_throttled_and_api_keys_revocable => super::logins_are_throttled,
}

#[tokio::test(flavor = "multi_thread")]
async fn credentials_are_write_only_and_never_stored_in_clear_on_sqlite() {
	credentials_are_write_only_and_sealed_at_rest().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn postgres_dump_holds_no_clear_secret() {
	postgres_holds_no_clear_secret().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn websocket_connections_are_limited_per_user_across_ws_and_graphql() {
	let dir = tempfile::tempdir().unwrap();
	let server = Server::start_in(&dir.path().join("data"), &[("APG_MAX_WS_PER_USER", "2")]);
	let admin = admin_client(&server.base).await;
	let other = account(&server, &admin, "wendy", "viewer").await;
	let admin_token = token(&server.base, "admin", crate::util::ADMIN_PASSWORD).await;
	let ws = |path: &str, token: &str| {
		format!(
			"{}{path}?access_token={token}",
			server.base.replacen("http", "ws", 1)
		)
	};
	let first = tokio_tungstenite::connect_async(ws("/ws", &admin_token))
		.await
		.unwrap();
	let mut request =
		tokio_tungstenite::tungstenite::client::IntoClientRequest::into_client_request(ws(
			"/graphql",
			&admin_token,
		))
		.unwrap();
	request.headers_mut().insert(
		"sec-websocket-protocol",
		"graphql-transport-ws".parse().unwrap(),
	);
	let second = tokio_tungstenite::connect_async(request).await.unwrap();
	for path in ["/ws", "/graphql"] {
		let Err(e) = tokio_tungstenite::connect_async(ws(path, &admin_token)).await else {
			panic!("a third connection on {path} was accepted");
		};
		assert!(e.to_string().contains("429"), "{path}: {e}");
	}
	// Another user has a budget of their own, and closing gives a slot back.
	tokio_tungstenite::connect_async(ws("/ws", &other.token))
		.await
		.unwrap();
	drop(first);
	drop(second);
	let mut reopened = false;
	for _ in 0..50 {
		if tokio_tungstenite::connect_async(ws("/ws", &admin_token))
			.await
			.is_ok()
		{
			reopened = true;
			break;
		}
		tokio::time::sleep(Duration::from_millis(20)).await;
	}
	assert!(reopened, "slots came back after closing");
}

/// Runs the binary with `args` and `stdin`, returning (exit code, stdout).
fn cli(args: &[&str], env: &[(&str, &str)], stdin: &str) -> (i32, String) {
	use std::io::Write;
	let mut child = crate::util::bin()
		.args(args)
		.envs(env.iter().copied())
		.stdin(std::process::Stdio::piped())
		.stdout(std::process::Stdio::piped())
		.stderr(std::process::Stdio::piped())
		.spawn()
		.unwrap();
	child
		.stdin
		.take()
		.unwrap()
		.write_all(stdin.as_bytes())
		.unwrap();
	let out = child.wait_with_output().unwrap();
	(out.status.code().unwrap_or(-1), crate::util::text(&out))
}

#[tokio::test(flavor = "multi_thread")]
async fn users_are_managed_from_the_cli_and_keys_rotate_without_losing_a_secret() {
	let dir = tempfile::tempdir().unwrap();
	let data = dir.path().join("data");
	let d = data.to_str().unwrap();
	let old = Keyring::generate_key();
	let new = Keyring::generate_key();
	// Users straight in the store, before any server ran.
	let (code, out) = cli(
		&[
			"user",
			"create",
			"carol",
			"--role",
			"operator",
			"--password-stdin",
			"--data-dir",
			d,
		],
		&[],
		"carol-password-1\n",
	);
	assert_eq!(code, 0, "{out}");
	let (code, out) = cli(&["user", "create", "dave", "--data-dir", d], &[], "");
	assert_eq!(code, 0, "{out}");
	let generated = out
		.lines()
		.find_map(|l| l.strip_prefix("password: "))
		.unwrap()
		.to_owned();
	let (code, out) = cli(&["user", "create", "x", "--data-dir", d], &[], "");
	assert_ne!(code, 0, "a too-short username is refused: {out}");
	let (code, out) = cli(&["user", "create", "carol", "--data-dir", d], &[], "");
	assert_ne!(code, 0, "a taken username is refused: {out}");
	let (code, out) = cli(&["user", "list", "--data-dir", d], &[], "");
	assert!(
		code == 0 && out.contains("carol\toperator") && out.contains("dave\teditor"),
		"{out}"
	);

	// A server with the old key: users exist, so no admin is made; carol and dave log in.
	let env_old = [
		("WORKFLOW_ENCRYPTION_KEY", old.as_str()),
		("APG_HTTP_ALLOW", "127.0.0.1"),
	];
	let server = Server::start_in(&data, &env_old);
	let r = reqwest::Client::new()
		.post(server.url("/api/v1/auth/login"))
		.json(&json!({"username": "admin", "password": crate::util::ADMIN_PASSWORD}));
	assert_eq!(status(r).await, 401, "no admin was created: users existed");
	token(&server.base, "carol", "carol-password-1").await;
	let dave = client_with(&token(&server.base, "dave", &generated).await);
	let (echo, seen) = echo_server();
	let r = dave
		.post(server.url("/api/v1/credentials"))
		.json(&json!({"name": "api", "value": "rotate-me-please"}))
		.send()
		.await
		.unwrap();
	assert_eq!(r.status(), 201);
	let wf = json!({"name": "rotating", "definition": {
		"components": [{"id": "start", "type": "start"},
			{"id": "call", "type": "http_request", "config": {"url": echo,
				"headers": {"X-Api": "{{secrets.api}}"}, "auth": {"token": "sealed-field-value"}}}],
		"connections": [{"source": "start", "target": "call"}]}});
	let body: Value = dave
		.post(server.url("/api/v1/workflows"))
		.json(&wf)
		.send()
		.await
		.unwrap()
		.json()
		.await
		.unwrap();
	let wf_id = body["data"]["id"].as_str().unwrap().to_owned();
	let run = |server: &Server, who: &reqwest::Client| {
		let (server_url, who) = (server.url(""), who.clone());
		let wf_id = wf_id.clone();
		async move {
			let url = format!("{server_url}/api/v1/workflows/{wf_id}/execute");
			let body: Value = who
				.post(url)
				.json(&json!({}))
				.send()
				.await
				.unwrap()
				.json()
				.await
				.unwrap();
			body["data"]["id"].as_str().unwrap().to_owned()
		}
	};
	let exec = run(&server, &dave).await;
	assert_eq!(
		wait_ended(&server, &dave, &exec).await["status"],
		"completed"
	);
	drop(server);

	// Rotation: the new key first, the old one after; reseal; then the old key alone is gone.
	let both = format!("{new},{old}");
	let (code, out) = cli(
		&["keys", "reseal", "--data-dir", d],
		&[("WORKFLOW_ENCRYPTION_KEY", &both)],
		"",
	);
	assert_eq!(code, 0, "{out}");
	assert!(
		out.contains("resealed 1 credentials and 1 workflows"),
		"{out}"
	);
	let env_new = [
		("WORKFLOW_ENCRYPTION_KEY", new.as_str()),
		("APG_HTTP_ALLOW", "127.0.0.1"),
	];
	let server = Server::start_in(&data, &env_new);
	let dave = client_with(&token(&server.base, "dave", &generated).await);
	seen.lock().unwrap().clear();
	let exec = run(&server, &dave).await;
	let ended = wait_ended(&server, &dave, &exec).await;
	assert_eq!(ended["status"], "completed", "{ended}");
	let received = seen.lock().unwrap().clone();
	assert!(
		received.contains("rotate-me-please") && received.contains("sealed-field-value"),
		"{received}"
	);
	// A new password from the CLI works at once, the old one no longer does.
	let (code, out) = cli(
		&[
			"user",
			"passwd",
			"dave",
			"--password-stdin",
			"--data-dir",
			d,
		],
		&[],
		"dave-new-password\n",
	);
	assert_eq!(code, 0, "{out}");
	token(&server.base, "dave", "dave-new-password").await;
	let r = reqwest::Client::new()
		.post(server.url("/api/v1/auth/login"))
		.json(&json!({"username": "dave", "password": generated}));
	assert_eq!(status(r).await, 401);
}

#[tokio::test(flavor = "multi_thread")]
async fn revoking_a_share_or_disabling_a_user_ends_their_websocket_feeds() {
	use futures_util::{SinkExt, StreamExt};
	use tokio_tungstenite::tungstenite::Message;
	let server = Server::start();
	let admin = admin_client(&server.base).await;
	let owner = account(&server, &admin, "olga", "editor").await;
	let reader = account(&server, &admin, "rita", "viewer").await;
	let wf = create(&server, &owner.client, "watched").await;
	let shares = server.url(&format!("/api/v1/workflows/{wf}/shares"));
	let share = json!({"shares": [{"user_id": reader.id, "actions": ["read"]}]});
	assert_eq!(status(owner.client.put(&shares).json(&share)).await, 200);
	let url = format!(
		"{}/ws?access_token={}",
		server.base.replacen("http", "ws", 1),
		reader.token
	);
	let (mut ws, _) = tokio_tungstenite::connect_async(url).await.unwrap();
	let sub = json!({"action": "subscribe", "workflow_id": wf});
	ws.send(Message::Text(sub.to_string().into()))
		.await
		.unwrap();
	let reply: Value =
		serde_json::from_str(&ws.next().await.unwrap().unwrap().into_text().unwrap()).unwrap();
	assert_eq!(reply["type"], "subscribed", "{reply}");
	// The owner takes the share back: the feed ends within the recheck period.
	assert_eq!(
		status(owner.client.put(&shares).json(&json!({"shares": []}))).await,
		200
	);
	let next = tokio::time::timeout(Duration::from_secs(10), ws.next())
		.await
		.unwrap();
	let reply: Value = serde_json::from_str(&next.unwrap().unwrap().into_text().unwrap()).unwrap();
	assert_eq!(reply["type"], "unsubscribed", "{reply}");
	assert_eq!(reply["workflow_id"], wf.as_str(), "{reply}");
	// Disabling the user closes the connection.
	let user = server.url(&format!("/api/v1/users/{}", reader.id));
	assert_eq!(
		status(admin.patch(&user).json(&json!({"active": false}))).await,
		200
	);
	let closed = tokio::time::timeout(Duration::from_secs(10), ws.next())
		.await
		.unwrap();
	assert!(
		matches!(closed, Some(Ok(Message::Close(_))) | None),
		"{closed:?}"
	);
}
