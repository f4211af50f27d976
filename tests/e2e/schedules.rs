//! Cron schedules through the real server (issue 13): a per-second schedule with
//! `overlap: skip` never runs two executions at once; pausing stops it; bad input is refused
//! with the field named and nothing stored; who may not see or change a workflow may not see
//! or change its schedules. A schedule due while the server was down follows its `catch_up`
//! after the restart; two nodes on one database never both fire one tick.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::server::Server;
use crate::util::{admin_client, client_with, token};

/// start → delay(`seconds`) → end.
fn slow_workflow(name: &str, seconds: f64) -> Value {
	json!({
		"name": name,
		"definition": {
			"components": [
				{"id": "start", "type": "start"},
				{"id": "wait", "type": "delay", "config": {"seconds": seconds}},
				{"id": "end", "type": "end"}
			],
			"connections": [
				{"source": "start", "target": "wait"},
				{"source": "wait", "target": "end"}
			]
		}
	})
}

async fn send(r: reqwest::RequestBuilder) -> (u16, Value) {
	let r = r.send().await.unwrap();
	let code = r.status().as_u16();
	(code, r.json().await.unwrap_or(Value::Null))
}

async fn create_workflow(server: &Server, who: &reqwest::Client, body: Value) -> String {
	let (code, body) = send(who.post(server.url("/api/v1/workflows")).json(&body)).await;
	assert_eq!(code, 201, "{body}");
	body["data"]["id"].as_str().unwrap().to_owned()
}

async fn schedule(server: &Server, who: &reqwest::Client, id: &str) -> Value {
	let (code, body) = send(who.get(server.url(&format!("/api/v1/schedules/{id}")))).await;
	assert_eq!(code, 200, "{body}");
	body["data"].clone()
}

fn millis(iso: &Value) -> i64 {
	chrono::DateTime::parse_from_rfc3339(iso.as_str().unwrap())
		.unwrap()
		.timestamp_millis()
}

async fn executions(server: &Server, who: &reqwest::Client, workflow: &str) -> Vec<Value> {
	let url = server.url(&format!(
		"/api/v1/executions?workflow_id={workflow}&limit=500"
	));
	let (code, body) = send(who.get(url)).await;
	assert_eq!(code, 200, "{body}");
	body["data"].as_array().unwrap().clone()
}

async fn every_second_with_skip_never_overlaps(server: Server) {
	let admin = admin_client(&server.base).await;
	let wf = create_workflow(&server, &admin, slow_workflow("Every second", 2.5)).await;
	let body = json!({
		"workflow_id": wf, "name": "tick", "cron": "*/1 * * * * *", "overlap": "skip",
		"parameters": {"source": "cron"}
	});
	let (code, created) = send(admin.post(server.url("/api/v1/schedules")).json(&body)).await;
	assert_eq!(code, 201, "{created}");
	let id = created["data"]["id"].as_str().unwrap().to_owned();
	let next: Vec<i64> = created["data"]["next_fires"]
		.as_array()
		.unwrap()
		.iter()
		.map(millis)
		.collect();
	assert_eq!(next.len(), 5, "{created}");
	assert!(next.windows(2).all(|w| w[1] - w[0] == 1000), "{next:?}");
	tokio::time::sleep(Duration::from_secs(7)).await;
	let (code, _) = send(admin.post(server.url(&format!("/api/v1/schedules/{id}/pause")))).await;
	assert_eq!(code, 200);
	let seen = schedule(&server, &admin, &id).await;
	let fires = seen["fires"].as_array().unwrap().clone();
	let started: Vec<&Value> = fires.iter().filter(|f| f["status"] == "started").collect();
	let skipped = fires.iter().filter(|f| f["status"] == "skipped").count();
	assert!(started.len() >= 2, "{seen}");
	assert!(
		skipped >= 3,
		"a 2.5 s run skips the seconds it spans: {seen}"
	);
	assert!(seen["next_fires"].as_array().unwrap().is_empty(), "paused");
	// Wait for the last run, then check no two ran at once.
	tokio::time::sleep(Duration::from_secs(3)).await;
	let mut runs: Vec<(i64, i64)> = executions(&server, &admin, &wf)
		.await
		.iter()
		.map(|e| {
			assert_eq!(e["status"], "completed", "{e}");
			(millis(&e["started_at"]), millis(&e["completed_at"]))
		})
		.collect();
	runs.sort();
	assert_eq!(runs.len(), started.len(), "one execution per started fire");
	assert!(
		runs.windows(2).all(|w| w[1].0 >= w[0].1),
		"overlapping runs: {runs:?}"
	);
	// Paused: nothing more fires.
	let before = schedule(&server, &admin, &id).await["fires"]
		.as_array()
		.unwrap()
		.len();
	tokio::time::sleep(Duration::from_secs(2)).await;
	let after = schedule(&server, &admin, &id).await;
	assert_eq!(after["fires"].as_array().unwrap().len(), before, "{after}");
	assert_eq!(after["paused"], true);
	// An execution of a fire carries the schedule's parameters.
	let one = started[0]["execution_id"].as_str().unwrap();
	let (_, execution) = send(admin.get(server.url(&format!("/api/v1/executions/{one}")))).await;
	assert_eq!(
		execution["data"]["parameters"]["source"], "cron",
		"{execution}"
	);
}

