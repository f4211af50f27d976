//! Many nodes on one PostgreSQL: one api node and two workers share the work; one worker is
//! killed with SIGKILL mid-run and the other stopped with SIGSTOP past its lease, then resumed.
//! Nothing is lost or stuck, no component's result is committed twice, and a subscriber on the
//! api node sees every execution end. Runs when `APG_TEST_DATABASE_URL` is set (CI sets it).

use std::process::Child;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

use crate::util::bin;

pub(crate) struct Node {
	pub(crate) child: Child,
	pub(crate) base: String,
}

impl Node {
	pub(crate) fn start(database: &str, role: &str, name: &str, dir: &std::path::Path) -> Self {
		let mut command = bin();
		command
			.args([
				"serve",
				"--port",
				"0",
				"--role",
				role,
				"--node-id",
				name,
				"--lease-seconds",
				"2",
			])
			.args(["--database-url", database]);
		// The test's ledger listens on loopback.
		command.env("APG_HTTP_ALLOW", "127.0.0.1");
		// Redis carries the events between nodes when it is configured (CI configures it).
		if let Ok(redis) = std::env::var("APG_TEST_REDIS_URL") {
			command.args(["--redis-url", &redis]);
		}
		command.current_dir(dir);
		let (child, base) = crate::util::start_listening(command);
		Self { child, base }
	}

	pub(crate) fn signal(&self, signal: &str) {
		let status = std::process::Command::new("kill")
			.args([signal, &self.child.id().to_string()])
			.status()
			.unwrap();
		assert!(status.success());
	}
}

/// The JSON answer of a request.
async fn json_of(request: reqwest::RequestBuilder) -> Value {
	request.send().await.unwrap().json().await.unwrap()
}

impl Drop for Node {
	fn drop(&mut self) {
		self.signal("-CONT");
		let _ = self.child.kill();
		let _ = self.child.wait();
	}
}

