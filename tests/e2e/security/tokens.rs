//! Who may call at all: every route without a token, with an expired one, with one signed by
//! another key → 401 (audited, aggregated); login throttling; API keys and their scopes;
//! single-use refresh tokens; a password change ending API keys; `/metrics` for
//! `metrics.read`; usernames unique ignoring case. (Throttling across addresses and accounts,
//! and the audit log's bounds under a flood, are in `throttle`.)

use super::*;

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
		// Open (they hand out tokens), or authenticated by the session cookie (ui_server.rs).
		if path == "/health"
			|| path.ends_with("/auth/login")
			|| path.ends_with("/auth/refresh")
			|| path.contains("/auth/session")
			// A hook's token is its credential (tests/e2e/hooks.rs).
			|| path.starts_with("/api/v1/hooks/")
		{
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
	// Every kind of refusal is in the audit log, and the rest are counted, not written one by
	// one: the first 20 kinds of this client's minute have rows of their own, the others one
	// `*` row between them.
	let audit: Value = get_json(
		&admin,
		server.url("/api/v1/audit?outcome=denied&action=auth.authenticate&limit=500"),
	)
	.await;
	let rows = audit["data"].as_array().unwrap();
	for reason in [
		"authentication required",
		"the token has expired",
		"the token's signature is not valid",
		"the token is not valid",
		"unknown API key",
	] {
		assert!(
			rows.iter().any(|r| r["details"]["reason"]
				.as_str()
				.is_some_and(|t| t.starts_with(reason))),
			"{reason}: {audit}"
		);
	}
	assert!(
		rows.iter()
			.any(|r| r["resource"] == "*" && r["details"]["aggregated"] == true),
		"{audit}"
	);
	assert!(
		rows.len() <= 25,
		"{} rows for {refused} refusals from one client",
		rows.len()
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
	let refresh = login["data"]["refresh_token"]
		.as_str()
		.expect("a refresh token");
	let r = client_with(refresh).get(server.url("/api/v1/auth/me"));
	assert_eq!(
		status(r).await,
		401,
		"a refresh token is not an access token"
	);
	let r = plain
		.post(server.url("/api/v1/auth/refresh"))
		.json(&json!({"refresh_token": refresh}));
	assert_eq!(status(r).await, 200);
}

async fn post(who: &reqwest::Client, url: String, body: Value) -> (u16, Value) {
	let r = who.post(url).json(&body).send().await.unwrap();
	let code = r.status().as_u16();
	(code, r.json().await.unwrap_or(Value::Null))
}

/// A refusal in the envelope: `success: false`, the category, never a 500.
fn refused(code: u16, body: &Value, want: u16, category: &str) {
	assert_eq!(code, want, "{body}");
	assert_eq!(body["success"], false, "{body}");
	assert_eq!(body["category"], category, "{body}");
}

async fn refresh_tokens_are_single_use(server: Server) {
	let admin = admin_client(&server.base).await;
	let _ivy = account(&server, &admin, "ivy", "viewer").await;
	let plain = reqwest::Client::new();
	let login = |name: &'static str| {
		post(
			&plain,
			server.url("/api/v1/auth/login"),
			json!({"username": name, "password": "ivy-password-1"}),
		)
	};
	let refresh = |token: &str| {
		post(
			&plain,
			server.url("/api/v1/auth/refresh"),
			json!({"refresh_token": token}),
		)
	};
	let (code, first) = login("ivy").await;
	assert_eq!(code, 200, "{first}");
	let r1 = first["data"]["refresh_token"].as_str().unwrap().to_owned();
	// A refresh rotates: a new refresh token, which works, and the used one is spent.
	let (code, second) = refresh(&r1).await;
	assert_eq!(code, 200, "{second}");
	let r2 = second["data"]["refresh_token"].as_str().unwrap().to_owned();
	assert_ne!(r1, r2, "a new refresh token");
	let a2 = second["data"]["access_token"].as_str().unwrap();
	assert_eq!(
		status(client_with(a2).get(server.url("/api/v1/auth/me"))).await,
		200
	);
	let (code, third) = refresh(&r2).await;
	assert_eq!(code, 200, "{third}");
	let r3 = third["data"]["refresh_token"].as_str().unwrap().to_owned();
	// Another login of the same user, before the theft is noticed: a family of its own.
	let (_, other) = login("ivy").await;
	let other_refresh = other["data"]["refresh_token"].as_str().unwrap().to_owned();

	// Someone kept a copy of r1 and uses it: refused, and the whole family goes, r3 included.
	let (code, body) = refresh(&r1).await;
	refused(code, &body, 401, "security");
	assert!(
		body["error"].as_str().unwrap().contains("already used"),
		"{body}"
	);
	for spent in [&r2, &r3] {
		let (code, body) = refresh(spent).await;
		refused(code, &body, 401, "security");
		assert!(
			body["error"].as_str().unwrap().contains("revoked"),
			"{body}"
		);
	}
	// The other login is untouched, and a new login works.
	let (code, body) = refresh(&other_refresh).await;
	assert_eq!(code, 200, "{body}");
	let (code, fresh) = login("ivy").await;
	assert_eq!(code, 200);
	let (code, _) = refresh(fresh["data"]["refresh_token"].as_str().unwrap()).await;
	assert_eq!(code, 200);
	// The refusals are audited.
	let audit: Value = get_json(
		&admin,
		server.url("/api/v1/audit?action=auth.refresh&outcome=denied"),
	)
	.await;
	assert!(
		audit["data"]
			.as_array()
			.unwrap()
			.iter()
			.any(|r| r["details"]["reason"]
				.as_str()
				.unwrap()
				.contains("already used")),
		"{audit}"
	);
}

