//! Who may call at all: every route without a token, with an expired one, with one signed by
//! another key → 401 (audited); login throttling; API keys; refresh.

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

crate::on_every_backend! {
	every_route_refuses_missing_expired_and_foreign_tokens => super::unauthenticated_everywhere,
	logins_are_throttled_and_api_keys_revocable => super::logins_are_throttled,
}