#[tokio::test(flavor = "multi_thread")]
async fn nodes_share_work_and_survive_a_killed_and_a_stalled_worker() {
	let Some(pg) = crate::util::PgSchema::create("apg_cluster").await else {
		eprintln!("skipped: APG_TEST_DATABASE_URL is not set");
		return;
	};
	const N: usize = 2_000;
	let mut admin = pg.admin().await;
	let database = pg.database.clone();
	let dir = tempfile::tempdir().unwrap();
	let api = Node::start(&database, "api", "api", dir.path());
	let worker_a = Node::start(&database, "worker", "worker-a", dir.path());
	let worker_b = Node::start(&database, "worker", "worker-b", dir.path());

	let client = crate::util::admin_client(&api.base).await;
	let (ledger, ledger_url) = ledger().await;
	let record = |component: &str| {
		json!({"url": ledger_url, "method": "POST", "retry_attempts": 0,
			"body": {"execution": "{{ execution.id }}", "component": component}})
	};
	let workflow = json!({"name": "cluster test", "definition": {
		"components": [
			{"id": "start", "type": "start"},
			{"id": "before", "type": "http_request", "config": record("before")},
			{"id": "wait", "type": "delay", "config": {"seconds": 1}},
			{"id": "after", "type": "http_request", "config": record("after")},
			{"id": "end", "type": "end"}
		],
		"connections": [{"source": "start", "target": "before"}, {"source": "before", "target": "wait"},
			{"source": "wait", "target": "after"}, {"source": "after", "target": "end"}]}});
	let created: Value = client
		.post(format!("{}/api/v1/workflows", api.base))
		.json(&workflow)
		.send()
		.await
		.unwrap()
		.json()
		.await
		.unwrap();
	let workflow_id = created["data"]["id"].as_str().unwrap().to_owned();

	let (mut ws, _) =
		tokio_tungstenite::connect_async(crate::util::admin_ws_url(&api.base, "/ws").await)
			.await
			.unwrap();
	ws.send(Message::Text(
		json!({"action": "subscribe", "workflow_id": workflow_id})
			.to_string()
			.into(),
	))
	.await
	.unwrap();
	let _ack = ws.next().await.unwrap().unwrap();
	let ended = tokio::spawn(async move {
		let mut ended = std::collections::HashSet::new();
		while ended.len() < N {
			let Ok(Some(Ok(message))) =
				tokio::time::timeout(Duration::from_secs(120), ws.next()).await
			else {
				break;
			};
			let Ok(value) = serde_json::from_str::<Value>(message.to_text().unwrap_or("")) else {
				continue;
			};
			let data = &value["data"];
			if data["type"] == "execution"
				&& ["completed", "failed", "cancelled"]
					.contains(&data["status"].as_str().unwrap_or(""))
			{
				ended.insert(data["execution_id"].as_str().unwrap().to_owned());
			}
		}
		ended.len()
	});

	let began = Instant::now();
	let mut submits = tokio::task::JoinSet::new();
	for i in 0..N {
		let client = client.clone();
		let url = format!("{}/api/v1/workflows/{workflow_id}/execute", api.base);
		submits.spawn(async move {
			client
				.post(url)
				.json(&json!({"parameters": {"n": i}}))
				.send()
				.await
				.unwrap()
				.status()
				.as_u16()
		});
		if submits.len() >= 32 {
			assert_eq!(submits.join_next().await.unwrap().unwrap(), 200);
		}
	}
	while let Some(status) = submits.join_next().await {
		assert_eq!(status.unwrap(), 200);
	}
	// Mid-run: one worker dies, the other stalls past its two-second lease.
	worker_a.signal("-KILL");
	worker_b.signal("-STOP");
	tokio::time::sleep(Duration::from_secs(4)).await;
	worker_b.signal("-CONT");

	let unfinished = "SELECT count(*) FROM wo_executions WHERE status NOT IN ('completed', 'failed', 'cancelled')";
	loop {
		let left: i64 = sqlx::query_scalar(unfinished)
			.fetch_one(&mut admin)
			.await
			.unwrap();
		if left == 0 {
			break;
		}
		assert!(
			began.elapsed() < Duration::from_secs(180),
			"{left} executions stuck"
		);
		tokio::time::sleep(Duration::from_millis(250)).await;
	}
	let wall = began.elapsed();
	let completed: i64 =
		sqlx::query_scalar("SELECT count(*) FROM wo_executions WHERE status = 'completed'")
			.fetch_one(&mut admin)
			.await
			.unwrap();
	assert_eq!(completed as usize, N, "0 executions lost");
	let duplicates: i64 = sqlx::query_scalar(
		"SELECT count(*) FROM (SELECT execution_id, component_id FROM wo_component_attempts \
		 WHERE status = 'completed' GROUP BY 1, 2 HAVING count(*) > 1) d",
	)
	.fetch_one(&mut admin)
	.await
	.unwrap();
	assert_eq!(duplicates, 0, "no component result committed twice");
	let reruns: i64 =
		sqlx::query_scalar("SELECT count(*) FROM wo_component_attempts WHERE status = 'failed'")
			.fetch_one(&mut admin)
			.await
			.unwrap();
	// Side effects: every http component called the ledger; a repeated call is a side effect done
	// twice (an attempt that was running on the killed worker ran again elsewhere).
	let calls = ledger.lock().unwrap().clone();
	let mut per_step = std::collections::HashMap::new();
	for call in &calls {
		*per_step.entry(call.clone()).or_insert(0) += 1;
	}
	assert_eq!(
		per_step.len(),
		2 * N,
		"every http component of every execution called the ledger"
	);
	let repeated: usize = per_step.values().map(|n| n - 1).sum();
	eprintln!(
		"{N} executions on 2 workers in {:.1} s; {reruns} interrupted attempts ran again; \
		 {repeated} side effects repeated",
		wall.as_secs_f64()
	);
	// Bounded by the attempts in flight on the killed worker (its concurrency limit).
	assert!(repeated <= 100, "{repeated} repeated side effects");
	assert_eq!(
		ended.await.unwrap(),
		N,
		"the api node's subscriber saw every execution end"
	);
	drop((api, worker_a, worker_b));
}

type Ledger = std::sync::Arc<std::sync::Mutex<Vec<(String, String)>>>;

/// A loopback HTTP server recording each `(execution, component)` it is told about.
async fn ledger() -> (Ledger, String) {
	let calls: Ledger = Default::default();
	let sink = calls.clone();
	let app = axum::Router::new().route(
		"/record",
		axum::routing::post(move |axum::Json(body): axum::Json<Value>| {
			let sink = sink.clone();
			async move {
				let key = (
					body["execution"].as_str().unwrap_or("").to_owned(),
					body["component"].as_str().unwrap_or("").to_owned(),
				);
				sink.lock().unwrap().push(key);
				"ok"
			}
		}),
	);
	let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
	let url = format!("http://{}/record", listener.local_addr().unwrap());
	tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
	(calls, url)
}

