//! The real server on port 0: the seed's lifecycle over REST and GraphQL, every event of an
//! execution over `/ws` and over a GraphQL subscription (graphql-transport-ws).

use std::process::Child;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::util::bin;

/// A running `apg-workflow serve` on a fresh store (a SQLite data dir, or a PostgreSQL schema of
/// its own); killed, and its schema dropped, when dropped.
pub(crate) struct Server {
	child: Child,
	pub(crate) base: String,
	_dir: tempfile::TempDir,
	schema: Option<crate::util::PgSchema>,
	/// How it was started (store arguments and environment), for [`Server::restart`].
	store: Vec<String>,
	env: Vec<(String, String)>,
}

/// Runs an async test body against a server on every configured backend: SQLite always,
/// PostgreSQL when `APG_TEST_DATABASE_URL` is set.
#[macro_export]
macro_rules! on_every_backend {
	($($name:ident => $body:path),+ $(,)?) => {
		mod on_sqlite {
			$(
				#[tokio::test(flavor = "multi_thread")]
				async fn $name() {
					$body($crate::server::Server::start()).await;
				}
			)+
		}
		mod on_postgres {
			$(
				#[tokio::test(flavor = "multi_thread")]
				async fn $name() {
					let Some(server) = $crate::server::Server::start_postgres().await else {
						eprintln!("skipped: APG_TEST_DATABASE_URL is not set");
						return;
					};
					$body(server).await;
				}
			)+
		}
	};
}

impl Server {
	pub(crate) fn start() -> Self {
		let dir = tempfile::tempdir().unwrap();
		let data = dir.path().join("data");
		Self::spawn(dir, &["--data-dir", data.to_str().unwrap()], None)
	}

	/// A server on a fresh schema of `APG_TEST_DATABASE_URL`, or `None` when it is not set.
	pub(crate) async fn start_postgres() -> Option<Self> {
		Self::start_postgres_with(&[]).await
	}

	/// [`Server::start_postgres`] with extra environment.
	pub(crate) async fn start_postgres_with(env: &[(&str, &str)]) -> Option<Self> {
		let pg = crate::util::PgSchema::create("apg_e2e").await?;
		let database = pg.database.clone();
		let dir = tempfile::tempdir().unwrap();
		Some(Self::spawn_with(
			dir,
			&["--database-url", &database],
			Some(pg),
			env,
		))
	}

	/// A server on the SQLite data dir `data` (kept by the caller, so a test can restart a
	/// server on the same data), with extra environment.
	pub(crate) fn start_in(data: &std::path::Path, env: &[(&str, &str)]) -> Self {
		let dir = tempfile::tempdir().unwrap();
		Self::spawn_with(dir, &["--data-dir", data.to_str().unwrap()], None, env)
	}

	/// The PostgreSQL server URL and schema name, when on PostgreSQL.
	pub(crate) fn pg(&self) -> Option<(String, String)> {
		self.schema
			.as_ref()
			.map(|s| (s.url.clone(), s.name.clone()))
	}

	fn spawn(
		dir: tempfile::TempDir,
		store: &[&str],
		schema: Option<crate::util::PgSchema>,
	) -> Self {
		Self::spawn_with(dir, store, schema, &[])
	}

	fn spawn_with(
		dir: tempfile::TempDir,
		store: &[&str],
		schema: Option<crate::util::PgSchema>,
		env: &[(&str, &str)],
	) -> Self {
		let store: Vec<String> = store.iter().map(|s| (*s).to_owned()).collect();
		let env: Vec<(String, String)> = env
			.iter()
			.map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
			.collect();
		let (child, base) = Self::launch(dir.path(), &store, &env);
		Self {
			child,
			base,
			_dir: dir,
			schema,
			store,
			env,
		}
	}

	fn launch(
		dir: &std::path::Path,
		store: &[String],
		env: &[(String, String)],
	) -> (Child, String) {
		let mut command = bin();
		command
			.args(["serve", "--port", "0"])
			.args(store)
			.envs(env.iter().map(|(k, v)| (k, v)))
			.env("APG_ENV", "production")
			.current_dir(dir);
		crate::util::start_listening(command)
	}

	/// Kills the server (SIGKILL) and starts it again on the same store; its address changes.
	pub(crate) fn restart(&mut self) {
		let _ = self.child.kill();
		let _ = self.child.wait();
		let (child, base) = Self::launch(self._dir.path(), &self.store, &self.env);
		self.child = child;
		self.base = base;
	}

