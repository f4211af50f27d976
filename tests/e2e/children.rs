//! Child executions through the real server (issue 13): a `sub_workflow` runs another workflow
//! and outputs its results, linked both ways, refused when the starter may not run it, and
//! cancelled with its parent; a `for_each` runs an inline body per item in input order, N at a
//! time, goes on past a failed item when asked to; over 10,000 items it survives a `kill -9` in
//! the middle without running any item twice.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::server::Server;
use crate::util::{admin_client, client_with, token};

async fn send(r: reqwest::RequestBuilder) -> (u16, Value) {
	let r = r.send().await.unwrap();
	let code = r.status().as_u16();
	(code, r.json().await.unwrap_or(Value::Null))
}

async fn ended(server: &Server, who: &reqwest::Client, id: &str, within: Duration) -> Value {
	let began = Instant::now();
	loop {
		let (_, body) = send(who.get(server.url(&format!("/api/v1/executions/{id}")))).await;
		let status = body["data"]["status"].as_str().unwrap_or("");
		if ["completed", "failed", "cancelled"].contains(&status) {
			return body["data"].clone();
		}
		assert!(began.elapsed() < within, "{body}");
		tokio::time::sleep(Duration::from_millis(100)).await;
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

async fn create(server: &Server, who: &reqwest::Client, body: Value) -> String {
	let (code, wf) = send(who.post(server.url("/api/v1/workflows")).json(&body)).await;
	assert_eq!(code, 201, "{wf}");
	wf["data"]["id"].as_str().unwrap().to_owned()
}

async fn execute(server: &Server, who: &reqwest::Client, wf: &str, params: Value) -> String {
	let url = server.url(&format!("/api/v1/workflows/{wf}/execute"));
	let (code, exec) = send(who.post(url).json(&json!({"parameters": params}))).await;
	assert!(code == 200 || code == 202, "{exec}");
	exec["data"]["id"].as_str().unwrap().to_owned()
}

fn calling(name: &str, child: &str) -> Value {
	json!({"name": name, "definition": {
		"components": [{"id": "start", "type": "start"},
			{"id": "call", "type": "sub_workflow", "config": {"workflow_id": child,
				"parameters": {"x": "{{ params.n }}"}}},
			{"id": "end", "type": "end"}],
		"connections": [{"source": "start", "target": "call"}, {"source": "call", "target": "end"}]
	}})
}

async fn a_sub_workflow_runs_its_child(server: Server) {
	let admin = admin_client(&server.base).await;
	let child = create(
		&server,
		&admin,
		json!({"name": "Child", "definition": {
			"parameters": [{"name": "x", "type": "integer", "required": true},
				{"name": "wait", "type": "float", "default": 0}],
			"components": [{"id": "start", "type": "start"},
				{"id": "pause", "type": "delay", "config": {"seconds": "{{ params.wait }}"}},
				{"id": "say", "type": "task", "config": {"task_type": "echo", "message": "{{ params.x }}"}}],
			"connections": [{"source": "start", "target": "pause"}, {"source": "pause", "target": "say"}]
		}}),
	)
	.await;
	let parent = create(&server, &admin, calling("Parent", &child)).await;
	let id = execute(&server, &admin, &parent, json!({"n": 41})).await;
	let done = ended(&server, &admin, &id, Duration::from_secs(20)).await;
	assert_eq!(done["status"], "completed", "{done}");
	assert_eq!(
		component(&done, "call")["output_data"],
		json!({"say": {"message": 41}}),
		"{done}"
	);
	// Linked both ways.
	let (_, kids) = send(admin.get(server.url(&format!("/api/v1/executions/{id}/children")))).await;
	let kids = kids["data"].as_array().unwrap().clone();
	assert_eq!(kids.len(), 1, "{kids:?}");
	assert_eq!(kids[0]["parent"]["execution_id"], id.as_str());
	assert_eq!(kids[0]["parent"]["component_id"], "call");
	assert_eq!(kids[0]["workflow_id"], child.as_str());
	assert_eq!(kids[0]["status"], "completed");
	// A child is rerun through its parent, never on its own (it would be a second child).
	let kid = kids[0]["id"].as_str().unwrap();
	let rerun = server.url(&format!("/api/v1/executions/{kid}/rerun"));
	let (code, body) = send(admin.post(rerun).json(&json!({"from": "say"}))).await;
	assert_eq!(code, 409, "{body}");

	// A cycle that validation can see is refused: the child calling its caller back.
	let back = calling("Child", &parent);
	let (code, body) = send(
		admin
			.patch(server.url(&format!("/api/v1/workflows/{child}")))
			.json(&json!({"definition": back["definition"]})),
	)
	.await;
	assert_eq!(code, 422, "{body}");
	assert!(
		body.to_string().contains("calls this workflow back"),
		"{body}"
	);

	// Cancelling the parent cancels the child.
	let slow = create(
		&server,
		&admin,
		json!({"name": "Slow parent", "definition": {
			"components": [{"id": "start", "type": "start"},
				{"id": "call", "type": "sub_workflow", "config": {"workflow_id": child,
					"parameters": {"x": 1, "wait": 30}}}],
			"connections": [{"source": "start", "target": "call"}]
		}}),
	)
	.await;
	let id = execute(&server, &admin, &slow, json!({})).await;
	let children = server.url(&format!("/api/v1/executions/{id}/children"));
	let began = Instant::now();
	let kid = loop {
		let (_, kids) = send(admin.get(&children)).await;
		if let Some(k) = kids["data"].as_array().and_then(|a| a.first())
			&& k["status"] == "running"
		{
			break k["id"].as_str().unwrap().to_owned();
		}
		assert!(began.elapsed() < Duration::from_secs(20), "{kids}");
		tokio::time::sleep(Duration::from_millis(100)).await;
	};
	let cancel = server.url(&format!("/api/v1/executions/{id}/cancel"));
	assert_eq!(send(admin.post(cancel)).await.0, 200);
	let kid = ended(&server, &admin, &kid, Duration::from_secs(20)).await;
	assert_eq!(kid["status"], "cancelled", "{kid}");

	// Someone who may not run the child workflow cannot run it as a child either.
	let body = json!({"username": "rita", "password": "rita-password-1", "role": "editor"});
	assert_eq!(
		send(admin.post(server.url("/api/v1/users")).json(&body))
			.await
			.0,
		201
	);
	let rita = client_with(&token(&server.base, "rita", "rita-password-1").await);
	let hers = create(&server, &rita, calling("Rita's", &child)).await;
	let id = execute(&server, &rita, &hers, json!({"n": 1})).await;
	let done = ended(&server, &rita, &id, Duration::from_secs(20)).await;
	assert_eq!(done["status"], "failed", "{done}");
	let call = component(&done, "call");
	assert!(
		call["error_message"]
			.as_str()
			.unwrap()
			.contains("may not run"),
		"{call}"
	);
}

fn each(items: Value, concurrency: u32, on_failure: &str) -> Value {
	json!({"name": format!("Each {concurrency} {on_failure}"), "definition": {
		"components": [{"id": "start", "type": "start"},
			{"id": "each", "type": "for_each", "config": {
				"items": items, "concurrency": concurrency, "on_item_failure": on_failure,
				"components": [{"id": "start", "type": "start"},
					{"id": "check", "type": "condition", "config": {"expression": "{{ item != 'bad' }}"}},
					{"id": "say", "type": "task", "config": {"task_type": "echo",
						"message": "{{ index }}:{{ item }}"}},
					{"id": "boom", "type": "task", "config": {"task_type": "fail", "message": "bad item",
						"retry_attempts": 0}}],
				"connections": [{"source": "start", "target": "check"},
					{"source": "check", "target": "say", "branch": "true"},
					{"source": "check", "target": "boom", "branch": "false"}]
			}},
			{"id": "end", "type": "end"}],
		"connections": [{"source": "start", "target": "each"}, {"source": "each", "target": "end"}]
	}})
}

async fn a_for_each_runs_its_body_per_item_in_order(server: Server) {
	let admin = admin_client(&server.base).await;
	let items: Vec<String> = (0..25).map(|i| format!("i{i}")).collect();
	let wf = create(&server, &admin, each(json!(items), 4, "fail")).await;
	let id = execute(&server, &admin, &wf, json!({})).await;
	let done = ended(&server, &admin, &id, Duration::from_secs(30)).await;
	assert_eq!(done["status"], "completed", "{done}");
	let out = component(&done, "each")["output_data"]
		.as_array()
		.unwrap()
		.clone();
	assert_eq!(out.len(), 25);
	for (i, result) in out.iter().enumerate() {
		assert_eq!(result["say"]["message"], format!("{i}:i{i}"), "{result}");
	}
	// A failed item: with `continue` its place holds the error; with `fail` the step fails.
	let mixed = json!(["a", "bad", "c"]);
	let wf = create(&server, &admin, each(mixed.clone(), 2, "continue")).await;
	let id = execute(&server, &admin, &wf, json!({})).await;
	let done = ended(&server, &admin, &id, Duration::from_secs(30)).await;
	let out = component(&done, "each")["output_data"].clone();
	assert_eq!(out[0]["say"]["message"], "0:a", "{out}");
	assert_eq!(out[1]["status"], "failed", "{out}");
	assert!(
		out[1]["error"].as_str().unwrap().contains("bad item"),
		"{out}"
	);
	assert_eq!(out[2]["say"]["message"], "2:c", "{out}");
	let wf = create(&server, &admin, each(mixed, 1, "fail")).await;
	let id = execute(&server, &admin, &wf, json!({})).await;
	let done = ended(&server, &admin, &id, Duration::from_secs(30)).await;
	assert_eq!(done["status"], "failed", "{done}");
	let step = component(&done, "each");
	assert!(
		step["error_message"]
			.as_str()
			.unwrap()
			.starts_with("item 1 failed"),
		"{step}"
	);
	// A body in a body is refused when saved: a child finds its body by its step's id.
	let mut nested = each(json!([1]), 1, "fail");
	let inner = nested["definition"]["components"][1]["config"].clone();
	nested["definition"]["components"][1]["config"]["components"][1] =
		json!({"id": "check", "type": "for_each", "config": inner});
	nested["name"] = json!("Nested");
	let (code, body) = send(admin.post(server.url("/api/v1/workflows")).json(&nested)).await;
	assert_eq!(code, 422, "{body}");
	assert!(body.to_string().contains("inside an inline body"), "{body}");
	// Not a list: a clear failure, nothing started.
	let wf = create(&server, &admin, each(json!("{{ params.rows }}"), 2, "fail")).await;
	let id = execute(&server, &admin, &wf, json!({"rows": 3})).await;
	let done = ended(&server, &admin, &id, Duration::from_secs(30)).await;
	assert!(
		component(&done, "each")["error_message"]
			.as_str()
			.unwrap()
			.contains("must be a list"),
		"{done}"
	);
}

crate::on_every_backend! {
	a_sub_workflow_runs_its_child_linked_refused_and_cancelled =>
		super::a_sub_workflow_runs_its_child,
	a_for_each_runs_its_body_per_item_in_order => super::a_for_each_runs_its_body_per_item_in_order,
}

/// The peak resident memory of a process, in MiB.
fn peak_mib(pid: u32) -> f64 {
	let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
	status
		.lines()
		.find_map(|l| l.strip_prefix("VmHWM:"))
		.and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
		.map_or(0.0, |kb| kb / 1024.0)
}

/// 10,000 items, 50 at a time, on SQLite: killed with SIGKILL in the middle and started again,
/// the for_each completes with every item once, in order.
#[tokio::test(flavor = "multi_thread")]
async fn a_for_each_over_ten_thousand_items_survives_a_kill_on_sqlite() {
	ten_thousand_items_and_a_kill(Server::start()).await;
}

/// The same on PostgreSQL, where the restarted server is a new node that takes the parent and
/// the children over once the dead one's leases lapse (2 s here).
#[tokio::test(flavor = "multi_thread")]
async fn a_for_each_over_ten_thousand_items_survives_a_kill_on_postgres() {
	let Some(server) = Server::start_postgres_with(&[("APG_LEASE_SECONDS", "2")]).await else {
		eprintln!("skipped: APG_TEST_DATABASE_URL is not set");
		return;
	};
	ten_thousand_items_and_a_kill(server).await;
}

async fn ten_thousand_items_and_a_kill(mut server: Server) {
	const N: usize = 10_000;
	let admin = admin_client(&server.base).await;
	let wf = create(
		&server,
		&admin,
		json!({"name": "Ten thousand", "definition": {
			"parameters": [{"name": "n", "type": "integer", "default": N}],
			"components": [{"id": "start", "type": "start"},
				{"id": "each", "type": "for_each", "config": {
					"items": "{{ range(params.n) | list }}", "concurrency": 50,
					"components": [{"id": "start", "type": "start"},
						{"id": "say", "type": "task", "config": {"task_type": "echo", "message": "{{ item }}"}}],
					"connections": [{"source": "start", "target": "say"}]
				}}],
			"connections": [{"source": "start", "target": "each"}]
		}}),
	)
	.await;
	let began = Instant::now();
	let id = execute(&server, &admin, &wf, json!({})).await;
	let children = server.url(&format!("/api/v1/executions/{id}/children"));
	// Until a part of the items has run.
	loop {
		let (_, kids) = send(admin.get(&children)).await;
		let done = kids["data"].as_array().map_or(0, |a| {
			a.iter().filter(|k| k["status"] == "completed").count()
		});
		if done >= 1_000 {
			break;
		}
		assert!(
			began.elapsed() < Duration::from_secs(120),
			"stuck at {done}"
		);
		tokio::time::sleep(Duration::from_millis(200)).await;
	}
	let before = peak_mib(server.pid());
	let restarted = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
	server.restart();
	let admin = admin_client(&server.base).await;
	let done = ended(&server, &admin, &id, Duration::from_secs(300)).await;
	let wall = began.elapsed();
	assert_eq!(done["status"], "completed", "{}", done["error_message"]);
	let (_, full) =
		send(admin.get(server.url(&format!("/api/v1/executions/{id}/components/each")))).await;
	let out = full["data"]["output_data"]
		.as_array()
		.cloned()
		.unwrap_or_default();
	assert_eq!(out.len(), N, "{}", full.to_string().len());
	for (i, result) in out.iter().enumerate() {
		assert_eq!(result["say"]["message"], i, "item {i}");
	}
	let children = server.url(&format!("/api/v1/executions/{id}/children"));
	let (_, kids) = send(admin.get(&children)).await;
	let kids = kids["data"].as_array().unwrap();
	assert_eq!(kids.len(), N, "one child per item, none created twice");
	let mut items: Vec<u64> = kids
		.iter()
		.map(|k| k["parent"]["item"].as_u64().unwrap())
		.collect();
	items.sort_unstable();
	items.dedup();
	assert_eq!(items.len(), N);
	assert!(kids.iter().all(|k| k["status"] == "completed"));
	// Items that had completed before the kill did not run again: their one `say` step
	// completed in one attempt, before the restart.
	let early: Vec<&Value> = kids
		.iter()
		.filter(|k| k["completed_at"].as_str() < Some(restarted.as_str()))
		.take(50)
		.collect();
	assert_eq!(early.len(), 50, "1,000 items had completed before the kill");
	for k in early {
		let url = server.url(&format!("/api/v1/executions/{}", k["id"].as_str().unwrap()));
		let (_, child) = send(admin.get(url)).await;
		let ran: Vec<&Value> = child["data"]["attempts"]
			.as_array()
			.unwrap()
			.iter()
			.filter(|a| a["component_id"] == "say")
			.collect();
		assert_eq!(ran.len(), 1, "{child}");
		assert_eq!(ran[0]["status"], "completed");
	}
	eprintln!(
		"for_each of {N} items, concurrency 50, killed and restarted ({}): {:.1} s wall, peak \
		 RSS {before:.0} MiB before the kill, {:.0} MiB after",
		if server.pg().is_some() {
			"PostgreSQL"
		} else {
			"SQLite"
		},
		wall.as_secs_f64(),
		peak_mib(server.pid())
	);
}

/// A for_each on an api node and two workers: its items run on both workers.
#[tokio::test(flavor = "multi_thread")]
async fn a_for_each_spreads_its_items_over_the_workers() {
	use crate::cluster::Node;
	let Some(pg) = crate::util::PgSchema::create("apg_each").await else {
		eprintln!("skipped: APG_TEST_DATABASE_URL is not set");
		return;
	};
	let mut db = pg.admin().await;
	let dir = tempfile::tempdir().unwrap();
	let api = Node::start(&pg.database, "api", "api", dir.path());
	let workers = [
		Node::start(&pg.database, "worker", "worker-a", dir.path()),
		Node::start(&pg.database, "worker", "worker-b", dir.path()),
	];
	let admin = admin_client(&api.base).await;
	let body = json!({"name": "Spread", "definition": {
		"components": [{"id": "start", "type": "start"},
			{"id": "each", "type": "for_each", "config": {
				"items": "{{ range(400) | list }}", "concurrency": 40,
				"components": [{"id": "start", "type": "start"},
					{"id": "pause", "type": "delay", "config": {"seconds": 0.2}}],
				"connections": [{"source": "start", "target": "pause"}]
			}}],
		"connections": [{"source": "start", "target": "each"}]
	}});
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
	let mut holders = std::collections::BTreeSet::new();
	let began = Instant::now();
	loop {
		let owners: Vec<String> = sqlx::query_scalar(
			"SELECT DISTINCT lease_owner FROM wo_executions WHERE parent_id = $1::uuid \
			 AND lease_owner IS NOT NULL",
		)
		.bind(&id)
		.fetch_all(&mut db)
		.await
		.unwrap();
		holders.extend(owners);
		let (_, e) = send(admin.get(format!("{}/api/v1/executions/{id}", api.base))).await;
		if e["data"]["status"] == "completed" {
			break;
		}
		assert!(began.elapsed() < Duration::from_secs(120), "{e}");
		tokio::time::sleep(Duration::from_millis(50)).await;
	}
	assert_eq!(
		holders.into_iter().collect::<Vec<_>>(),
		["worker-a", "worker-b"],
		"items ran on both workers"
	);
	drop(workers);
	drop(api);
}