/// An api node with no worker queues work, and cancelling what nobody has claimed ends it.
#[tokio::test(flavor = "multi_thread")]
async fn an_api_node_alone_queues_work_and_cancels_unclaimed_executions() {
	let Some(pg) = crate::util::PgSchema::create("apg_api").await else {
		eprintln!("skipped: APG_TEST_DATABASE_URL is not set");
		return;
	};
	let database = pg.database.clone();
	let dir = tempfile::tempdir().unwrap();
	let api = Node::start(&database, "api", "lonely-api", dir.path());
	let client = crate::util::admin_client(&api.base).await;
	let created: Value = client
		.post(format!("{}/api/v1/workflows", api.base))
		.json(&crate::server::seed_workflow())
		.send()
		.await
		.unwrap()
		.json()
		.await
		.unwrap();
	let id = created["data"]["id"].as_str().unwrap();
	let execution: Value = client
		.post(format!("{}/api/v1/workflows/{id}/execute", api.base))
		.json(&json!({}))
		.send()
		.await
		.unwrap()
		.json()
		.await
		.unwrap();
	let execution_id = execution["data"]["id"].as_str().unwrap();
	tokio::time::sleep(Duration::from_millis(500)).await;
	let current: Value = client
		.get(format!("{}/api/v1/executions/{execution_id}", api.base))
		.send()
		.await
		.unwrap()
		.json()
		.await
		.unwrap();
	assert_eq!(
		current["data"]["status"], "queued",
		"no worker: the execution waits"
	);
	let cancelled = client
		.post(format!(
			"{}/api/v1/executions/{execution_id}/cancel",
			api.base
		))
		.send()
		.await
		.unwrap();
	assert_eq!(cancelled.status(), 200);
	let body: Value = cancelled.json().await.unwrap();
	assert_eq!(body["data"]["status"], "cancelled");
	// Cancelled through the machine: no component is left open under the cancelled execution,
	// and its events say so.
	let detail: Value = client
		.get(format!("{}/api/v1/executions/{execution_id}", api.base))
		.send()
		.await
		.unwrap()
		.json()
		.await
		.unwrap();
	let components = detail["data"]["components"].as_array().unwrap();
	assert!(!components.is_empty(), "{detail}");
	for c in components {
		assert!(
			["cancelled", "skipped", "completed"].contains(&c["status"].as_str().unwrap()),
			"{c}"
		);
	}
	drop(api);
}

/// The same `Idempotency-Key` sent to two api nodes at once creates one execution.
#[tokio::test(flavor = "multi_thread")]
async fn an_idempotency_key_creates_one_execution_across_nodes() {
	let Some(pg) = crate::util::PgSchema::create("apg_idem").await else {
		eprintln!("skipped: APG_TEST_DATABASE_URL is not set");
		return;
	};
	let mut admin = pg.admin().await;
	let database = pg.database.clone();
	let dir = tempfile::tempdir().unwrap();
	let one = Node::start(&database, "api", "idem-1", dir.path());
	let two = Node::start(&database, "api", "idem-2", dir.path());
	let client = crate::util::admin_client(&one.base).await;
	let created: Value = client
		.post(format!("{}/api/v1/workflows", one.base))
		.json(&crate::server::seed_workflow())
		.send()
		.await
		.unwrap()
		.json()
		.await
		.unwrap();
	let id = created["data"]["id"].as_str().unwrap().to_owned();
	let mut requests = tokio::task::JoinSet::new();
	for i in 0..20 {
		let base = if i % 2 == 0 {
			one.base.clone()
		} else {
			two.base.clone()
		};
		let (client, id) = (client.clone(), id.clone());
		requests.spawn(async move {
			let response = client
				.post(format!("{base}/api/v1/workflows/{id}/execute"))
				.header("Idempotency-Key", "order-42")
				.json(&json!({}))
				.send()
				.await
				.unwrap();
			assert_eq!(response.status(), 200);
			let body: Value = response.json().await.unwrap();
			body["data"]["id"].as_str().unwrap().to_owned()
		});
	}
	let mut ids = std::collections::HashSet::new();
	while let Some(id) = requests.join_next().await {
		ids.insert(id.unwrap());
	}
	assert_eq!(ids.len(), 1, "every request got the same execution");
	let count: i64 = sqlx::query_scalar("SELECT count(*) FROM wo_executions")
		.fetch_one(&mut admin)
		.await
		.unwrap();
	assert_eq!(count, 1);
	drop((one, two));
}

