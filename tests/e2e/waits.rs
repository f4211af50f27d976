//! Approvals and signals through the real server (issue 13), on SQLite and PostgreSQL: an
//! approval is decided only by its approvers (never by the user who started it unless allowed,
//! never by a viewer or someone who may not see the workflow), its form is checked, each user
//! decides once, a decision survives a `kill -9` and is never asked again, and a timeout takes
//! `on_timeout`. A signal sent before its wait begins is kept; a signal by name reaches only the
//! executions waiting for its key that the caller may run. A takeover by another node is in
//! `waits_cluster`.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::server::Server;
use crate::util::{admin_client, client_with, token};

async fn send(r: reqwest::RequestBuilder) -> (u16, Value) {
	let r = r.send().await.unwrap();
	let code = r.status().as_u16();
	(code, r.json().await.unwrap_or(Value::Null))
}

/// Polls the execution until `done` says yes (at most 20 s).
async fn until(
	server: &Server,
	who: &reqwest::Client,
	id: &str,
	done: impl Fn(&Value) -> bool,
) -> Value {
	let began = Instant::now();
	loop {
		let (_, body) = send(who.get(server.url(&format!("/api/v1/executions/{id}")))).await;
		if done(&body["data"]) {
			return body["data"].clone();
		}
		assert!(began.elapsed() < Duration::from_secs(20), "{body}");
		tokio::time::sleep(Duration::from_millis(50)).await;
	}
}

fn ended(e: &Value) -> bool {
	["completed", "failed", "cancelled"].contains(&e["status"].as_str().unwrap_or(""))
}

fn component<'a>(execution: &'a Value, id: &str) -> &'a Value {
	execution["components"]
		.as_array()
		.unwrap()
		.iter()
		.find(|c| c["component_id"] == id)
		.unwrap_or_else(|| panic!("no {id} in {execution}"))
}

fn waiting(id: &str) -> impl Fn(&Value) -> bool + '_ {
	move |e: &Value| {
		e["components"].as_array().is_some_and(|cs| {
			cs.iter()
				.any(|c| c["component_id"] == id && !c["waiting"].is_null())
		})
	}
}

/// Creates a user and returns their id and a client.
async fn user(
	server: &Server,
	admin: &reqwest::Client,
	name: &str,
	role: &str,
) -> (String, reqwest::Client) {
	let password = format!("{name}-password-1");
	let body = json!({"username": name, "password": password, "role": role});
	let (code, created) = send(admin.post(server.url("/api/v1/users")).json(&body)).await;
	assert_eq!(code, 201, "{created}");
	let id = created["data"]["id"].as_str().unwrap().to_owned();
	(id, client_with(&token(&server.base, name, &password).await))
}

async fn workflow(server: &Server, admin: &reqwest::Client, name: &str, step: Value) -> String {
	let definition = json!({
		"components": [{"id": "start", "type": "start"}, step,
			{"id": "end", "type": "end"}, {"id": "denied", "type": "end"}],
		"connections": [{"source": "start", "target": "gate"}, {"source": "gate", "target": "end"},
			{"source": "gate", "target": "denied", "type": "failure"}]
	});
	let body = json!({"name": name, "definition": definition});
	let (code, wf) = send(admin.post(server.url("/api/v1/workflows")).json(&body)).await;
	assert_eq!(code, 201, "{wf}");
	wf["data"]["id"].as_str().unwrap().to_owned()
}

async fn execute(server: &Server, who: &reqwest::Client, wf: &str, params: Value) -> String {
	let url = server.url(&format!("/api/v1/workflows/{wf}/execute"));
	let (code, exec) = send(who.post(url).json(&json!({"parameters": params}))).await;
	assert!(code == 200 || code == 202, "{exec}");
	exec["data"]["id"].as_str().unwrap().to_owned()
}

