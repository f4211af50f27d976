//! The APG connectors through the binary, on every backend: a workflow acts with the
//! permissions of the user who started it (an operator's run cannot create a user, an admin's
//! can, and the refusal is audited), an in-app notification reaches the `/ws` connection of its
//! user and nobody else's, and `/api/v1/files` is each user's own.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

use crate::security::{Account, account, get_json, wait_ended};
use crate::server::Server;
use crate::util::admin_client;

crate::on_every_backend!(
	an_execution_acts_with_the_permissions_of_whoever_started_it => super::acts_as_its_starter,
	a_notification_reaches_the_websocket_of_its_user_only => super::notification_reaches_its_user,
	each_user_has_their_own_files => super::own_files,
);

/// A workflow `start → step → end` with one step of `kind` and `config`, shared with the
/// operator `share_with` (to execute) when given.
async fn connector_workflow(
	server: &Server,
	owner: &reqwest::Client,
	name: &str,
	kind: &str,
	config: Value,
	share_with: Option<&Account>,
) -> String {
	let definition = json!({"name": name, "definition": {
		"components": [
			{"id": "start", "type": "start"},
			{"id": "step", "type": kind, "config": config},
			{"id": "end", "type": "end"}
		],
		"connections": [
			{"source": "start", "target": "step"},
			{"source": "step", "target": "end"}
		]
	}});
	let r = owner
		.post(server.url("/api/v1/workflows"))
		.json(&definition)
		.send()
		.await
		.unwrap();
	assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
	let id = r.json::<Value>().await.unwrap()["data"]["id"]
		.as_str()
		.unwrap()
		.to_owned();
	if let Some(who) = share_with {
		let r = owner
			.put(server.url(&format!("/api/v1/workflows/{id}/shares")))
			.json(&json!({"shares": [{"user_id": who.id, "actions": ["read", "execute"]}]}))
			.send()
			.await
			.unwrap();
		assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
	}
	id
}

async fn run(server: &Server, who: &reqwest::Client, workflow: &str) -> Value {
	let r = who
		.post(server.url(&format!("/api/v1/workflows/{workflow}/execute")))
		.json(&json!({}))
		.send()
		.await
		.unwrap();
	assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
	let id = r.json::<Value>().await.unwrap()["data"]["id"]
		.as_str()
		.unwrap()
		.to_owned();
	wait_ended(server, who, &id).await
}

async fn acts_as_its_starter(server: Server) {
	let admin = admin_client(&server.base).await;
	let operator = account(&server, &admin, "ops", "operator").await;
	let create = json!({"operation": "create", "username": "made-by-workflow",
		"password": "{{secrets.new_password}}", "role": "admin"});
	// The password comes from the admin's credential, as the connector's schema says.
	let r = admin
		.post(server.url("/api/v1/credentials"))
		.json(&json!({"name": "new_password", "value": "a fine long password"}))
		.send()
		.await
		.unwrap();
	assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
	let workflow = connector_workflow(
		&server,
		&admin,
		"make a user",
		"apg_user_management",
		create,
		Some(&operator),
	)
	.await;
	let refused = run(&server, &operator.client, &workflow).await;
	assert_eq!(refused["status"], "failed", "{refused}");
	assert_eq!(refused["started_by"], operator.id);
	let message = refused["error_message"].as_str().unwrap();
	assert!(message.contains("does not have user.create"), "{message}");
	let users = get_json(&admin, server.url("/api/v1/users")).await;
	assert!(
		!users.to_string().contains("made-by-workflow"),
		"the operator's run created a user: {users}"
	);
	let denied = get_json(
		&admin,
		server.url("/api/v1/audit?actor=ops&action=user.create&outcome=denied"),
	)
	.await;
	assert_eq!(denied["data"].as_array().unwrap().len(), 1, "{denied}");
	// The admin's own run of the same workflow may.
	let done = run(&server, &admin, &workflow).await;
	assert_eq!(done["status"], "completed", "{done}");
	let users = get_json(&admin, server.url("/api/v1/users")).await;
	assert!(users.to_string().contains("made-by-workflow"), "{users}");
	// The password never appears in what the execution shows.
	let id = done["id"].as_str().unwrap();
	let step = get_json(
		&admin,
		server.url(&format!("/api/v1/executions/{id}/components/step")),
	)
	.await;
	assert!(!step.to_string().contains("a fine long password"), "{step}");
	assert_eq!(step["data"]["output_data"]["role"], "admin");
}

/// The next message of `ws` within a few seconds, or `None`.
async fn next(
	ws: &mut tokio_tungstenite::WebSocketStream<
		tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
	>,
	within: Duration,
) -> Option<Value> {
	let message = tokio::time::timeout(within, ws.next()).await.ok()??.ok()?;
	serde_json::from_str(message.to_text().ok()?).ok()
}