	/// The server's process id (to read its memory use).
	pub(crate) fn pid(&self) -> u32 {
		self.child.id()
	}

	/// Whether the server process is still running.
	pub(crate) fn alive(&mut self) -> bool {
		matches!(self.child.try_wait(), Ok(None))
	}

	pub(crate) fn url(&self, path: &str) -> String {
		format!("{}{path}", self.base)
	}
}

impl Drop for Server {
	fn drop(&mut self) {
		let _ = self.child.kill();
		let _ = self.child.wait();
		// The schema (if any) is dropped after the server stopped.
		self.schema.take();
	}
}

pub(crate) fn seed_workflow() -> Value {
	json!({
		"name": "Integration Test Workflow",
		"description": "Test workflow for integration testing",
		"definition": {
			"components": [
				{"id": "start", "type": "start", "config": {"trigger_type": "manual"}},
				{"id": "task", "type": "task", "config": {"task_type": "echo", "message": "Hello World"}},
				{"id": "end", "type": "end", "config": {"status": "success"}}
			],
			"connections": [
				{"source": "start", "target": "task", "type": "success"},
				{"source": "task", "target": "end", "type": "success"}
			]
		},
		"category": "test"
	})
}

async fn poll_until_ended(client: &reqwest::Client, server: &Server, id: &str) -> Value {
	let began = Instant::now();
	loop {
		let response = client
			.get(server.url(&format!("/api/v1/executions/{id}")))
			.send()
			.await
			.unwrap();
		assert_eq!(response.status(), 200);
		let body: Value = response.json().await.unwrap();
		let status = body["data"]["status"].as_str().unwrap().to_owned();
		if ["completed", "failed", "cancelled"].contains(&status.as_str()) {
			return body["data"].clone();
		}
		assert!(began.elapsed() < Duration::from_secs(30), "still {status}");
		tokio::time::sleep(Duration::from_millis(50)).await;
	}
}

async fn the_seed_lifecycle_passes_over_rest(server: Server) {
	let client = crate::util::admin_client(&server.base).await;
	let response = client
		.post(server.url("/api/v1/workflows"))
		.json(&seed_workflow())
		.send()
		.await
		.unwrap();
	assert_eq!(response.status(), 201);
	let workflow: Value = response.json().await.unwrap();
	assert_eq!(workflow["success"], true);
	assert_eq!(workflow["data"]["component_count"], 3);
	let workflow_id = workflow["data"]["id"].as_str().unwrap().to_owned();

	let response = client
		.post(server.url(&format!("/api/v1/workflows/{workflow_id}/execute")))
		.json(&json!({}))
		.send()
		.await
		.unwrap();
	assert_eq!(response.status(), 200);
	let execution: Value = response.json().await.unwrap();
	let execution_id = execution["data"]["id"].as_str().unwrap().to_owned();

	let done = poll_until_ended(&client, &server, &execution_id).await;
	assert_eq!(done["status"], "completed");
	assert_eq!(done["components"].as_array().unwrap().len(), 3);

	let response = client
		.get(server.url(&format!("/api/v1/executions/{execution_id}/logs")))
		.send()
		.await
		.unwrap();
	assert_eq!(response.status(), 200);
	let logs: Value = response.json().await.unwrap();
	assert!(!logs["data"].as_array().unwrap().is_empty());

	let list: Value = client
		.get(server.url("/api/v1/workflows?category=test"))
		.send()
		.await
		.unwrap()
		.json()
		.await
		.unwrap();
	assert_eq!(list["data"][0]["execution_count"], 1);
	assert_eq!(list["data"][0]["success_rate"], 1.0);

	let response = client
		.delete(server.url(&format!("/api/v1/workflows/{workflow_id}")))
		.send()
		.await
		.unwrap();
	assert_eq!(response.status(), 200);
	let response = client
		.get(server.url(&format!("/api/v1/workflows/{workflow_id}")))
		.send()
		.await
		.unwrap();
	assert_eq!(response.status(), 404);
}

async fn graphql(
	client: &reqwest::Client,
	server: &Server,
	query: &str,
	variables: Value,
) -> Value {
	let body = json!({"query": query, "variables": variables});
	let response = client
		.post(server.url("/graphql"))
		.json(&body)
		.send()
		.await
		.unwrap();
	assert_eq!(response.status(), 200);
	let value: Value = response.json().await.unwrap();
	assert!(value.get("errors").is_none(), "{value}");
	value["data"].clone()
}

