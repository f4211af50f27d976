//! Bad input on the security entry points (login, refresh, API keys, users, credentials,
//! shares, audit) gets a 4xx in the envelope, never a 5xx, and changes nothing stored.

use reqwest::Method;

use super::*;
use crate::bad_input::{Case, assert_envelope, send};

/// Everything the cases could change, as the admin reads it.
async fn snapshot(server: &Server, admin: &reqwest::Client, wf: &str) -> Vec<Value> {
	let mut out = Vec::new();
	for path in [
		"/api/v1/users".to_owned(),
		"/api/v1/credentials".to_owned(),
		"/api/v1/auth/tokens".to_owned(),
		format!("/api/v1/workflows/{wf}/shares"),
		format!("/api/v1/workflows/{wf}"),
	] {
		let body = get_json(admin, server.url(&path)).await;
		assert_eq!(body["success"], true, "{path}: {body}");
		out.push(body["data"].clone());
	}
	out
}

async fn bad_input_to_security_routes(server: Server) {
	let admin = admin_client(&server.base).await;
	let bob = account(&server, &admin, "bob", "viewer").await;
	let wf = create(&server, &admin, "target").await;
	let cred: Value = admin
		.post(server.url("/api/v1/credentials"))
		.json(&json!({"name": "existing", "value": "v-1"}))
		.send()
		.await
		.unwrap()
		.json()
		.await
		.unwrap();
	let cred = cred["data"]["id"].as_str().unwrap().to_owned();
	let me = get_json(&admin, server.url("/api/v1/auth/me")).await;
	let admin_id = me["data"]["id"].as_str().unwrap().to_owned();
	let before = snapshot(&server, &admin, &wf).await;
	let long = "a".repeat(100_000);
	let j = |v: Value| Some(v.to_string().into_bytes());
	let shares = format!("/api/v1/workflows/{wf}/shares");
	let cases: Vec<Case> = vec![
		(
			"login, wrong types",
			Method::POST,
			"/api/v1/auth/login".into(),
			j(json!({"username": 1, "password": 2})),
			400,
		),
		(
			"login, not an object",
			Method::POST,
			"/api/v1/auth/login".into(),
			j(json!([])),
			400,
		),
		(
			"login, unknown field",
			Method::POST,
			"/api/v1/auth/login".into(),
			j(json!({"username": "a", "password": "b", "x": 1})),
			400,
		),
		(
			"login, malformed JSON",
			Method::POST,
			"/api/v1/auth/login".into(),
			Some(b"{\"username\":".to_vec()),
			400,
		),
		(
			"login, a 100 kB username",
			Method::POST,
			"/api/v1/auth/login".into(),
			j(json!({"username": long, "password": "x"})),
			401,
		),
		(
			"refresh, wrong type",
			Method::POST,
			"/api/v1/auth/refresh".into(),
			j(json!({"refresh_token": 5})),
			400,
		),
		(
			"refresh, garbage token",
			Method::POST,
			"/api/v1/auth/refresh".into(),
			j(json!({"refresh_token": "x.y.z"})),
			401,
		),
		(
			"API key, empty name",
			Method::POST,
			"/api/v1/auth/tokens".into(),
			j(json!({"name": ""})),
			400,
		),
		(
			"API key, negative expiry",
			Method::POST,
			"/api/v1/auth/tokens".into(),
			j(json!({"name": "a", "expires_in_days": -1})),
			400,
		),
		(
			"API key, huge expiry",
			Method::POST,
			"/api/v1/auth/tokens".into(),
			Some(b"{\"name\":\"a\",\"expires_in_days\":1e30}".to_vec()),
			400,
		),
		(
			"API key, revoke unknown",
			Method::DELETE,
			"/api/v1/auth/tokens/nope".into(),
			None,
			404,
		),
		(
			"user, short password",
			Method::POST,
			"/api/v1/users".into(),
			j(json!({"username": "carl", "password": "short", "role": "editor"})),
			400,
		),
		(
			"user, unknown role",
			Method::POST,
			"/api/v1/users".into(),
			j(json!({"username": "carl", "password": "long-enough-1", "role": "god"})),
			400,
		),
		(
			"user, bad username",
			Method::POST,
			"/api/v1/users".into(),
			j(json!({"username": "a b", "password": "long-enough-1", "role": "editor"})),
			400,
		),
		(
			"user, taken username",
			Method::POST,
			"/api/v1/users".into(),
			j(json!({"username": "bob", "password": "long-enough-1", "role": "editor"})),
			409,
		),
		(
			"user, unknown field",
			Method::POST,
			"/api/v1/users".into(),
			j(
				json!({"username": "carl", "password": "long-enough-1", "role": "editor", "admin": true}),
			),
			400,
		),
		(
			"user, patch unknown id",
			Method::PATCH,
			"/api/v1/users/garbage".into(),
			j(json!({"role": "viewer"})),
			404,
		),
		(
			"user, patch bad role",
			Method::PATCH,
			format!("/api/v1/users/{}", bob.id),
			j(json!({"role": "god"})),
			400,
		),
		(
			"user, patch short password",
			Method::PATCH,
			format!("/api/v1/users/{}", bob.id),
			j(json!({"password": "x"})),
			400,
		),
		(
			"user, demote oneself",
			Method::PATCH,
			format!("/api/v1/users/{admin_id}"),
			j(json!({"role": "viewer"})),
			409,
		),
		(
			"user, delete oneself",
			Method::DELETE,
			format!("/api/v1/users/{admin_id}"),
			None,
			409,
		),
		(
			"own password, too short",
			Method::PUT,
			"/api/v1/users/me/password".into(),
			j(json!({"current_password": "x", "new_password": "y"})),
			400,
		),
		(
			"own password, wrong current",
			Method::PUT,
			"/api/v1/users/me/password".into(),
			j(json!({"current_password": "wrong-one", "new_password": "long-enough-2"})),
			403,
		),
		(
			"audit, limit 0",
			Method::GET,
			"/api/v1/audit?limit=0".into(),
			None,
			400,
		),
		(
			"audit, bad outcome",
			Method::GET,
			"/api/v1/audit?outcome=maybe".into(),
			None,
			400,
		),
		(
			"audit, limit not a number",
			Method::GET,
			"/api/v1/audit?limit=abc".into(),
			None,
			400,
		),
		(
			"credential, bad name",
			Method::POST,
			"/api/v1/credentials".into(),
			j(json!({"name": "1bad", "value": "x"})),
			400,
		),
		(
			"credential, empty value",
			Method::POST,
			"/api/v1/credentials".into(),
			j(json!({"name": "ok", "value": ""})),
			400,
		),
		(
			"credential, value not a string",
			Method::POST,
			"/api/v1/credentials".into(),
			j(json!({"name": "ok", "value": 5})),
			400,
		),
		(
			"credential, value over 64 KiB",
			Method::POST,
			"/api/v1/credentials".into(),
			j(json!({"name": "ok", "value": "v".repeat(70_000)})),
			400,
		),
		(
			"credential, taken name",
			Method::POST,
			"/api/v1/credentials".into(),
			j(json!({"name": "existing", "value": "v"})),
			409,
		),
		(
			"credential, update unknown",
			Method::PUT,
			"/api/v1/credentials/garbage".into(),
			j(json!({"value": "v"})),
			404,
		),
		(
			"credential, update empty value",
			Method::PUT,
			format!("/api/v1/credentials/{cred}"),
			j(json!({"value": ""})),
			400,
		),
		(
			"shares, not a list",
			Method::PUT,
			shares.clone(),
			j(json!({"shares": "x"})),
			400,
		),
		(
			"shares, bad user id",
			Method::PUT,
			shares.clone(),
			j(json!({"shares": [{"user_id": "nope", "actions": ["read"]}]})),
			400,
		),
		(
			"shares, unknown user",
			Method::PUT,
			shares.clone(),
			j(
				json!({"shares": [{"user_id": uuid::Uuid::now_v7().to_string(), "actions": ["read"]}]}),
			),
			422,
		),
		(
			"shares, unknown action",
			Method::PUT,
			shares.clone(),
			j(json!({"shares": [{"user_id": bob.id, "actions": ["fly"]}]})),
			400,
		),
		(
			"shares, unknown field",
			Method::PUT,
			shares.clone(),
			j(json!({"shares": [{"user_id": bob.id, "actions": ["read"], "created_at": "x"}]})),
			400,
		),
		(
			"shares, unknown workflow",
			Method::PUT,
			"/api/v1/workflows/garbage/shares".into(),
			j(json!({"shares": []})),
			404,
		),
	];
	for (what, method, path, body, expected) in cases {
		let (status, body) = send(&admin, method, server.url(&path), body).await;
		assert_envelope(status, &body, expected, what);
	}
	// The admin's session survived all of it, and nothing changed.
	assert_eq!(snapshot(&server, &admin, &wf).await, before);
}

crate::on_every_backend! {
	bad_input_to_the_security_routes_gets_a_4xx_and_changes_nothing => super::bad_input_to_security_routes,
}
