//! Rerun from any step (issue 13): a new execution of the same version reuses what the original
//! recorded upstream of the chosen component (not run again: the very same records) and runs it
//! and everything after it; new parameters apply; an unknown component, an execution still
//! running and a caller who may not run the workflow are refused.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::server::Server;
use crate::util::{admin_client, client_with, token};

async fn send(r: reqwest::RequestBuilder) -> (u16, Value) {
	let r = r.send().await.unwrap();
	let code = r.status().as_u16();
	(code, r.json().await.unwrap_or(Value::Null))
}

async fn ended(server: &Server, who: &reqwest::Client, id: &str) -> Value {
	let began = Instant::now();
	loop {
		let (_, body) = send(who.get(server.url(&format!("/api/v1/executions/{id}")))).await;
		let status = body["data"]["status"].as_str().unwrap_or("").to_owned();
		if ["completed", "failed", "cancelled"].contains(&status.as_str()) {
			return body["data"].clone();
		}
		assert!(began.elapsed() < Duration::from_secs(20), "{body}");
		tokio::time::sleep(Duration::from_millis(50)).await;
	}
}

fn component<'a>(execution: &'a Value, id: &str) -> &'a Value {
	execution["components"]
		.as_array()
		.unwrap()
		.iter()
		.find(|c| c["component_id"] == id)
		.unwrap_or_else(|| panic!("no {id} in {execution}"))
}

async fn reruns_reuse_what_is_upstream(server: Server) {
	let admin = admin_client(&server.base).await;
	let workflow = json!({
		"name": "Rerun",
		"definition": {
			"components": [
				{"id": "start", "type": "start"},
				{"id": "pause", "type": "delay", "config": {"seconds": 0.3}},
				{"id": "greet", "type": "task", "config": {"task_type": "echo", "message": "hello"}},
				{"id": "end", "type": "end"}
			],
			"connections": [
				{"source": "start", "target": "pause"},
				{"source": "pause", "target": "greet"},
				{"source": "greet", "target": "end"}
			]
		}
	});
	let (code, wf) = send(admin.post(server.url("/api/v1/workflows")).json(&workflow)).await;
	assert_eq!(code, 201, "{wf}");
	let wf = wf["data"]["id"].as_str().unwrap().to_owned();
	let (_, first) = send(
		admin
			.post(server.url(&format!("/api/v1/workflows/{wf}/execute")))
			.json(&json!({"parameters": {"run": 1}})),
	)
	.await;
	let first_id = first["data"]["id"].as_str().unwrap().to_owned();
	let original = ended(&server, &admin, &first_id).await;
	assert_eq!(original["status"], "completed", "{original}");

	let rerun = server.url(&format!("/api/v1/executions/{first_id}/rerun"));
	let body = json!({"from": "greet", "parameters": {"run": 2}});
	let (code, second) = send(admin.post(&rerun).json(&body)).await;
	assert_eq!(code, 201, "{second}");
	let second_id = second["data"]["id"].as_str().unwrap().to_owned();
	assert_ne!(second_id, first_id);
	let again = ended(&server, &admin, &second_id).await;
	assert_eq!(again["status"], "completed", "{again}");
	assert_eq!(again["workflow_version"], original["workflow_version"]);
	assert_eq!(
		again["rerun_of"],
		first_id.as_str(),
		"linked to the original"
	);
	assert!(original.get("rerun_of").is_none_or(Value::is_null));
	assert_eq!(again["parameters"]["run"], 2, "{again}");
	// Upstream of greet: the original's records, not run again.
	for id in ["start", "pause"] {
		let (a, b) = (component(&original, id), component(&again, id));
		assert_eq!(
			a["completed_at"], b["completed_at"],
			"{id} was not run again"
		);
		assert_eq!(a["status"], "completed");
		assert_eq!(b["status"], "completed");
	}
	// greet and what follows ran again, after the original.
	for id in ["greet", "end"] {
		let (a, b) = (component(&original, id), component(&again, id));
		assert_eq!(b["status"], "completed", "{again}");
		assert!(
			b["completed_at"].as_str().unwrap() > a["completed_at"].as_str().unwrap(),
			"{id} ran again"
		);
	}
	// The new execution's log names the original.
	let (_, logs) =
		send(admin.get(server.url(&format!("/api/v1/executions/{second_id}/logs")))).await;
	assert!(logs.to_string().contains(&first_id), "{logs}");

	// Refusals, nothing started.
	let (code, answer) = send(admin.post(&rerun).json(&json!({"from": "nowhere"}))).await;
	assert_eq!(code, 422, "{answer}");
	let (code, _) = send(
		admin
			.post(&rerun)
			.json(&json!({"from": "greet", "extra": 1})),
	)
	.await;
	assert_eq!(code, 400);
	let (_, slow) = send(
		admin
			.post(server.url(&format!("/api/v1/workflows/{wf}/execute")))
			.json(&json!({})),
	)
	.await;
	let slow_id = slow["data"]["id"].as_str().unwrap();
	let running = server.url(&format!("/api/v1/executions/{slow_id}/rerun"));
	let (code, answer) = send(admin.post(&running).json(&json!({"from": "greet"}))).await;
	assert_eq!(code, 409, "still running: {answer}");
	let user = json!({"username": "rita", "password": "rita-password-1", "role": "editor"});
	assert_eq!(
		send(admin.post(server.url("/api/v1/users")).json(&user))
			.await
			.0,
		201
	);
	let rita = client_with(&token(&server.base, "rita", "rita-password-1").await);
	let (code, _) = send(rita.post(&rerun).json(&json!({"from": "greet"}))).await;
	assert_eq!(code, 404, "not her workflow");
}

crate::on_every_backend! {
	a_rerun_reuses_the_upstream_records_and_runs_the_rest =>
		super::reruns_reuse_what_is_upstream,
}