async fn bad_schedules_are_refused_and_others_cannot_get_in(server: Server) {
	let admin = admin_client(&server.base).await;
	let wf = create_workflow(&server, &admin, slow_workflow("Guarded", 0.1)).await;
	let url = server.url("/api/v1/schedules");
	let cases = [
		(
			json!({"workflow_id": wf, "cron": "61 * * * *"}),
			422,
			"cron",
		),
		(json!({"workflow_id": wf, "cron": "0 2 * *"}), 422, "cron"),
		(
			json!({"workflow_id": wf, "cron": "0 0 30 2 *"}),
			422,
			"cron",
		),
		(
			json!({"workflow_id": wf, "cron": "0 2 * * *", "timezone": "Mars/Olympus"}),
			422,
			"timezone",
		),
		(
			json!({"workflow_id": wf, "cron": "0 2 * * *", "overlap": "sometimes"}),
			400,
			"",
		),
		(
			json!({"workflow_id": wf, "cron": "0 2 * * *", "surprise": 1}),
			400,
			"",
		),
		(
			json!({"workflow_id": "nope", "cron": "0 2 * * *"}),
			400,
			"workflow_id",
		),
		(json!({"cron": "0 2 * * *"}), 400, ""),
		(
			json!({"workflow_id": wf, "cron": "0 2 * * *", "name": ""}),
			400,
			"name",
		),
	];
	for (body, want, field) in cases {
		let (code, answer) = send(admin.post(&url).json(&body)).await;
		assert_eq!(code, want, "{body} → {answer}");
		assert_eq!(answer["success"], false);
		if !field.is_empty() {
			assert_eq!(answer["details"][0]["path"], field, "{answer}");
		}
	}
	let (_, listed) = send(admin.get(&url)).await;
	assert_eq!(
		listed["data"].as_array().unwrap().len(),
		0,
		"nothing stored"
	);
	let (code, created) = send(admin.post(&url).json(&json!({
		"workflow_id": wf, "cron": "0 9 * * 1-5", "timezone": "Europe/Paris", "catch_up": "none"
	})))
	.await;
	assert_eq!(code, 201, "{created}");
	let id = created["data"]["id"].as_str().unwrap().to_owned();
	let one = server.url(&format!("/api/v1/schedules/{id}"));

	// A stranger (an editor without a share) sees nothing of it and cannot change it.
	let make = |name: &str, role: &str| json!({"username": name, "password": format!("{name}-password-1"), "role": role});
	let mut ids = Vec::new();
	for (name, role) in [("eve", "editor"), ("vic", "viewer")] {
		let (code, user) = send(
			admin
				.post(server.url("/api/v1/users"))
				.json(&make(name, role)),
		)
		.await;
		assert_eq!(code, 201);
		ids.push(user["data"]["id"].as_str().unwrap().to_owned());
	}
	let eve = client_with(&token(&server.base, "eve", "eve-password-1").await);
	assert_eq!(send(eve.get(&one)).await.0, 404);
	assert_eq!(
		send(eve.patch(&one).json(&json!({"paused": true}))).await.0,
		404
	);
	assert_eq!(send(eve.delete(&one)).await.0, 404);
	let (_, listed) = send(eve.get(&url)).await;
	assert_eq!(listed["data"].as_array().unwrap().len(), 0, "{listed}");
	let (code, _) = send(
		eve.post(&url)
			.json(&json!({"workflow_id": wf, "cron": "0 2 * * *"})),
	)
	.await;
	assert_eq!(code, 404, "not her workflow");
	// A viewer the workflow is shared with (to read) sees the schedule, but cannot change it.
	let share = json!({"shares": [{"user_id": ids[1], "actions": ["read"]}]});
	let shares = server.url(&format!("/api/v1/workflows/{wf}/shares"));
	assert_eq!(send(admin.put(&shares).json(&share)).await.0, 200);
	let vic = client_with(&token(&server.base, "vic", "vic-password-1").await);
	assert_eq!(send(vic.get(&one)).await.0, 200);
	assert_eq!(send(vic.post(format!("{one}/pause"))).await.0, 403);
	let (code, _) = send(
		vic.post(&url)
			.json(&json!({"workflow_id": wf, "cron": "0 2 * * *"})),
	)
	.await;
	assert_eq!(code, 403);
	// The owner changes it: a new expression moves the next fires.
	let (code, changed) = send(admin.patch(&one).json(&json!({"cron": "30 18 * * *"}))).await;
	assert_eq!(code, 200, "{changed}");
	let first = &changed["data"]["next_fires"][0];
	let first = first.as_str().unwrap();
	assert!(
		first.contains("T18:30:00") && first.ends_with("+01:00"),
		"{changed}"
	);
	let (code, refused) = send(admin.patch(&one).json(&json!({"cron": "every day"}))).await;
	assert_eq!(code, 422, "{refused}");
	assert_eq!(
		schedule(&server, &admin, &id).await["cron"],
		"30 18 * * *",
		"unchanged"
	);
	// Every change is audited.
	let (_, audit) = send(admin.get(server.url("/api/v1/audit?limit=200"))).await;
	let actions: Vec<&str> = audit["data"]
		.as_array()
		.unwrap()
		.iter()
		.filter_map(|e| e["action"].as_str())
		.collect();
	assert!(actions.contains(&"schedule.create"), "{actions:?}");
	assert!(actions.contains(&"schedule.update"), "{actions:?}");
	assert_eq!(send(admin.delete(&one)).await.0, 200);
	assert_eq!(send(admin.get(&one)).await.0, 404);
}