async fn the_seed_lifecycle_passes_over_graphql(server: Server) {
	let client = crate::util::admin_client(&server.base).await;
	let definition = seed_workflow()["definition"].to_string();
	let created = graphql(
		&client,
		&server,
		"mutation($d: String!) { createWorkflow(name: \"GraphQL lifecycle\", definition: $d, category: \"test\") { id name componentCount } }",
		json!({"d": definition}),
	)
	.await;
	let workflow_id = created["createWorkflow"]["id"].as_str().unwrap().to_owned();
	assert_eq!(created["createWorkflow"]["componentCount"], 3);
	let listed = graphql(
		&client,
		&server,
		"{ workflows(limit: 10, category: \"test\") { id name } }",
		json!({}),
	)
	.await;
	assert_eq!(listed["workflows"].as_array().unwrap().len(), 1);
	let executed = graphql(
		&client,
		&server,
		"mutation($w: ID!) { executeWorkflow(workflowId: $w) { id status } }",
		json!({"w": workflow_id}),
	)
	.await;
	let execution_id = executed["executeWorkflow"]["id"]
		.as_str()
		.unwrap()
		.to_owned();
	let began = Instant::now();
	let execution = loop {
		let data = graphql(
			&client,
			&server,
			"query($id: ID!) { execution(id: $id) { status logs { message } components { componentId status } } }",
			json!({"id": execution_id}),
		)
		.await;
		if data["execution"]["status"] == "completed" {
			break data["execution"].clone();
		}
		assert!(began.elapsed() < Duration::from_secs(30), "{data}");
		tokio::time::sleep(Duration::from_millis(50)).await;
	};
	assert!(!execution["logs"].as_array().unwrap().is_empty());
	assert_eq!(execution["components"].as_array().unwrap().len(), 3);
	let deleted = graphql(
		&client,
		&server,
		"mutation($w: ID!) { deleteWorkflow(id: $w) }",
		json!({"w": workflow_id}),
	)
	.await;
	assert_eq!(deleted["deleteWorkflow"], true);
	let gone = graphql(
		&client,
		&server,
		"query($w: ID!) { workflow(id: $w) { id } }",
		json!({"w": workflow_id}),
	)
	.await;
	assert!(gone["workflow"].is_null());
}

async fn create_and_get_id(client: &reqwest::Client, server: &Server) -> String {
	let response = client
		.post(server.url("/api/v1/workflows"))
		.json(&seed_workflow())
		.send()
		.await
		.unwrap();
	assert_eq!(response.status(), 201);
	let body: Value = response.json().await.unwrap();
	body["data"]["id"].as_str().unwrap().to_owned()
}

async fn execute(client: &reqwest::Client, server: &Server, workflow_id: &str) -> String {
	let response = client
		.post(server.url(&format!("/api/v1/workflows/{workflow_id}/execute")))
		.json(&json!({}))
		.send()
		.await
		.unwrap();
	assert_eq!(response.status(), 200);
	let body: Value = response.json().await.unwrap();
	body["data"]["id"].as_str().unwrap().to_owned()
}

fn completed_components(events: &[Value]) -> Vec<String> {
	let mut ids: Vec<String> = events
		.iter()
		.filter(|e| e["type"] == "component" && e["status"] == "completed")
		.map(|e| {
			e["component_id"]
				.as_str()
				.or(e["componentId"].as_str())
				.unwrap_or_default()
				.to_owned()
		})
		.collect();
	ids.sort();
	ids
}