async fn approvals_are_decided_by_their_approvers_only(mut server: Server) {
	let admin = admin_client(&server.base).await;
	let (olga_id, olga) = user(&server, &admin, "olga", "operator").await;
	let (otto_id, _) = user(&server, &admin, "otto", "operator").await;
	let (vera_id, vera) = user(&server, &admin, "vera", "viewer").await;
	let (_, eddy) = user(&server, &admin, "eddy", "editor").await;
	let gate = json!({"id": "gate", "type": "approval", "config": {
		"message": "Deploy?",
		"approvers": {"users": ["olga"], "roles": ["operator"]},
		"required": 2,
		"form": {"type": "object", "properties": {"ticket": {"type": "string", "minLength": 3}},
			"required": ["ticket"]}
	}});
	let wf = workflow(&server, &admin, "Gate", gate).await;
	let shares = json!({"shares": [
		{"user_id": olga_id, "actions": ["read", "execute"]},
		{"user_id": otto_id, "actions": ["read", "execute"]},
		{"user_id": vera_id, "actions": ["read"]}
	]});
	let (code, body) = send(
		admin
			.put(server.url(&format!("/api/v1/workflows/{wf}/shares")))
			.json(&shares),
	)
	.await;
	assert_eq!(code, 200, "{body}");
	let id = execute(&server, &admin, &wf, json!({})).await;
	until(&server, &admin, &id, waiting("gate")).await;

	// The inbox: olga's has it; the admin started it (no self-approval); vera may not run it.
	let inbox = |who: &reqwest::Client| {
		let url = server.url("/api/v1/approvals");
		let who = who.clone();
		async move { send(who.get(url)).await }
	};
	let (code, mine) = inbox(&olga).await;
	assert_eq!(code, 200, "{mine}");
	let listed = mine["data"].as_array().unwrap();
	assert_eq!(listed.len(), 1, "{mine}");
	assert_eq!(listed[0]["execution_id"], id.as_str());
	assert_eq!(listed[0]["required"], 2);
	assert_eq!(listed[0]["message"], "Deploy?");
	assert_eq!(listed[0]["can_decide"], true);
	assert!(inbox(&admin).await.1["data"].as_array().unwrap().is_empty());
	assert!(inbox(&vera).await.1["data"].as_array().unwrap().is_empty());

	let decide = server.url(&format!("/api/v1/executions/{id}/approvals/gate"));
	let approve = json!({"decision": "approve", "values": {"ticket": "CHG-1"}});
	let (code, body) = send(admin.post(&decide).json(&approve)).await;
	assert_eq!(code, 403, "self-approval: {body}");
	assert!(body.to_string().contains("self-approval"), "{body}");
	let (code, body) = send(vera.post(&decide).json(&approve)).await;
	assert_eq!(code, 403, "a viewer: {body}");
	let (code, body) = send(eddy.post(&decide).json(&approve)).await;
	assert_eq!(code, 404, "not shared with eddy: {body}");
	// The form is checked: every problem named.
	let (code, body) = send(
		olga.post(&decide)
			.json(&json!({"decision": "approve", "values": {"ticket": 5}})),
	)
	.await;
	assert_eq!(code, 422, "{body}");
	assert!(body.to_string().contains("ticket"), "{body}");
	let (code, body) = send(olga.post(&decide).json(&json!({"decision": "maybe"}))).await;
	assert_eq!(code, 400, "{body}");
	let (code, body) = send(olga.post(&decide).json(&approve)).await;
	assert_eq!(code, 200, "{body}");
	assert_eq!(body["data"]["decision"], "approve");
	let (code, body) = send(olga.post(&decide).json(&approve)).await;
	assert_eq!(code, 409, "once per user: {body}");

	// A kill -9: the decision stands and is not asked for again.
	server.restart();
	let admin = admin_client(&server.base).await;
	let olga = client_with(&token(&server.base, "olga", "olga-password-1").await);
	let otto = client_with(&token(&server.base, "otto", "otto-password-1").await);
	let decide = server.url(&format!("/api/v1/executions/{id}/approvals/gate"));
	let (code, one) = send(olga.get(&decide)).await;
	assert_eq!(code, 200, "{one}");
	assert_eq!(one["data"]["approvals"], 1, "{one}");
	assert_eq!(one["data"]["can_decide"], false);
	let (code, body) = send(olga.post(&decide).json(&approve)).await;
	assert_eq!(code, 409, "after the restart too: {body}");
	let second = json!({"decision": "approve", "comment": "ok", "values": {"ticket": "CHG-2"}});
	let (code, body) = send(otto.post(&decide).json(&second)).await;
	assert_eq!(code, 200, "{body}");
	let done = until(&server, &admin, &id, ended).await;
	assert_eq!(done["status"], "completed", "{done}");
	let gate = component(&done, "gate");
	assert_eq!(gate["output_data"]["approved"], true, "{gate}");
	assert_eq!(gate["output_data"]["values"]["ticket"], "CHG-2");
	assert_eq!(
		gate["output_data"]["decisions"].as_array().unwrap().len(),
		2
	);
	assert_eq!(component(&done, "denied")["status"], "skipped");
	let (code, body) = send(otto.post(&decide).json(&second)).await;
	assert_eq!(code, 409, "it no longer waits: {body}");

	// Every decision is audited, and so is the refused one.
	let (_, audit) = send(admin.get(server.url("/api/v1/audit?limit=200"))).await;
	let text = audit.to_string();
	assert!(text.matches("approval.decide").count() >= 3, "{audit}");

	// A rejection fails the step, and its failure connection runs.
	let id = execute(&server, &admin, &wf, json!({})).await;
	until(&server, &admin, &id, waiting("gate")).await;
	let decide = server.url(&format!("/api/v1/executions/{id}/approvals/gate"));
	let no = json!({"decision": "reject", "comment": "not now"});
	assert_eq!(send(olga.post(&decide).json(&no)).await.0, 200);
	let done = until(&server, &admin, &id, ended).await;
	assert_eq!(
		done["status"], "completed",
		"the failure path ends it: {done}"
	);
	let gate = component(&done, "gate");
	assert_eq!(gate["status"], "failed");
	assert_eq!(gate["error_message"], "rejected by olga: not now");
	assert_eq!(component(&done, "denied")["status"], "completed");
}