/// Creates an API key as `who` and returns the status and body.
async fn new_key(server: &Server, who: &reqwest::Client, body: Value) -> (u16, Value) {
	post(who, server.url("/api/v1/auth/tokens"), body).await
}

fn key_client(body: &Value) -> reqwest::Client {
	client_with(body["data"]["key"].as_str().expect("a key"))
}

async fn a_new_password_revokes_api_keys(server: Server) {
	let admin = admin_client(&server.base).await;
	let pat = account(&server, &admin, "pat", "editor").await;
	let (code, body) = new_key(&server, &pat.client, json!({"name": "ci"})).await;
	assert_eq!(code, 201, "{body}");
	let ci = key_client(&body);
	let me = server.url("/api/v1/auth/me");
	assert_eq!(status(ci.get(&me)).await, 200);
	// Her own change, with the current password.
	let r = pat
		.client
		.put(server.url("/api/v1/users/me/password"))
		.json(&json!({"current_password": "pat-password-1", "new_password": "pat-password-2"}))
		.send()
		.await
		.unwrap();
	assert_eq!(r.status(), 200);
	let msg: Value = r.json().await.unwrap();
	assert!(
		msg["message"].as_str().unwrap().contains("API keys"),
		"{msg}"
	);
	let r = ci.get(&me).send().await.unwrap();
	assert_eq!(r.status(), 401, "the key died with the password");
	let body: Value = r.json().await.unwrap();
	refused(401, &body, 401, "security");
	assert!(
		body["error"].as_str().unwrap().contains("revoked"),
		"{body}"
	);
	assert_eq!(status(pat.client.get(&me)).await, 401, "and the session");
	let listed: Value = get_json(
		&client_with(&token(&server.base, "pat", "pat-password-2").await),
		server.url("/api/v1/auth/tokens"),
	)
	.await;
	assert!(!listed["data"][0]["revoked_at"].is_null(), "{listed}");

	// An admin setting it does the same.
	let pat2 = client_with(&token(&server.base, "pat", "pat-password-2").await);
	let (_, body) = new_key(&server, &pat2, json!({"name": "ci2"})).await;
	let ci2 = key_client(&body);
	assert_eq!(status(ci2.get(&me)).await, 200);
	let r = admin
		.patch(server.url(&format!("/api/v1/users/{}", pat.id)))
		.json(&json!({"password": "pat-password-3"}));
	assert_eq!(status(r).await, 200);
	assert_eq!(status(ci2.get(&me)).await, 401);
	// A change of role alone keeps keys (they act with the current role anyway).
	let pat3 = client_with(&token(&server.base, "pat", "pat-password-3").await);
	let (_, body) = new_key(&server, &pat3, json!({"name": "ci3"})).await;
	let ci3 = key_client(&body);
	let r = admin
		.patch(server.url(&format!("/api/v1/users/{}", pat.id)))
		.json(&json!({"role": "viewer"}));
	assert_eq!(status(r).await, 200);
	let seen: Value = get_json(&ci3, &me).await;
	assert_eq!(seen["data"]["role"], "viewer", "{seen}");
}

