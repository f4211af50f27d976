//! Webhooks through the real server (issue 13): a hook's URL starts its workflow with the
//! request as parameters (JSON, form or raw text; the query; chosen headers, never the
//! authorization); it answers at once or when the execution ends; its token rotates; a signed
//! hook refuses unsigned and wrongly signed bodies; bodies over its limit are 413, calls over
//! its rate 429; a malformed request starts nothing; a stranger cannot manage another's hooks;
//! a hook whose creator was disabled starts nothing.

use serde_json::{Value, json};

use crate::server::Server;
use crate::util::{admin_client, client_with, token};

async fn send(r: reqwest::RequestBuilder) -> (u16, Value) {
	let r = r.send().await.unwrap();
	let code = r.status().as_u16();
	(code, r.json().await.unwrap_or(Value::Null))
}

async fn count(server: &Server, who: &reqwest::Client, workflow: &str) -> usize {
	let url = server.url(&format!(
		"/api/v1/executions?workflow_id={workflow}&limit=500"
	));
	let (_, body) = send(who.get(url)).await;
	body["data"].as_array().unwrap().len()
}

async fn parameters(server: &Server, who: &reqwest::Client, execution: &Value) -> Value {
	let id = execution["data"]["execution_id"]
		.as_str()
		.expect("an execution id");
	let (code, body) = send(who.get(server.url(&format!("/api/v1/executions/{id}")))).await;
	assert_eq!(code, 200, "{body}");
	body["data"]["parameters"].clone()
}

async fn new_hook(
	server: &Server,
	who: &reqwest::Client,
	wf: &str,
	body: Value,
) -> (String, Value) {
	let (code, created) = send(
		who.post(server.url(&format!("/api/v1/workflows/{wf}/hooks")))
			.json(&body),
	)
	.await;
	assert_eq!(code, 201, "{created}");
	(
		created["data"]["path"].as_str().unwrap().to_owned(),
		created["data"].clone(),
	)
}

