//! Who may do what to which resource: the role × operation matrix over REST and GraphQL,
//! strangers getting 404 for everything, sharees' limits, WebSocket budgets and feeds that end
//! when access does.

use super::*;

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
	// An editor with an update share edits; what they save runs without the owner's secrets
	// until the owner saves it (the routes around that are in `sharee`).
	let eve = account(&server, &admin, "eve", "editor").await;
	let shares = json!({"shares": [
		{"user_id": operator.id, "actions": ["read", "update", "execute"]},
		{"user_id": viewer.id, "actions": ["read"]},
		{"user_id": eve.id, "actions": ["read", "update"]}]});
	assert_eq!(status(editor.client.put(&url).json(&shares)).await, 200);
	let mut edited = workflow("shared");
	assert_eq!(status(eve.client.put(&wf_url).json(&edited)).await, 200);
	edited["definition"]["components"][1]["config"]["message"] = json!("{{secrets.x}}");
	let saved = put_json(&eve.client, &wf_url, &edited).await;
	assert_eq!(saved["data"]["secrets_allowed"], false, "{saved}");
	let saved = put_json(&editor.client, &wf_url, &edited).await;
	assert_eq!(
		saved["data"]["secrets_allowed"], true,
		"the owner's save approves: {saved}"
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

crate::on_every_backend! {
	a_role_by_operation_matrix_holds_over_rest_and_graphql => super::roles_and_operations,
	a_stranger_gets_404_for_everything_of_another_user => super::strangers_see_nothing,
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