/// Callers' accounts are cached between requests, and every change to one holds from the very
/// next request: a new role, a disabled account, a deleted one; a second user is untouched.
async fn account_changes_hold_from_the_next_request(server: Server) {
	let admin = admin_client(&server.base).await;
	let bob = account(&server, &admin, "bob", "editor").await;
	let carol = account(&server, &admin, "carol", "editor").await;
	let (code, body) = new_key(&server, &bob.client, json!({"name": "ci"})).await;
	assert_eq!(code, 201, "{body}");
	let key = key_client(&body);
	let me = server.url("/api/v1/auth/me");
	let bob_url = server.url(&format!("/api/v1/users/{}", bob.id));
	let role = |v: Value| v["data"]["role"].as_str().unwrap_or_default().to_owned();
	// Warm: each caller's account is now cached.
	for _ in 0..3 {
		assert_eq!(role(get_json(&key, &me).await), "editor");
		assert_eq!(role(get_json(&bob.client, &me).await), "editor");
		assert_eq!(role(get_json(&carol.client, &me).await), "editor");
	}
	assert_eq!(
		status(admin.patch(&bob_url).json(&json!({"role": "viewer"}))).await,
		200
	);
	assert_eq!(
		role(get_json(&key, &me).await),
		"viewer",
		"the key acts with the new role"
	);
	assert_eq!(
		status(bob.client.get(&me)).await,
		401,
		"the session predates the change"
	);
	let create = server.url("/api/v1/workflows");
	let wf = json!({"name": "x", "definition": {"components": [{"id": "s", "type": "start"}]}});
	assert_eq!(
		status(key.post(&create).json(&wf)).await,
		403,
		"a viewer cannot create"
	);
	assert_eq!(
		status(admin.patch(&bob_url).json(&json!({"active": false}))).await,
		200
	);
	assert_eq!(status(key.get(&me)).await, 401, "disabled");
	assert_eq!(
		status(admin.patch(&bob_url).json(&json!({"active": true}))).await,
		200
	);
	assert_eq!(status(key.get(&me)).await, 200, "enabled again");
	assert_eq!(status(admin.delete(&bob_url)).await, 200);
	assert_eq!(status(key.get(&me)).await, 401, "deleted");
	assert_eq!(
		role(get_json(&carol.client, &me).await),
		"editor",
		"carol is untouched"
	);
}