/// With Redis, callers' accounts are cached for every node, and a change made through one node
/// holds on the others from the next request: a key used on node B stops working the moment
/// an admin disables its user on node A, and acts with a new role at once.
#[tokio::test(flavor = "multi_thread")]
async fn an_account_change_on_one_node_holds_on_the_others_at_once() {
	let Some(pg) = crate::util::PgSchema::create("apg_accounts").await else {
		eprintln!("skipped: APG_TEST_DATABASE_URL is not set");
		return;
	};
	assert!(
		std::env::var("APG_TEST_REDIS_URL").is_ok(),
		"APG_TEST_DATABASE_URL is set without APG_TEST_REDIS_URL: a cluster test needs both"
	);
	let database = pg.database.clone();
	let dir = tempfile::tempdir().unwrap();
	let a = Node::start(&database, "api", "api-a", dir.path());
	let b = Node::start(&database, "api", "api-b", dir.path());
	let admin = crate::util::admin_client(&a.base).await;
	let created: Value = json_of(
		admin
			.post(format!("{}/api/v1/users", a.base))
			.json(&json!({"username": "dana", "password": "dana-password-1", "role": "editor"})),
	)
	.await;
	let dana = created["data"]["id"].as_str().unwrap().to_owned();
	let session =
		crate::util::client_with(&crate::util::token(&b.base, "dana", "dana-password-1").await);
	let key: Value = json_of(
		session
			.post(format!("{}/api/v1/auth/tokens", b.base))
			.json(&json!({"name": "ci"})),
	)
	.await;
	let key = crate::util::client_with(key["data"]["key"].as_str().unwrap());
	let me = format!("{}/api/v1/auth/me", b.base);
	let role = |v: Value| v["data"]["role"].as_str().unwrap_or_default().to_owned();
	let get = |c: &reqwest::Client| c.get(&me).send();
	for _ in 0..3 {
		assert_eq!(
			role(get(&key).await.unwrap().json().await.unwrap()),
			"editor"
		);
	}
	let user = format!("{}/api/v1/users/{dana}", a.base);
	let patch = |body: Value| admin.patch(&user).json(&body).send();
	assert_eq!(
		patch(json!({"role": "viewer"})).await.unwrap().status(),
		200
	);
	assert_eq!(
		role(get(&key).await.unwrap().json().await.unwrap()),
		"viewer"
	);
	assert_eq!(patch(json!({"active": false})).await.unwrap().status(), 200);
	assert_eq!(get(&key).await.unwrap().status(), 401, "disabled on node A");
	assert_eq!(get(&session).await.unwrap().status(), 401);
}

/// Two nodes tick the same per-second schedule: each second fires once, with one execution.
#[tokio::test(flavor = "multi_thread")]
async fn two_nodes_never_both_fire_one_tick() {
	let Some(pg) = crate::util::PgSchema::create("apg_cron").await else {
		eprintln!("skipped: APG_TEST_DATABASE_URL is not set");
		return;
	};
	let database = pg.database.clone();
	let dir = tempfile::tempdir().unwrap();
	let a = Node::start(&database, "all", "cron-a", dir.path());
	let b = Node::start(&database, "all", "cron-b", dir.path());
	let client = crate::util::admin_client(&a.base).await;
	let created: Value = json_of(
		client
			.post(format!("{}/api/v1/workflows", a.base))
			.json(&crate::server::seed_workflow()),
	)
	.await;
	let wf = created["data"]["id"].as_str().unwrap().to_owned();
	let body = json!({"workflow_id": wf, "cron": "* * * * * *", "overlap": "allow"});
	let created: Value = json_of(
		client
			.post(format!("{}/api/v1/schedules", b.base))
			.json(&body),
	)
	.await;
	let id = created["data"]["id"].as_str().unwrap().to_owned();
	tokio::time::sleep(Duration::from_secs(6)).await;
	let paused = client
		.post(format!("{}/api/v1/schedules/{id}/pause", a.base))
		.send()
		.await
		.unwrap();
	assert_eq!(paused.status(), 200);
	tokio::time::sleep(Duration::from_secs(2)).await;
	let seen: Value = json_of(client.get(format!("{}/api/v1/schedules/{id}", b.base))).await;
	let fires = seen["data"]["fires"].as_array().unwrap();
	assert!(fires.len() >= 4, "{seen}");
	assert!(fires.iter().all(|f| f["status"] == "started"), "{seen}");
	let mut times: Vec<&str> = fires
		.iter()
		.map(|f| f["fire_at"].as_str().unwrap())
		.collect();
	times.dedup();
	assert_eq!(times.len(), fires.len(), "one row per second");
	let executions: Value = json_of(client.get(format!(
		"{}/api/v1/executions?workflow_id={wf}&limit=500",
		a.base
	)))
	.await;
	let executions = executions["data"].as_array().unwrap();
	assert_eq!(
		executions.len(),
		fires.len(),
		"one execution per fire: {executions:?}"
	);
	let mut ids: Vec<&str> = fires
		.iter()
		.map(|f| f["execution_id"].as_str().unwrap())
		.collect();
	ids.sort();
	ids.dedup();
	assert_eq!(ids.len(), fires.len());
}