async fn hooks_start_their_workflow(server: Server) {
	let admin = admin_client(&server.base).await;
	let (code, wf) = send(
		admin
			.post(server.url("/api/v1/workflows"))
			.json(&crate::server::seed_workflow()),
	)
	.await;
	assert_eq!(code, 201);
	let wf = wf["data"]["id"].as_str().unwrap().to_owned();
	let anyone = reqwest::Client::new();
	let (path, created) = new_hook(
		&server,
		&admin,
		&wf,
		json!({"name": "ci", "headers": ["X-Event"]}),
	)
	.await;
	let token = created["token"].as_str().unwrap().to_owned();
	assert!(token.starts_with("apg_hook_"), "{created}");
	let (_, listed) = send(admin.get(server.url(&format!("/api/v1/workflows/{wf}/hooks")))).await;
	assert!(
		!listed.to_string().contains(&token),
		"a list never shows a token: {listed}"
	);
	assert_eq!(listed["data"][0]["headers"], json!(["x-event"]));

	// JSON, with a query and headers: only the chosen header is passed.
	let url = server.url(&format!("{path}?source=ci"));
	let (code, started) = send(
		anyone
			.post(&url)
			.header("X-Event", "push")
			.header("Authorization", "Bearer not-for-the-workflow")
			.json(&json!({"name": "ada", "count": 3})),
	)
	.await;
	assert_eq!(code, 202, "{started}");
	let p = parameters(&server, &admin, &started).await;
	assert_eq!(p["name"], "ada", "{p}");
	assert_eq!(p["count"], 3, "{p}");
	assert_eq!(p["webhook"]["query"]["source"], "ci", "{p}");
	assert_eq!(p["webhook"]["headers"], json!({"x-event": "push"}), "{p}");
	assert!(!p.to_string().contains("not-for-the-workflow"), "{p}");
	// A form, and raw text.
	let (code, started) = send(
		anyone
			.post(server.url(&path))
			.header("Content-Type", "application/x-www-form-urlencoded")
			.body("name=bob&city=Paris"),
	)
	.await;
	assert_eq!(code, 202, "{started}");
	let p = parameters(&server, &admin, &started).await;
	assert_eq!(
		(p["name"].clone(), p["city"].clone()),
		(json!("bob"), json!("Paris")),
		"{p}"
	);
	let (code, started) = send(
		anyone
			.post(server.url(&path))
			.header("Content-Type", "text/plain")
			.body("hello there"),
	)
	.await;
	assert_eq!(code, 202, "{started}");
	let p = parameters(&server, &admin, &started).await;
	assert_eq!(p["webhook"]["body"], "hello there", "{p}");

	// What `curl -d '{…}'` sends (form-typed JSON), and an untyped body, are read as JSON.
	for content_type in ["application/x-www-form-urlencoded", ""] {
		let mut r = anyone.post(server.url(&path)).body(r#"{"name": "curl"}"#);
		if !content_type.is_empty() {
			r = r.header("Content-Type", content_type);
		}
		let (code, started) = send(r).await;
		assert_eq!(code, 202, "{started}");
		let p = parameters(&server, &admin, &started).await;
		assert_eq!(p["name"], "curl", "{content_type}: {p}");
	}
	// Malformed requests start nothing.
	let before = count(&server, &admin, &wf).await;
	let bad = [
		anyone
			.post(server.url(&path))
			.header("Content-Type", "application/json")
			.body("{\"name\": "),
		anyone
			.post(server.url(&path))
			.header("Content-Type", "text/plain")
			.body(vec![0xff, 0xfe, 0x00]),
		anyone
			.post(server.url(&path))
			.header("Content-Type", "application/json")
			.body("[1, 2"),
	];
	for r in bad {
		let (code, answer) = send(r).await;
		assert_eq!(code, 400, "{answer}");
		assert_eq!(answer["success"], false);
	}
	let (code, _) = send(
		anyone
			.post(server.url("/api/v1/hooks/apg_hook_nope"))
			.json(&json!({})),
	)
	.await;
	assert_eq!(code, 404);
	assert_eq!(count(&server, &admin, &wf).await, before, "nothing started");

	// Rotation: the old token is dead at once.
	let hook_id = created["id"].as_str().unwrap();
	let (code, rotated) =
		send(admin.post(server.url(&format!("/api/v1/workflows/{wf}/hooks/{hook_id}/rotate"))))
			.await;
	assert_eq!(code, 200, "{rotated}");
	assert_eq!(
		send(anyone.post(server.url(&path)).json(&json!({})))
			.await
			.0,
		404
	);
	let new_path = rotated["data"]["path"].as_str().unwrap();
	assert_ne!(new_path, path);
	assert_eq!(
		send(anyone.post(server.url(new_path)).json(&json!({})))
			.await
			.0,
		202
	);

	// Waits for the end when asked to.
	let (waiting, _) = new_hook(&server, &admin, &wf, json!({"respond": "on_completion"})).await;
	let (code, done) = send(anyone.post(server.url(&waiting)).json(&json!({}))).await;
	assert_eq!(code, 200, "{done}");
	assert_eq!(done["data"]["status"], "completed", "{done}");

	// Limits: the body, the rate.
	let (small, _) = new_hook(&server, &admin, &wf, json!({"max_body_bytes": 64})).await;
	let big = json!({"text": "x".repeat(100)});
	assert_eq!(
		send(anyone.post(server.url(&small)).json(&big)).await.0,
		413
	);
	let (slow, _) = new_hook(&server, &admin, &wf, json!({"rate_per_minute": 2})).await;
	for _ in 0..2 {
		assert_eq!(
			send(anyone.post(server.url(&slow)).json(&json!({})))
				.await
				.0,
			202
		);
	}
	assert_eq!(
		send(anyone.post(server.url(&slow)).json(&json!({})))
			.await
			.0,
		429
	);

	// Signed: GitHub's scheme.
	let secret = "a shared secret";
	let signed = json!({"signature": {"secret": secret}});
	let (signed, created) = new_hook(&server, &admin, &wf, signed).await;
	assert!(
		!created.to_string().contains(secret),
		"the secret is never shown"
	);
	let body = br#"{"ref": "main"}"#.to_vec();
	let good = apg_auth::sign(apg_core::hook::Algorithm::Sha256, secret.as_bytes(), &body);
	let wrong = apg_auth::sign(apg_core::hook::Algorithm::Sha256, b"guess", &body);
	let post = |sig: Option<&str>| {
		let mut r = anyone
			.post(server.url(&signed))
			.header("Content-Type", "application/json")
			.body(body.clone());
		if let Some(sig) = sig {
			r = r.header("X-Hub-Signature-256", sig);
		}
		r
	};
	assert_eq!(send(post(None)).await.0, 401, "unsigned");
	assert_eq!(
		send(post(Some(&wrong))).await.0,
		401,
		"signed by someone else"
	);
	let (code, started) = send(post(Some(&good))).await;
	assert_eq!(code, 202, "{started}");
	assert_eq!(parameters(&server, &admin, &started).await["ref"], "main");
	let (_, audit) =
		send(admin.get(server.url("/api/v1/audit?action=hook.receive&limit=100"))).await;
	let entries = audit["data"].as_array().unwrap();
	assert!(entries.iter().any(|e| e["outcome"] == "denied"), "{audit}");
	assert!(entries.iter().any(|e| e["outcome"] == "allowed"), "{audit}");
}

async fn others_cannot_manage_or_abuse_hooks(server: Server) {
	let admin = admin_client(&server.base).await;
	let make = |name: &str, role: &str| json!({"username": name, "password": format!("{name}-password-1"), "role": role});
	let mut ids = Vec::new();
	for (name, role) in [
		("mallory", "editor"),
		("vera", "viewer"),
		("otto", "editor"),
	] {
		let (code, user) = send(
			admin
				.post(server.url("/api/v1/users"))
				.json(&make(name, role)),
		)
		.await;
		assert_eq!(code, 201, "{user}");
		ids.push(user["data"]["id"].as_str().unwrap().to_owned());
	}
	let login = |name: &'static str| {
		let base = server.base.clone();
		async move { client_with(&token(&base, name, &format!("{name}-password-1")).await) }
	};
	let (mallory, vera, otto) = (
		login("mallory").await,
		login("vera").await,
		login("otto").await,
	);
	let (_, wf) = send(
		otto.post(server.url("/api/v1/workflows"))
			.json(&crate::server::seed_workflow()),
	)
	.await;
	let wf = wf["data"]["id"].as_str().unwrap().to_owned();
	let (path, created) = new_hook(&server, &otto, &wf, json!({})).await;
	let hook_id = created["id"].as_str().unwrap().to_owned();
	let hooks = server.url(&format!("/api/v1/workflows/{wf}/hooks"));
	let one = format!("{hooks}/{hook_id}");
	// A stranger sees nothing and changes nothing.
	assert_eq!(send(mallory.get(&hooks)).await.0, 404);
	assert_eq!(send(mallory.post(&hooks).json(&json!({}))).await.0, 404);
	assert_eq!(send(mallory.post(format!("{one}/rotate"))).await.0, 404);
	assert_eq!(send(mallory.delete(&one)).await.0, 404);
	// A viewer it is shared with may list, not create or rotate.
	let share = json!({"shares": [{"user_id": ids[1], "actions": ["read"]}]});
	let shares = server.url(&format!("/api/v1/workflows/{wf}/shares"));
	assert_eq!(send(otto.put(&shares).json(&share)).await.0, 200);
	assert_eq!(send(vera.get(&hooks)).await.0, 200);
	assert_eq!(send(vera.post(&hooks).json(&json!({}))).await.0, 403);
	assert_eq!(send(vera.post(format!("{one}/rotate"))).await.0, 403);
	// Bad settings are refused and nothing is stored.
	for body in [
		json!({"rate_per_minute": 0}),
		json!({"timeout_seconds": 301}),
		json!({"headers": ["Authorization"]}),
		json!({"signature": {"secret": "short"}}),
		json!({"respond": "later"}),
		json!({"surprise": true}),
	] {
		let (code, answer) = send(otto.post(&hooks).json(&body)).await;
		assert_eq!(code, 400, "{body} → {answer}");
	}
	let (_, listed) = send(otto.get(&hooks)).await;
	assert_eq!(listed["data"].as_array().unwrap().len(), 1, "{listed}");
	// Its creator disabled, the hook starts nothing.
	let anyone = reqwest::Client::new();
	assert_eq!(
		send(anyone.post(server.url(&path)).json(&json!({})))
			.await
			.0,
		202
	);
	let user = server.url(&format!("/api/v1/users/{}", ids[2]));
	assert_eq!(
		send(admin.patch(&user).json(&json!({"active": false})))
			.await
			.0,
		200
	);
	let before = count(&server, &admin, &wf).await;
	let (code, answer) = send(anyone.post(server.url(&path)).json(&json!({}))).await;
	assert_eq!(code, 403, "{answer}");
	assert_eq!(count(&server, &admin, &wf).await, before);
	// Deleted, the hook is gone.
	assert_eq!(
		send(admin.patch(&user).json(&json!({"active": true})))
			.await
			.0,
		200
	);
	let otto = login("otto").await;
	assert_eq!(send(otto.delete(&one)).await.0, 200);
	assert_eq!(
		send(anyone.post(server.url(&path)).json(&json!({})))
			.await
			.0,
		404
	);
}

crate::on_every_backend! {
	a_hook_starts_its_workflow_with_the_request_within_its_limits =>
		super::hooks_start_their_workflow,
	strangers_cannot_manage_hooks_and_a_disabled_creators_hook_starts_nothing =>
		super::others_cannot_manage_or_abuse_hooks,
}