async fn a_timeout_takes_on_timeout(server: Server) {
	let admin = admin_client(&server.base).await;
	for (policy, gate_status) in [
		("approve", "completed"),
		("reject", "failed"),
		("fail", "failed"),
	] {
		let gate = json!({"id": "gate", "type": "approval",
			"config": {"timeout": 0.5, "on_timeout": policy}});
		let wf = workflow(&server, &admin, &format!("Timeout {policy}"), gate).await;
		let id = execute(&server, &admin, &wf, json!({})).await;
		let done = until(&server, &admin, &id, ended).await;
		let gate = component(&done, "gate");
		assert_eq!(gate["status"], gate_status, "{policy}: {done}");
		if policy == "approve" {
			assert_eq!(gate["output_data"]["timed_out"], true);
		}
	}
}

async fn signals_are_kept_and_reach_only_their_key(server: Server) {
	let admin = admin_client(&server.base).await;
	let (_, rita) = user(&server, &admin, "rita", "operator").await;
	let definition = json!({
		"components": [{"id": "start", "type": "start"},
			{"id": "pause", "type": "delay", "config": {"seconds": 0.5}},
			{"id": "gate", "type": "wait_for_event",
				"config": {"event": "paid", "key": "{{ params.order }}"}},
			{"id": "end", "type": "end"}],
		"connections": [{"source": "start", "target": "pause"}, {"source": "pause", "target": "gate"},
			{"source": "gate", "target": "end"}]
	});
	let body = json!({"name": "Orders", "definition": definition});
	let (_, wf) = send(admin.post(server.url("/api/v1/workflows")).json(&body)).await;
	let wf = wf["data"]["id"].as_str().unwrap().to_owned();
	let seven = execute(&server, &admin, &wf, json!({"order": 7})).await;
	let eight = execute(&server, &admin, &wf, json!({"order": 8})).await;
	// Sent to one execution during its delay, before it waits: kept until it does.
	let url = server.url(&format!("/api/v1/executions/{seven}/signals/paid"));
	let (code, body) = send(
		admin
			.post(&url)
			.json(&json!({"key": 7, "payload": {"amount": 70}})),
	)
	.await;
	assert_eq!(code, 202, "{body}");
	let (code, _) = send(rita.post(&url).json(&json!({"key": 7}))).await;
	assert_eq!(code, 404, "not rita's workflow");
	let (code, _) = send(admin.post(&url).json(&json!({"key": [7]}))).await;
	assert_eq!(code, 400);
	let done = until(&server, &admin, &seven, ended).await;
	assert_eq!(done["status"], "completed", "{done}");
	assert_eq!(
		component(&done, "gate")["output_data"],
		json!({"amount": 70})
	);

	// By name: only the executions waiting for that key, that the caller may run.
	until(&server, &admin, &eight, waiting("gate")).await;
	let by_name = server.url("/api/v1/signals/paid");
	let (code, body) = send(rita.post(&by_name).json(&json!({"key": 8}))).await;
	assert_eq!(code, 202, "{body}");
	assert_eq!(body["data"]["executions"], json!([]), "rita may not run it");
	let (code, body) = send(admin.post(&by_name).json(&json!({"key": 9}))).await;
	assert_eq!(
		body["data"]["executions"],
		json!([]),
		"nobody waits for 9: {code} {body}"
	);
	let (code, body) = send(
		admin
			.post(&by_name)
			.json(&json!({"key": "8", "payload": 80})),
	)
	.await;
	assert_eq!(code, 202, "{body}");
	assert_eq!(body["data"]["executions"], json!([eight.clone()]));
	let done = until(&server, &admin, &eight, ended).await;
	assert_eq!(component(&done, "gate")["output_data"], json!(80));
	// An ended execution takes no more signals.
	let url = server.url(&format!("/api/v1/executions/{eight}/signals/paid"));
	assert_eq!(send(admin.post(&url).json(&json!({}))).await.0, 409);
}