async fn api_keys_mint_keys_only_with_the_keys_scope(server: Server) {
	let admin = admin_client(&server.base).await;
	let mal = account(&server, &admin, "mallory", "editor").await;
	let tokens = server.url("/api/v1/auth/tokens");
	// A password session may make keys; by default they get `api` only.
	let (code, body) = new_key(&server, &mal.client, json!({"name": "plain"})).await;
	assert_eq!(code, 201, "{body}");
	assert_eq!(body["data"]["scopes"], json!(["api"]));
	let plain = key_client(&body);
	let plain_id = body["data"]["id"].as_str().unwrap().to_owned();
	// That key works for the API but mints nothing and revokes nothing.
	assert_eq!(
		status(plain.get(server.url("/api/v1/workflows"))).await,
		200
	);
	assert_eq!(status(plain.get(&tokens)).await, 200, "listing is reading");
	let (code, body) = new_key(&server, &plain, json!({"name": "more"})).await;
	refused(code, &body, 403, "security");
	assert!(
		body["error"].as_str().unwrap().contains("'keys' scope"),
		"{body}"
	);
	let x_api_key = reqwest::Client::new()
		.post(&tokens)
		.header("x-api-key", body_key(&server, &mal.client).await)
		.json(&json!({"name": "more"}));
	assert_eq!(status(x_api_key).await, 403, "whatever header carries it");
	let r = plain.delete(server.url(&format!("/api/v1/auth/tokens/{plain_id}")));
	assert_eq!(status(r).await, 403);
	let listed: Value = get_json(&mal.client, &tokens).await;
	assert_eq!(
		listed["data"].as_array().unwrap().len(),
		2,
		"nothing minted: {listed}"
	);

	// A key with `keys` may mint, but never more than it has.
	let (code, body) = new_key(
		&server,
		&mal.client,
		json!({"name": "minter", "scopes": ["api", "keys"]}),
	)
	.await;
	assert_eq!(code, 201, "{body}");
	let minter = key_client(&body);
	let (code, body) = new_key(&server, &minter, json!({"name": "child"})).await;
	assert_eq!(code, 201, "{body}");
	for scopes in [json!(["api", "metrics"]), json!(["metrics"])] {
		let (code, body) = new_key(&server, &minter, json!({"name": "x", "scopes": scopes})).await;
		refused(code, &body, 403, "security");
	}
	// A non-admin cannot give any key `metrics`, even from a session.
	let (code, body) = new_key(
		&server,
		&mal.client,
		json!({"name": "m", "scopes": ["metrics"]}),
	)
	.await;
	refused(code, &body, 403, "security");
	// Bad scopes are 400s.
	for scopes in [json!([]), json!(["root"]), json!(["keys"]), json!("api")] {
		let (code, body) =
			new_key(&server, &mal.client, json!({"name": "x", "scopes": scopes})).await;
		refused(code, &body, 400, "validation");
	}
	// Whatever she mints acts as her, never as anyone else: the admin's things stay out of
	// reach, and user management is still an admin's.
	let child = key_client(&body_of_last_key(&server, &minter).await);
	assert_eq!(status(child.get(server.url("/api/v1/users"))).await, 403);
	assert_eq!(status(child.get(server.url("/api/v1/audit"))).await, 403);
	let me: Value = get_json(&child, server.url("/api/v1/auth/me")).await;
	assert_eq!(me["data"]["username"], "mallory");
	// The refusals are audited as hers.
	let audit: Value = get_json(
		&admin,
		server.url("/api/v1/audit?outcome=denied&actor=mallory&limit=100"),
	)
	.await;
	assert!(
		audit["data"]
			.as_array()
			.unwrap()
			.iter()
			.any(|r| r["action"] == "apikey.create"),
		"{audit}"
	);
}

/// A fresh default key of `who`, as the string.
async fn body_key(server: &Server, who: &reqwest::Client) -> String {
	let (code, body) = new_key(server, who, json!({"name": "header"})).await;
	assert_eq!(code, 201, "{body}");
	body["data"]["key"].as_str().unwrap().to_owned()
}

/// A new default key made by `who`, as the creation's body.
async fn body_of_last_key(server: &Server, who: &reqwest::Client) -> Value {
	let (code, body) = new_key(server, who, json!({"name": "child2"})).await;
	assert_eq!(code, 201, "{body}");
	body
}

async fn metrics_need_metrics_read(server: Server) {
	let admin = admin_client(&server.base).await;
	let vic = account(&server, &admin, "vic", "viewer").await;
	let metrics = server.url("/metrics");
	let r = vic.client.get(&metrics).send().await.unwrap();
	let code = r.status().as_u16();
	let body: Value = r.json().await.unwrap();
	refused(code, &body, 403, "security");
	assert!(
		body["error"].as_str().unwrap().contains("metrics.read"),
		"{body}"
	);
	let r = admin.get(&metrics).send().await.unwrap();
	assert_eq!(r.status(), 200);
	let text = r.text().await.unwrap();
	assert!(text.contains("apg_queue_depth"), "{text}");
	// The engine's checkpoint commits are counted (zero until something runs).
	assert!(text.contains("apg_checkpoint_commits_total"), "{text}");
	assert!(
		text.contains("apg_checkpoint_commit_seconds_total"),
		"{text}"
	);
	// A viewer's key, whatever it asks for, gets nothing more.
	let (code, body) = new_key(&server, &vic.client, json!({"name": "k"})).await;
	assert_eq!(code, 201);
	assert_eq!(status(key_client(&body).get(&metrics)).await, 403);
	// An admin's key needs the `metrics` scope, and a scraping key can do nothing else.
	let (_, body) = new_key(&server, &admin, json!({"name": "api only"})).await;
	let r = key_client(&body).get(&metrics).send().await.unwrap();
	let code = r.status().as_u16();
	let body: Value = r.json().await.unwrap();
	refused(code, &body, 403, "security");
	assert!(
		body["error"].as_str().unwrap().contains("'metrics' scope"),
		"{body}"
	);
	let (code, body) = new_key(
		&server,
		&admin,
		json!({"name": "scraper", "scopes": ["metrics"]}),
	)
	.await;
	assert_eq!(code, 201, "{body}");
	let scraper = key_client(&body);
	assert_eq!(status(scraper.get(&metrics)).await, 200);
	for path in ["/api/v1/workflows", "/api/v1/users", "/api/v1/auth/me"] {
		assert_eq!(status(scraper.get(server.url(path))).await, 403, "{path}");
	}
	let r = scraper
		.post(server.url("/graphql"))
		.json(&json!({"query": "{ workflows { id } }"}));
	assert_eq!(status(r).await, 403);
}