/// Down for longer than the grace period: `catch_up: none` starts nothing of the downtime,
/// `all` starts every missed time, `latest` only the last one.
#[tokio::test(flavor = "multi_thread")]
async fn a_schedule_due_during_downtime_follows_catch_up_after_restart() {
	let dir = tempfile::tempdir().unwrap();
	let data = dir.path().join("data");
	let server = Server::start_in(&data, &[]);
	let admin = admin_client(&server.base).await;
	let wf = create_workflow(&server, &admin, slow_workflow("Downtime", 0.0)).await;
	let mut ids = Vec::new();
	for policy in ["none", "latest", "all"] {
		let (code, created) = send(admin.post(server.url("/api/v1/schedules")).json(&json!({
			"workflow_id": wf, "name": policy, "cron": "*/2 * * * * *", "catch_up": policy,
			"overlap": "allow"
		})))
		.await;
		assert_eq!(code, 201, "{created}");
		ids.push(created["data"]["id"].as_str().unwrap().to_owned());
	}
	tokio::time::sleep(Duration::from_secs(3)).await;
	drop(server); // SIGKILL
	let down = chrono::Utc::now().timestamp_millis();
	tokio::time::sleep(Duration::from_secs(16)).await;
	let server = Server::start_in(&data, &[]);
	let up = chrono::Utc::now().timestamp_millis();
	tokio::time::sleep(Duration::from_secs(2)).await;
	let admin = admin_client(&server.base).await;
	// Fires due while down and older than the grace period at the restart.
	let grace = apg_schedule::GRACE_MS;
	let missed = |fires: &Value| {
		fires
			.as_array()
			.unwrap()
			.iter()
			.filter(|f| {
				let at = millis(&f["fire_at"]);
				at > down && at < up - grace
			})
			.count()
	};
	let expected_missed = ((up - grace - down) / 2000) as usize;
	assert!(expected_missed >= 2, "the downtime is long enough");
	let none = schedule(&server, &admin, &ids[0]).await;
	let latest = schedule(&server, &admin, &ids[1]).await;
	let all = schedule(&server, &admin, &ids[2]).await;
	assert_eq!(missed(&none["fires"]), 0, "{none}");
	assert_eq!(missed(&latest["fires"]), 1, "{latest}");
	let caught = missed(&all["fires"]);
	assert!(
		caught + 1 >= expected_missed && caught <= expected_missed + 1,
		"{caught} of about {expected_missed}: {all}"
	);
	for s in [&none, &latest, &all] {
		assert!(
			s["fires"]
				.as_array()
				.unwrap()
				.iter()
				.all(|f| f["status"] == "started"),
			"{s}"
		);
	}
}