async fn notification_reaches_its_user(server: Server) {
	let admin = admin_client(&server.base).await;
	let operator = account(&server, &admin, "alice", "operator").await;
	let other = account(&server, &admin, "bob", "operator").await;
	let ws_url = |token: &str| {
		format!(
			"{}/ws?access_token={token}",
			server.base.replacen("http://", "ws://", 1)
		)
	};
	let (mut alice_ws, _) = tokio_tungstenite::connect_async(ws_url(&operator.token))
		.await
		.unwrap();
	let (mut bob_ws, _) = tokio_tungstenite::connect_async(ws_url(&other.token))
		.await
		.unwrap();
	let workflow = connector_workflow(
		&server,
		&admin,
		"notify",
		"apg_notification",
		json!({"channel": "in_app", "title": "Report ready", "message": "{{ 1 + 2 }} rows",
			"level": "success"}),
		Some(&operator),
	)
	.await;
	// Bob may run it too (shared), but he does not: alice does.
	let r = admin
		.put(server.url(&format!("/api/v1/workflows/{workflow}/shares")))
		.json(&json!({"shares": [
			{"user_id": operator.id, "actions": ["read", "execute"]},
			{"user_id": other.id, "actions": ["read", "execute"]}
		]}))
		.send()
		.await
		.unwrap();
	assert_eq!(r.status(), 200);
	let done = run(&server, &operator.client, &workflow).await;
	assert_eq!(done["status"], "completed", "{done}");
	let pushed = next(&mut alice_ws, Duration::from_secs(10))
		.await
		.expect("alice's connection gets her notification");
	assert_eq!(pushed["type"], "notification", "{pushed}");
	assert_eq!(pushed["data"]["title"], "Report ready");
	assert_eq!(pushed["data"]["message"], "3 rows");
	assert_eq!(pushed["data"]["execution_id"], done["id"]);
	assert!(
		next(&mut bob_ws, Duration::from_millis(800))
			.await
			.is_none(),
		"bob's connection got alice's notification"
	);
	// The stored copies: alice has one, bob and the admin none; only alice can mark it read.
	let alice_list = get_json(&operator.client, server.url("/api/v1/notifications")).await;
	let list = alice_list["data"].as_array().unwrap();
	assert_eq!(list.len(), 1, "{alice_list}");
	let id = list[0]["id"].as_str().unwrap().to_owned();
	for who in [&other.client, &admin] {
		let theirs = get_json(who, server.url("/api/v1/notifications")).await;
		assert_eq!(theirs["data"], json!([]), "{theirs}");
		let r = who
			.post(server.url(&format!("/api/v1/notifications/{id}/read")))
			.send()
			.await
			.unwrap();
		assert_eq!(r.status(), 404);
	}
	let r = operator
		.client
		.post(server.url(&format!("/api/v1/notifications/{id}/read")))
		.send()
		.await
		.unwrap();
	assert_eq!(r.status(), 200);
	let unread = get_json(
		&operator.client,
		server.url("/api/v1/notifications?unread=true"),
	)
	.await;
	assert_eq!(unread["data"], json!([]));
	let _ = alice_ws.send(Message::Close(None)).await;
	let _ = bob_ws.send(Message::Close(None)).await;
}

async fn own_files(server: Server) {
	let admin = admin_client(&server.base).await;
	let alice = account(&server, &admin, "alice", "operator").await;
	let bob = account(&server, &admin, "bob", "operator").await;
	let viewer = account(&server, &admin, "vera", "viewer").await;
	let r = alice
		.client
		.put(server.url("/api/v1/files/notes.txt"))
		.body("alice's notes")
		.send()
		.await
		.unwrap();
	assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
	let body = alice
		.client
		.get(server.url("/api/v1/files/notes.txt"))
		.send()
		.await
		.unwrap();
	assert_eq!(body.status(), 200);
	assert_eq!(body.text().await.unwrap(), "alice's notes");
	// A workflow alice runs sees the same store.
	let workflow = connector_workflow(
		&server,
		&admin,
		"read notes",
		"apg_file_management",
		json!({"operation": "download", "name": "notes.txt"}),
		Some(&alice),
	)
	.await;
	let done = run(&server, &alice.client, &workflow).await;
	assert_eq!(done["status"], "completed", "{done}");
	let id = done["id"].as_str().unwrap();
	let step = get_json(
		&alice.client,
		server.url(&format!("/api/v1/executions/{id}/components/step")),
	)
	.await;
	assert_eq!(step["data"]["output_data"]["content"], "alice's notes");
	// Bob sees nothing of alice's, by any name.
	let list = get_json(&bob.client, server.url("/api/v1/files")).await;
	assert_eq!(list["data"], json!([]));
	for path in ["notes.txt", "..%2Fnotes.txt", "%2E%2E"] {
		let r = bob
			.client
			.get(server.url(&format!("/api/v1/files/{path}")))
			.send()
			.await
			.unwrap();
		assert!(
			[400, 404].contains(&r.status().as_u16()),
			"{path}: {}",
			r.status()
		);
	}
	let r = bob
		.client
		.delete(server.url("/api/v1/files/notes.txt"))
		.send()
		.await
		.unwrap();
	assert_eq!(r.status(), 404);
	// A viewer reads their own store but cannot write to it.
	let r = viewer
		.client
		.put(server.url("/api/v1/files/x.txt"))
		.body("x")
		.send()
		.await
		.unwrap();
	assert_eq!(r.status(), 403);
	let r = reqwest::Client::new()
		.get(server.url("/api/v1/files"))
		.send()
		.await
		.unwrap();
	assert_eq!(r.status(), 401);
	let r = alice
		.client
		.delete(server.url("/api/v1/files/notes.txt"))
		.send()
		.await
		.unwrap();
	assert_eq!(r.status(), 200);
	let list = get_json(&alice.client, server.url("/api/v1/files")).await;
	assert_eq!(list["data"], json!([]));
}