async fn usernames_are_unique_ignoring_case(server: Server) {
	let admin = admin_client(&server.base).await;
	let users = server.url("/api/v1/users");
	for name in ["ADMIN", "Admin", "aDmIn"] {
		let (code, body) = post(
			&admin,
			users.clone(),
			json!({"username": name, "password": "a-long-password", "role": "viewer"}),
		)
		.await;
		refused(code, &body, 409, "conflict");
		let error = body["error"].as_str().unwrap();
		assert_eq!(error, format!("username '{name}' is taken"), "{body}");
	}
	let _carl = account(&server, &admin, "Carl", "viewer").await;
	let (code, body) = post(
		&admin,
		users.clone(),
		json!({"username": "carl", "password": "a-long-password", "role": "admin"}),
	)
	.await;
	refused(code, &body, 409, "conflict");
	let text = body.to_string();
	assert!(
		!text.contains("UNIQUE") && !text.contains("constraint"),
		"{text}"
	);
	// Login ignores case: one account, whatever case is typed.
	for typed in ["carl", "CARL", "Carl"] {
		let t = token(&server.base, typed, "Carl-password-1").await;
		let me: Value = get_json(&client_with(&t), server.url("/api/v1/auth/me")).await;
		assert_eq!(me["data"]["username"], "Carl");
	}
	let listed: Value = get_json(&admin, &users).await;
	let names: Vec<&str> = listed["data"]
		.as_array()
		.unwrap()
		.iter()
		.map(|u| u["username"].as_str().unwrap())
		.collect();
	assert_eq!(names, ["Carl", "admin"], "{listed}");
}

/// `apg-workflow user passwd` (run beside the server, on its data) revokes the user's keys too:
/// the rule is the store's, so no path that sets a password can skip it.
#[tokio::test(flavor = "multi_thread")]
async fn the_cli_password_reset_revokes_api_keys() {
	let dir = tempfile::tempdir().unwrap();
	let data = dir.path().join("data");
	let server = Server::start_in(&data, &[]);
	let admin = admin_client(&server.base).await;
	let ada = account(&server, &admin, "ada", "editor").await;
	let (code, body) = new_key(&server, &ada.client, json!({"name": "ci"})).await;
	assert_eq!(code, 201, "{body}");
	let ci = key_client(&body);
	let me = server.url("/api/v1/auth/me");
	assert_eq!(status(ci.get(&me)).await, 200);
	let out = crate::util::run(&[
		"user",
		"passwd",
		"ADA",
		"--data-dir",
		data.to_str().unwrap(),
	]);
	assert!(out.status.success(), "{}", crate::util::text(&out));
	assert_eq!(
		status(ci.get(&me)).await,
		401,
		"the key died with the password"
	);
	assert_eq!(status(ada.client.get(&me)).await, 401, "and the session");
}

crate::on_every_backend! {
	every_route_refuses_missing_expired_and_foreign_tokens => super::unauthenticated_everywhere,
	logins_are_throttled_and_api_keys_revocable => super::logins_are_throttled,
	refresh_tokens_are_single_use_and_reuse_revokes_the_login => super::refresh_tokens_are_single_use,
	a_new_password_revokes_api_keys => super::a_new_password_revokes_api_keys,
	api_keys_mint_keys_only_with_the_keys_scope => super::api_keys_mint_keys_only_with_the_keys_scope,
	metrics_need_metrics_read => super::metrics_need_metrics_read,
	usernames_are_unique_ignoring_case => super::usernames_are_unique_ignoring_case,
	account_changes_hold_from_the_next_request => super::account_changes_hold_from_the_next_request,
}