/// `overlap: queue`: fires that come while a run is going wait and start one after another,
/// in order, never two at once, and none is dropped.
async fn queued_fires_run_one_after_another(server: Server) {
	let admin = admin_client(&server.base).await;
	let wf = create_workflow(&server, &admin, slow_workflow("Queued", 1.5)).await;
	let body = json!({"workflow_id": wf, "cron": "* * * * * *", "overlap": "queue"});
	let (code, created) = send(admin.post(server.url("/api/v1/schedules")).json(&body)).await;
	assert_eq!(code, 201, "{created}");
	let id = created["data"]["id"].as_str().unwrap().to_owned();
	tokio::time::sleep(Duration::from_secs(4)).await;
	let (code, _) = send(admin.post(server.url(&format!("/api/v1/schedules/{id}/pause")))).await;
	assert_eq!(code, 200);
	let seen = schedule(&server, &admin, &id).await;
	let fires = seen["fires"].as_array().unwrap().clone();
	assert!(
		fires.iter().any(|f| f["status"] == "queued"),
		"some wait: {seen}"
	);
	assert!(
		fires.iter().all(|f| f["status"] != "skipped"),
		"none dropped: {seen}"
	);
	// A paused schedule fires nothing, queued fires included. Resumed with a yearly
	// expression, no new fire comes, and the queue drains one run at a time.
	let (code, _) = send(admin.post(server.url(&format!("/api/v1/schedules/{id}/resume")))).await;
	assert_eq!(code, 200);
	let (code, _) = send(
		admin
			.patch(server.url(&format!("/api/v1/schedules/{id}")))
			.json(&json!({"cron": "0 0 1 1 *"})),
	)
	.await;
	assert_eq!(code, 200);
	let began = Instant::now();
	loop {
		let seen = schedule(&server, &admin, &id).await;
		let waiting = seen["fires"]
			.as_array()
			.unwrap()
			.iter()
			.filter(|f| f["status"] == "queued")
			.count();
		if waiting == 0 {
			break;
		}
		assert!(
			began.elapsed() < Duration::from_secs(30),
			"the queue drains: {seen}"
		);
		tokio::time::sleep(Duration::from_millis(500)).await;
	}
	tokio::time::sleep(Duration::from_secs(2)).await;
	let seen = schedule(&server, &admin, &id).await;
	let mut started: Vec<i64> = seen["fires"]
		.as_array()
		.unwrap()
		.iter()
		.map(|f| {
			assert_eq!(f["status"], "started", "{seen}");
			millis(&f["fire_at"])
		})
		.collect();
	started.sort();
	let mut runs: Vec<(i64, i64)> = executions(&server, &admin, &wf)
		.await
		.iter()
		.map(|e| (millis(&e["started_at"]), millis(&e["completed_at"])))
		.collect();
	runs.sort();
	assert_eq!(runs.len(), started.len(), "one execution per fire");
	assert!(
		runs.windows(2).all(|w| w[1].0 >= w[0].1),
		"overlapping runs: {runs:?}"
	);
}