async fn every_component_event_of_an_execution_arrives_over_the_websocket(server: Server) {
	let client = crate::util::admin_client(&server.base).await;
	let workflow_id = create_and_get_id(&client, &server).await;
	let (mut ws, _) =
		tokio_tungstenite::connect_async(crate::util::admin_ws_url(&server.base, "/ws").await)
			.await
			.unwrap();
	ws.send(Message::Text(
		json!({"action": "subscribe", "workflow_id": workflow_id})
			.to_string()
			.into(),
	))
	.await
	.unwrap();
	let ack: Value =
		serde_json::from_str(ws.next().await.unwrap().unwrap().to_text().unwrap()).unwrap();
	assert_eq!(ack["type"], "subscribed");
	let execution_id = execute(&client, &server, &workflow_id).await;
	let mut events = Vec::new();
	loop {
		let message = tokio::time::timeout(Duration::from_secs(10), ws.next())
			.await
			.unwrap()
			.unwrap()
			.unwrap();
		let value: Value = serde_json::from_str(message.to_text().unwrap()).unwrap();
		assert_eq!(value["type"], "workflow_update");
		assert_eq!(value["workflow_id"], workflow_id);
		assert!(value["timestamp"].is_string());
		let data = value["data"].clone();
		assert_eq!(data["execution_id"], execution_id);
		let end = data["type"] == "execution" && data["status"] == "completed";
		events.push(data);
		if end {
			break;
		}
	}
	assert_eq!(completed_components(&events), vec!["end", "start", "task"]);
	// Subscribing by execution after it ended replays its stored events.
	let (mut ws, _) =
		tokio_tungstenite::connect_async(crate::util::admin_ws_url(&server.base, "/ws").await)
			.await
			.unwrap();
	ws.send(Message::Text(
		json!({"action": "subscribe", "execution_id": execution_id})
			.to_string()
			.into(),
	))
	.await
	.unwrap();
	let mut replayed = Vec::new();
	while replayed.len() < events.len() + 1 {
		let message = tokio::time::timeout(Duration::from_secs(10), ws.next())
			.await
			.unwrap()
			.unwrap()
			.unwrap();
		replayed.push(serde_json::from_str::<Value>(message.to_text().unwrap()).unwrap());
	}
	assert_eq!(replayed[0]["type"], "subscribed");
	let replayed: Vec<Value> = replayed[1..].iter().map(|m| m["data"].clone()).collect();
	assert_eq!(
		replayed, events,
		"the replay is the same events in the same order"
	);
}

async fn every_component_event_arrives_over_a_graphql_subscription(server: Server) {
	let client = crate::util::admin_client(&server.base).await;
	let workflow_id = create_and_get_id(&client, &server).await;
	let execution_id = execute(&client, &server, &workflow_id).await;
	let mut request = crate::util::admin_ws_url(&server.base, "/graphql")
		.await
		.into_client_request()
		.unwrap();
	request.headers_mut().insert(
		"Sec-WebSocket-Protocol",
		"graphql-transport-ws".parse().unwrap(),
	);
	let (mut ws, response) = tokio_tungstenite::connect_async(request).await.unwrap();
	assert_eq!(
		response.headers()["sec-websocket-protocol"],
		"graphql-transport-ws"
	);
	ws.send(Message::Text(
		json!({"type": "connection_init"}).to_string().into(),
	))
	.await
	.unwrap();
	let ack: Value =
		serde_json::from_str(ws.next().await.unwrap().unwrap().to_text().unwrap()).unwrap();
	assert_eq!(ack["type"], "connection_ack");
	let query = format!(
		"subscription {{ executionEvents(executionId: \"{execution_id}\") {{ type status componentId executionId }} }}"
	);
	ws.send(Message::Text(
		json!({"id": "1", "type": "subscribe", "payload": {"query": query}})
			.to_string()
			.into(),
	))
	.await
	.unwrap();
	let mut events = Vec::new();
	loop {
		let message = tokio::time::timeout(Duration::from_secs(10), ws.next())
			.await
			.unwrap()
			.unwrap()
			.unwrap();
		let value: Value = serde_json::from_str(message.to_text().unwrap()).unwrap();
		match value["type"].as_str() {
			Some("next") => {
				let event = value["payload"]["data"]["executionEvents"].clone();
				assert_eq!(event["executionId"], execution_id);
				events.push(event);
			}
			Some("complete") => break,
			other => panic!("unexpected message {other:?}: {value}"),
		}
	}
	assert_eq!(completed_components(&events), vec!["end", "start", "task"]);
	assert_eq!(events.last().unwrap()["status"], "completed");
}