#[tokio::test(flavor = "multi_thread")]
async fn approvals_are_decided_by_their_approvers_and_survive_a_restart_on_sqlite() {
	approvals_are_decided_by_their_approvers_only(Server::start()).await;
}

/// On PostgreSQL the restarted server is a new node: it takes the execution over once the dead
/// one's lease lapses (2 s here, 30 s by default).
#[tokio::test(flavor = "multi_thread")]
async fn approvals_are_decided_by_their_approvers_and_survive_a_restart_on_postgres() {
	let Some(server) = Server::start_postgres_with(&[("APG_LEASE_SECONDS", "2")]).await else {
		eprintln!("skipped: APG_TEST_DATABASE_URL is not set");
		return;
	};
	approvals_are_decided_by_their_approvers_only(server).await;
}

crate::on_every_backend! {
	an_approval_timeout_takes_on_timeout => super::a_timeout_takes_on_timeout,
	signals_are_kept_until_a_wait_and_reach_only_their_key =>
		super::signals_are_kept_and_reach_only_their_key,
}

/// Three nodes on one PostgreSQL: decisions sent to the api node reach the worker holding the
/// execution (over the bus), and after that worker is killed with SIGKILL, the other worker
/// takes the execution over and a decision sent then completes it.
#[tokio::test(flavor = "multi_thread")]
async fn an_approval_survives_the_takeover_by_another_node() {
	use crate::cluster::Node;
	let Some(pg) = crate::util::PgSchema::create("apg_waits").await else {
		eprintln!("skipped: APG_TEST_DATABASE_URL is not set");
		return;
	};
	let mut db = pg.admin().await;
	let dir = tempfile::tempdir().unwrap();
	let api = Node::start(&pg.database, "api", "api", dir.path());
	let workers = vec![
		Node::start(&pg.database, "worker", "worker-a", dir.path()),
		Node::start(&pg.database, "worker", "worker-b", dir.path()),
	];
	let admin = admin_client(&api.base).await;
	let definition = json!({
		"components": [{"id": "start", "type": "start"},
			{"id": "first", "type": "approval", "config": {"allow_self_approval": true}},
			{"id": "second", "type": "approval", "config": {"allow_self_approval": true}},
			{"id": "end", "type": "end"}],
		"connections": [{"source": "start", "target": "first"}, {"source": "first", "target": "second"},
			{"source": "second", "target": "end"}]
	});
	let body = json!({"name": "Two gates", "definition": definition});
	let (_, wf) = send(
		admin
			.post(format!("{}/api/v1/workflows", api.base))
			.json(&body),
	)
	.await;
	let wf = wf["data"]["id"].as_str().unwrap().to_owned();
	let url = format!("{}/api/v1/workflows/{wf}/execute", api.base);
	let (_, exec) = send(admin.post(url).json(&json!({}))).await;
	let id = exec["data"]["id"].as_str().unwrap().to_owned();
	let get = format!("{}/api/v1/executions/{id}", api.base);
	let waits_at = |gate: &'static str| {
		let (admin, get) = (admin.clone(), get.clone());
		async move {
			let began = Instant::now();
			loop {
				let (_, e) = send(admin.get(&get)).await;
				if waiting(gate)(&e["data"]) || ended(&e["data"]) {
					return e["data"].clone();
				}
				assert!(began.elapsed() < Duration::from_secs(30), "{e}");
				tokio::time::sleep(Duration::from_millis(100)).await;
			}
		}
	};
	waits_at("first").await;
	let approve = json!({"decision": "approve"});
	let decide = |gate: &str| format!("{}/api/v1/executions/{id}/approvals/{gate}", api.base);
	let (code, body) = send(admin.post(decide("first")).json(&approve)).await;
	assert_eq!(code, 200, "{body}");
	// The api node holds nothing: the worker that does hears of it and moves on.
	waits_at("second").await;
	let holder: String =
		sqlx::query_scalar("SELECT lease_owner FROM wo_executions WHERE id = $1::uuid")
			.bind(&id)
			.fetch_one(&mut db)
			.await
			.unwrap();
	assert!(
		["worker-a", "worker-b"].contains(&holder.as_str()),
		"{holder}"
	);
	let dead = usize::from(holder == "worker-b");
	workers[dead].signal("-KILL");
	let (code, body) = send(admin.post(decide("second")).json(&approve)).await;
	assert_eq!(code, 200, "{body}");
	let done = waits_at("nothing").await;
	assert_eq!(done["status"], "completed", "{done}");
	// The other worker took it over from its checkpoints.
	let (_, logs) = send(admin.get(format!("{}/api/v1/executions/{id}/logs", api.base))).await;
	assert!(
		logs.to_string().contains("resumed from checkpoints"),
		"{logs}"
	);
	drop(workers);
	drop(api);
}