/// A schedule's fires run as its creator: once the creator is disabled, each fire is refused,
/// recorded with the reason, audited, and starts nothing.
async fn fires_of_a_disabled_owner_are_refused(server: Server) {
	let admin = admin_client(&server.base).await;
	let user = json!({"username": "eddie", "password": "eddie-password-1", "role": "editor"});
	let (code, ed) = send(admin.post(server.url("/api/v1/users")).json(&user)).await;
	assert_eq!(code, 201, "{ed}");
	let ed_id = ed["data"]["id"].as_str().unwrap().to_owned();
	let client = client_with(&token(&server.base, "eddie", "eddie-password-1").await);
	let wf = create_workflow(&server, &client, slow_workflow("Ed's", 0.0)).await;
	let body = json!({"workflow_id": wf, "cron": "* * * * * *", "overlap": "allow"});
	let (code, created) = send(client.post(server.url("/api/v1/schedules")).json(&body)).await;
	assert_eq!(code, 201, "{created}");
	let id = created["data"]["id"].as_str().unwrap().to_owned();
	tokio::time::sleep(Duration::from_millis(2500)).await;
	let user = server.url(&format!("/api/v1/users/{ed_id}"));
	assert_eq!(
		send(admin.patch(&user).json(&json!({"active": false})))
			.await
			.0,
		200
	);
	let started = executions(&server, &admin, &wf).await.len();
	assert!(started >= 1, "it fired while ed was active");
	tokio::time::sleep(Duration::from_millis(2500)).await;
	assert_eq!(
		executions(&server, &admin, &wf).await.len(),
		started,
		"nothing more started"
	);
	let seen = schedule(&server, &admin, &id).await;
	let refused: Vec<&Value> = seen["fires"]
		.as_array()
		.unwrap()
		.iter()
		.filter(|f| f["status"] == "refused")
		.collect();
	assert!(refused.len() >= 2, "{seen}");
	assert!(
		refused[0]["detail"].as_str().unwrap().contains("disabled"),
		"{seen}"
	);
	let (_, audit) =
		send(admin.get(server.url("/api/v1/audit?action=schedule.fire&limit=100"))).await;
	let entries = audit["data"].as_array().unwrap();
	let denied = entries.iter().find(|e| e["outcome"] == "denied");
	assert_eq!(
		denied.map(|e| &e["actor"]),
		Some(&json!("eddie")),
		"{audit}"
	);
	assert!(entries.iter().any(|e| e["outcome"] == "allowed"), "{audit}");
}

crate::on_every_backend! {
	queued_fires_run_one_after_another_and_none_is_dropped =>
		super::queued_fires_run_one_after_another,
	fires_of_a_disabled_owner_are_refused_and_audited =>
		super::fires_of_a_disabled_owner_are_refused,
	a_per_second_schedule_with_overlap_skip_never_runs_two_at_once =>
		super::every_second_with_skip_never_overlaps,
	bad_schedules_are_refused_and_strangers_and_viewers_cannot_change_them =>
		super::bad_schedules_are_refused_and_others_cannot_get_in,
}