async fn a_failed_execution_is_retried_from_its_failed_component(server: Server) {
	let client = crate::util::admin_client(&server.base).await;
	let workflow = json!({"name": "retry me", "definition": {
		"components": [{"id": "start", "type": "start"},
			{"id": "x", "type": "task", "config": {"task_type": "fail", "succeed_on_attempt": 2, "retry_attempts": 0}},
			{"id": "end", "type": "end"}],
		"connections": [{"source": "start", "target": "x"}, {"source": "x", "target": "end"}]}});
	let created: Value = client
		.post(server.url("/api/v1/workflows"))
		.json(&workflow)
		.send()
		.await
		.unwrap()
		.json()
		.await
		.unwrap();
	let id = created["data"]["id"].as_str().unwrap().to_owned();
	let execution_id = execute(&client, &server, &id).await;
	assert_eq!(
		poll_until_ended(&client, &server, &execution_id).await["status"],
		"failed"
	);
	let response = client
		.post(server.url(&format!("/api/v1/executions/{execution_id}/retry")))
		.send()
		.await
		.unwrap();
	assert_eq!(response.status(), 200);
	let done = poll_until_ended(&client, &server, &execution_id).await;
	assert_eq!(done["status"], "completed", "{done}");
	let attempts: Vec<(String, u64, String)> = done["attempts"]
		.as_array()
		.unwrap()
		.iter()
		.filter(|a| a["component_id"] == "x")
		.map(|a| {
			(
				a["component_id"].as_str().unwrap().to_owned(),
				a["attempt"].as_u64().unwrap(),
				a["status"].as_str().unwrap().to_owned(),
			)
		})
		.collect();
	assert_eq!(
		attempts,
		vec![
			("x".into(), 1, "failed".into()),
			("x".into(), 2, "completed".into())
		]
	);
	let again = client
		.post(server.url(&format!("/api/v1/executions/{execution_id}/retry")))
		.send()
		.await
		.unwrap();
	assert_eq!(
		again.status(),
		409,
		"a completed execution cannot be retried"
	);
}

on_every_backend!(
	a_failed_execution_is_retried_from_its_failed_component =>
		super::a_failed_execution_is_retried_from_its_failed_component,
	the_seed_lifecycle_passes_over_rest => super::the_seed_lifecycle_passes_over_rest,
	the_seed_lifecycle_passes_over_graphql => super::the_seed_lifecycle_passes_over_graphql,
	every_component_event_of_an_execution_arrives_over_the_websocket =>
		super::every_component_event_of_an_execution_arrives_over_the_websocket,
	every_component_event_arrives_over_a_graphql_subscription =>
		super::every_component_event_arrives_over_a_graphql_subscription,
);

/// A WebSocket client that stops reading is disconnected once it falls a full event buffer
/// behind; the server neither buffers for it nor slows down.
#[tokio::test(flavor = "multi_thread")]
async fn a_websocket_client_that_stops_reading_is_dropped() {
	let dir = tempfile::tempdir().unwrap();
	let data = dir.path().join("data");
	let server = Server::spawn_with(
		dir,
		&["--data-dir", data.to_str().unwrap()],
		None,
		&[("APG_EVENT_BUFFER", "64")],
	);
	let client = crate::util::admin_client(&server.base).await;
	let workflow_id = create_and_get_id(&client, &server).await;
	let (mut ws, _) =
		tokio_tungstenite::connect_async(crate::util::admin_ws_url(&server.base, "/ws").await)
			.await
			.unwrap();
	ws.send(Message::Text(
		json!({"action": "subscribe", "workflow_id": workflow_id})
			.to_string()
			.into(),
	))
	.await
	.unwrap();
	// Enough events (8 per execution) to overflow the socket buffers and then the event buffer.
	const N: usize = 3_000;
	let mut submits = tokio::task::JoinSet::new();
	for _ in 0..N {
		let (client, url) = (
			client.clone(),
			server.url(&format!("/api/v1/workflows/{workflow_id}/execute")),
		);
		submits.spawn(async move {
			client
				.post(url)
				.json(&json!({}))
				.send()
				.await
				.unwrap()
				.status()
		});
		if submits.len() >= 32 {
			assert_eq!(submits.join_next().await.unwrap().unwrap(), 200);
		}
	}
	while let Some(status) = submits.join_next().await {
		assert_eq!(status.unwrap(), 200);
	}
	// Now read: the stream ends (the server closed it) well before all events arrived.
	let mut received = 0;
	while let Ok(Some(Ok(message))) = tokio::time::timeout(Duration::from_secs(15), ws.next()).await
	{
		if message.is_close() {
			break;
		}
		received += 1;
	}
	eprintln!(
		"the slow client got {received} of {} messages before it was dropped",
		N * 9
	);
	assert!(
		received < N * 9,
		"a client that did not read got all {received} messages buffered"
	);
	assert_eq!(
		client
			.get(server.url("/health"))
			.send()
			.await
			.unwrap()
			.status(),
		200
	);
}
