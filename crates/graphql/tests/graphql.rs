//! The GraphQL API against a real engine and real security on a memory store: the seed's
//! lifecycle, statistics, errors and their extensions, subscriptions (in process and over
//! WebSocket), the limits, and authorization (ownership, shares, roles, sealing, audit).

use std::sync::Arc;
use std::time::Duration;

use apg_auth::{Keyring, NewUser, Security, SecurityConfig};
use apg_components::builtins;
use apg_core::{
	AuditFilter, AuthStore, ExecutionId, Principal, Role, Share, Store, WorkflowAction, WorkflowId,
};
use apg_engine::{Engine, EngineConfig};
use apg_graphql::{ApgSchema, router, schema};
use apg_store::MemoryStore;
use async_graphql::{Request, Variables};
use axum::body::Body;
use axum::http::{self, StatusCode};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tower::ServiceExt;

/// The definition of the seed's integration test: start → task echo "Hello World" → end.
const SEED_DEFINITION: &str = r#"{
	"components": [
		{"id": "start", "type": "start", "config": {"trigger_type": "manual"}},
		{"id": "task", "type": "task", "config": {"task_type": "echo", "message": "Hello World"}},
		{"id": "end", "type": "end", "config": {"status": "success"}}
	],
	"connections": [
		{"source": "start", "target": "task", "type": "success"},
		{"source": "task", "target": "end", "type": "success"}
	]
}"#;

/// start → delay (0.3 s) → task → end: still running when a client subscribes.
const DELAYED_DEFINITION: &str = r#"{
	"components": [
		{"id": "start", "type": "start"},
		{"id": "wait", "type": "delay", "config": {"seconds": 0.3}},
		{"id": "task", "type": "task", "config": {"task_type": "echo", "message": "late"}},
		{"id": "end", "type": "end"}
	],
	"connections": [
		{"source": "start", "target": "wait"},
		{"source": "wait", "target": "task"},
		{"source": "task", "target": "end"}
	]
}"#;

/// start → a task that fails for good.
const FAILING_DEFINITION: &str = r#"{
	"components": [
		{"id": "start", "type": "start"},
		{"id": "boom", "type": "task", "config": {"task_type": "fail", "retryable": false}}
	],
	"connections": [{"source": "start", "target": "boom"}]
}"#;

/// The engine, the schema and the stores behind them.
struct Env {
	engine: Engine,
	schema: ApgSchema,
	security: Security,
	store: Arc<MemoryStore>,
	accounts: Arc<dyn AuthStore>,
}

/// The schema as seen by one caller: every operation runs as `who`.
#[derive(Clone)]
struct Client {
	schema: ApgSchema,
	security: Security,
	who: Principal,
}

impl Env {
	/// Creates a user and returns a client acting as them.
	async fn user(&self, username: &str, role: Role) -> Client {
		let user = apg_auth::new_user(NewUser {
			username: username.to_owned(),
			password: "correct horse battery".to_owned(),
			role,
		})
		.unwrap();
		self.accounts.create_user(&user).await.unwrap();
		Client {
			schema: self.schema.clone(),
			security: self.security.clone(),
			who: Principal {
				user_id: user.id,
				username: user.username,
				role,
			},
		}
	}

	/// Shares `workflow` with `client` for `actions`.
	async fn share(&self, workflow: &str, client: &Client, actions: &[WorkflowAction]) {
		let workflow: WorkflowId = workflow.parse().unwrap();
		let share = Share {
			workflow_id: workflow,
			user_id: client.who.user_id,
			actions: actions.to_vec(),
			created_at: 0,
		};
		self.accounts.set_shares(workflow, &[share]).await.unwrap();
	}

	/// The audit entries of `client` with this outcome (`allowed` or `denied`), newest first.
	async fn audit(&self, client: &Client, outcome: &str) -> Vec<apg_core::AuditEntry> {
		let filter = AuditFilter {
			actor: Some(client.who.username.clone()),
			outcome: Some(outcome.to_owned()),
			limit: 1000,
			..AuditFilter::default()
		};
		self.accounts.list_audit(&filter).await.unwrap()
	}
}

/// An engine and security over one memory store, and a client acting as the editor `alice`.
async fn setup() -> (Env, Client) {
	setup_with(SecurityConfig::default()).await
}

async fn setup_with(config: SecurityConfig) -> (Env, Client) {
	let store = Arc::new(MemoryStore::new());
	store.migrate().await.unwrap();
	let engine = Engine::start(
		Arc::clone(&store) as Arc<dyn Store>,
		Arc::new(builtins()),
		EngineConfig::default(),
	)
	.await
	.unwrap();
	let accounts: Arc<dyn AuthStore> = Arc::clone(&store) as Arc<dyn AuthStore>;
	let keys = Keyring::from_keys(&Keyring::generate_key()).unwrap();
	let security = Security::new(
		Arc::clone(&store) as Arc<dyn Store>,
		Arc::clone(&accounts),
		Arc::clone(&store) as Arc<dyn apg_core::NotificationStore>,
		Arc::new(keys),
		config,
	);
	let schema = schema(engine.clone(), security.clone());
	let env = Env {
		engine,
		schema,
		security,
		store,
		accounts,
	};
	let alice = env.user("alice", Role::Editor).await;
	(env, alice)
}

/// Runs an operation as the client's user and returns `(data, errors)` as JSON.
async fn exec(client: &Client, query: &str, variables: Value) -> (Value, Vec<Value>) {
	let request = Request::new(query)
		.variables(Variables::from_json(variables))
		.data(client.who.clone());
	let response = serde_json::to_value(client.schema.execute(request).await).unwrap();
	let errors = response["errors"].as_array().cloned().unwrap_or_default();
	(response["data"].clone(), errors)
}

/// Runs an operation that must succeed and returns its data.
async fn ok(client: &Client, query: &str, variables: Value) -> Value {
	let (data, errors) = exec(client, query, variables).await;
	assert!(errors.is_empty(), "unexpected errors: {errors:#?}");
	data
}

/// Runs an operation that must fail and returns its first error.
async fn err(client: &Client, query: &str, variables: Value) -> Value {
	let (_, errors) = exec(client, query, variables).await;
	assert!(!errors.is_empty(), "expected an error");
	errors[0].clone()
}

/// The router behind a stand-in for the server's authentication middleware that lets every
/// request through as the client's user.
fn app(client: &Client) -> axum::Router {
	let who = client.who.clone();
	router(client.schema.clone(), client.security.clone()).layer(axum::middleware::from_fn(
		move |mut request: axum::extract::Request, next: axum::middleware::Next| {
			request.extensions_mut().insert(who.clone());
			next.run(request)
		},
	))
}

const CREATE: &str = "mutation($name: String!, $definition: String!, $category: String,
	$tags: [String!]) {
	createWorkflow(name: $name, definition: $definition, category: $category, tags: $tags) {
		id name status category tags priority version componentCount createdBy createdAt
		executionCount successRate lastExecution definition
	}
}";

async fn create(client: &Client, name: &str, definition: &str) -> String {
	let data = ok(
		client,
		CREATE,
		json!({"name": name, "definition": definition, "category": "test"}),
	)
	.await;
	data["createWorkflow"]["id"].as_str().unwrap().to_owned()
}

async fn execute(client: &Client, workflow_id: &str) -> String {
	let data = ok(
		client,
		"mutation($id: ID!) { executeWorkflow(workflowId: $id) { id status } }",
		json!({"id": workflow_id}),
	)
	.await;
	data["executeWorkflow"]["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn the_seed_lifecycle_runs_through_graphql() {
	let (_env, client) = setup().await;
	let data = ok(
		&client,
		CREATE,
		json!({"name": "Integration Test Workflow", "definition": SEED_DEFINITION,
			"category": "test", "tags": ["seed"]}),
	)
	.await;
	let workflow = &data["createWorkflow"];
	assert_eq!(workflow["name"], "Integration Test Workflow");
	assert_eq!(workflow["status"], "draft");
	assert_eq!(workflow["category"], "test");
	assert_eq!(workflow["tags"], json!(["seed"]));
	assert_eq!(workflow["priority"], 5);
	assert_eq!(workflow["version"], 1);
	assert_eq!(workflow["componentCount"], 3);
	assert_eq!(workflow["createdBy"], client.who.owner());
	assert_eq!(workflow["executionCount"], 0);
	assert_eq!(workflow["successRate"], Value::Null);
	assert_eq!(workflow["definition"]["components"][1]["id"], "task");
	let created_at = workflow["createdAt"].as_str().unwrap();
	assert!(
		chrono::DateTime::parse_from_rfc3339(created_at).is_ok() && created_at.ends_with('Z'),
		"{created_at}"
	);
	let workflow_id = workflow["id"].as_str().unwrap().to_owned();

	let data = ok(
		&client,
		"mutation($id: ID!) { executeWorkflow(workflowId: $id, parameters: {}) {
			id workflowId workflowVersion status priority parameters } }",
		json!({"id": workflow_id}),
	)
	.await;
	let execution = &data["executeWorkflow"];
	assert_eq!(execution["workflowId"], workflow_id.as_str());
	assert_eq!(execution["workflowVersion"], 1);
	assert_eq!(execution["parameters"], json!({}));
	let execution_id = execution["id"].as_str().unwrap().to_owned();

	let query = "query($id: ID!) { execution(id: $id) {
		status results errorMessage startedAt completedAt duration
		components { componentId componentType status attempt output durationMs }
		logs { at level componentId message } } }";
	let mut execution = Value::Null;
	for _ in 0..200 {
		let data = ok(&client, query, json!({"id": execution_id})).await;
		execution = data["execution"].clone();
		if ["completed", "failed", "cancelled"].contains(&execution["status"].as_str().unwrap()) {
			break;
		}
		tokio::time::sleep(Duration::from_millis(50)).await;
	}
	assert_eq!(execution["status"], "completed", "{execution:#}");
	assert!(execution["duration"].is_i64(), "{execution:#}");
	let components = execution["components"].as_array().unwrap();
	assert_eq!(components.len(), 3);
	assert!(components.iter().all(|c| c["status"] == "completed"));
	let task = components
		.iter()
		.find(|c| c["componentId"] == "task")
		.unwrap();
	assert_eq!(task["output"]["message"], "Hello World");
	assert!(
		!execution["logs"].as_array().unwrap().is_empty(),
		"{execution:#}"
	);

	let data = ok(
		&client,
		"mutation($id: ID!) { deleteWorkflow(id: $id) }",
		json!({"id": workflow_id}),
	)
	.await;
	assert_eq!(data["deleteWorkflow"], true);
	let data = ok(
		&client,
		"query($w: ID!, $e: ID!) { workflow(id: $w) { id } execution(id: $e) { id } }",
		json!({"w": workflow_id, "e": execution_id}),
	)
	.await;
	assert_eq!(data, json!({"workflow": null, "execution": null}));
}

#[tokio::test]
async fn the_workflow_list_carries_statistics_and_filters() {
	let (env, client) = setup().await;
	let engine = &env.engine;
	let echo = create(&client, "Echo", SEED_DEFINITION).await;
	let failing = create(&client, "Failing", FAILING_DEFINITION).await;
	let idle = create(&client, "Idle", SEED_DEFINITION).await;
	let mut runs = Vec::new();
	for id in [&echo, &echo, &failing] {
		runs.push(execute(&client, id).await);
	}
	for id in runs {
		engine
			.wait(id.parse::<ExecutionId>().unwrap())
			.await
			.unwrap();
	}

	let data = ok(
		&client,
		"{ workflows { id name executionCount successfulExecutionCount failedExecutionCount
			successRate lastExecution avgDurationSeconds } }",
		json!({}),
	)
	.await;
	let list = data["workflows"].as_array().unwrap();
	assert_eq!(list.len(), 3);
	let by_id = |id: &str| list.iter().find(|w| w["id"] == id).unwrap().clone();
	let e = by_id(&echo);
	assert_eq!(e["executionCount"], 2);
	assert_eq!(e["successfulExecutionCount"], 2);
	assert_eq!(e["successRate"], 1.0);
	assert!(e["lastExecution"].is_string());
	let f = by_id(&failing);
	assert_eq!(f["executionCount"], 1);
	assert_eq!(f["failedExecutionCount"], 1);
	assert_eq!(f["successRate"], 0.0);
	let i = by_id(&idle);
	assert_eq!(i["executionCount"], 0);
	assert_eq!(i["successRate"], Value::Null);
	assert_eq!(i["lastExecution"], Value::Null);

	// A single workflow loads its statistics on demand.
	let data = ok(
		&client,
		"query($id: ID!) { workflow(id: $id) { name executionCount successRate } }",
		json!({"id": echo}),
	)
	.await;
	assert_eq!(
		data["workflow"],
		json!({"name": "Echo", "executionCount": 2, "successRate": 1.0})
	);

	let data = ok(
		&client,
		r#"{ a: workflows(search: "fail") { name }
			b: workflows(category: "test", limit: 2) { name }
			c: workflows(category: "other") { name }
			d: workflows(limit: 0, offset: -3) { name }
			e: workflows(status: "draft", limit: 100000) { name } }"#,
		json!({}),
	)
	.await;
	assert_eq!(data["a"], json!([{"name": "Failing"}]));
	assert_eq!(data["b"].as_array().unwrap().len(), 2);
	assert_eq!(data["c"], json!([]));
	assert_eq!(
		data["d"].as_array().unwrap().len(),
		1,
		"limit is clamped to at least 1"
	);
	assert_eq!(data["e"].as_array().unwrap().len(), 3);

	let data = ok(
		&client,
		r#"query($id: ID!) { mine: executions(workflowId: $id) { status }
			failed: executions(status: "failed") { workflowId errorMessage }
			all: executions { id } }"#,
		json!({"id": echo}),
	)
	.await;
	assert_eq!(
		data["mine"],
		json!([{"status": "completed"}, {"status": "completed"}])
	);
	assert_eq!(data["failed"][0]["workflowId"], failing.as_str());
	assert!(data["failed"][0]["errorMessage"].is_string());
	assert_eq!(data["all"].as_array().unwrap().len(), 3);

	let error = err(
		&client,
		r#"{ workflows(status: "sleeping") { id } }"#,
		json!({}),
	)
	.await;
	assert_eq!(error["extensions"]["category"], "validation");
	assert_eq!(error["extensions"]["details"][0]["path"], "status");
}

#[tokio::test]
async fn an_invalid_definition_is_a_validation_error_listing_every_problem() {
	let (_env, client) = setup().await;
	let definition = json!({
		"components": [
			{"id": "start", "type": "start"},
			{"id": "x", "type": "teleport"}
		],
		"connections": [{"source": "start", "target": "nowhere"}]
	})
	.to_string();
	let error = err(
		&client,
		CREATE,
		json!({"name": "Broken", "definition": definition}),
	)
	.await;
	assert_eq!(error["extensions"]["category"], "validation", "{error:#}");
	let details = error["extensions"]["details"].as_array().unwrap();
	let paths: Vec<&str> = details
		.iter()
		.map(|d| d["path"].as_str().unwrap())
		.collect();
	assert!(
		paths
			.iter()
			.any(|p| p.starts_with("definition.components[1]")),
		"{paths:?}"
	);
	assert!(
		paths
			.iter()
			.any(|p| p.starts_with("definition.connections[0]")),
		"{paths:?}"
	);
	assert!(details.iter().all(|d| d["message"].is_string()));

	// The seed's `WorkflowCreate` rules apply as in REST: every problem at once.
	let error = err(
		&client,
		"mutation { createWorkflow(name: \"  \", definition: \"[]\", priority: 11) { id } }",
		json!({}),
	)
	.await;
	let paths: Vec<&str> = error["extensions"]["details"]
		.as_array()
		.unwrap()
		.iter()
		.map(|d| d["path"].as_str().unwrap())
		.collect();
	for path in ["name", "definition", "priority"] {
		assert!(paths.contains(&path), "{path} missing from {paths:?}");
	}

	let error = err(
		&client,
		"mutation { createWorkflow(name: \"Bad JSON\", definition: \"{oops\") { id } }",
		json!({}),
	)
	.await;
	assert_eq!(error["extensions"]["category"], "validation");
	assert_eq!(error["extensions"]["details"][0]["path"], "definition");

	let data = ok(
		&client,
		"query($d: String!) { validateDefinition(definition: $d) { isValid errors { path } } }",
		json!({"d": definition}),
	)
	.await;
	assert_eq!(data["validateDefinition"]["isValid"], false);

	// Nothing was stored.
	let data = ok(&client, "{ workflows { id } }", json!({})).await;
	assert_eq!(data["workflows"], json!([]));
}

#[tokio::test]
async fn unknown_ids_are_null_in_queries_and_not_found_in_mutations() {
	let (_env, client) = setup().await;
	let unknown = "01900000-0000-7000-8000-000000000000";
	let data = ok(
		&client,
		"query($id: ID!) { workflow(id: $id) { id } execution(id: $id) { id }
			bad: workflow(id: \"not-a-uuid\") { id } badExec: execution(id: \"x\") { id } }",
		json!({"id": unknown}),
	)
	.await;
	assert_eq!(
		data,
		json!({"workflow": null, "execution": null, "bad": null, "badExec": null})
	);

	for mutation in [
		"mutation($id: ID!) { deleteWorkflow(id: $id) }",
		"mutation($id: ID!) { executeWorkflow(workflowId: $id) { id } }",
		"mutation($id: ID!) { cancelExecution(id: $id) }",
		"mutation($id: ID!) { resumeExecution(id: $id) }",
	] {
		for id in [unknown, "not-a-uuid"] {
			let error = err(&client, mutation, json!({"id": id})).await;
			assert_eq!(
				error["extensions"]["category"], "not_found",
				"{mutation} {id}: {error:#}"
			);
		}
	}
}

#[tokio::test]
async fn execute_refuses_parameters_that_are_not_an_object() {
	let (_env, client) = setup().await;
	let id = create(&client, "Echo", SEED_DEFINITION).await;
	for parameters in [json!([1, 2]), json!("text"), json!(3)] {
		let error = err(
			&client,
			"mutation($id: ID!, $p: JSON) { executeWorkflow(workflowId: $id, parameters: $p) {
				id } }",
			json!({"id": id, "p": parameters}),
		)
		.await;
		assert_eq!(error["extensions"]["category"], "validation", "{error:#}");
		assert_eq!(error["extensions"]["details"][0]["path"], "parameters");
	}
	let error = err(
		&client,
		"mutation($id: ID!) { executeWorkflow(workflowId: $id, priority: 11) { id } }",
		json!({"id": id}),
	)
	.await;
	assert_eq!(error["extensions"]["details"][0]["path"], "priority");
	let error = err(
		&client,
		"mutation($id: ID!) { executeWorkflow(workflowId: $id, breakpoints: [\"ghost\"]) {
			id } }",
		json!({"id": id}),
	)
	.await;
	assert_eq!(error["extensions"]["category"], "validation");

	let data = ok(&client, "{ executions { id } }", json!({})).await;
	assert_eq!(data["executions"], json!([]), "nothing was started");
}

#[tokio::test]
async fn cancelling_stops_a_running_execution_and_a_second_cancel_conflicts() {
	let (env, client) = setup().await;
	let engine = &env.engine;
	let workflow = create(&client, "Slow", DELAYED_DEFINITION).await;
	let execution = execute(&client, &workflow).await;

	let error = err(
		&client,
		"mutation($id: ID!) { deleteWorkflow(id: $id) }",
		json!({"id": workflow}),
	)
	.await;
	assert_eq!(
		error["extensions"]["category"], "conflict",
		"a workflow with a running execution is not deleted"
	);

	let data = ok(
		&client,
		"mutation($id: ID!) { cancelExecution(id: $id) }",
		json!({"id": execution}),
	)
	.await;
	assert_eq!(data["cancelExecution"], true);
	let ended = engine.wait(execution.parse().unwrap()).await.unwrap();
	assert_eq!(ended.status.as_str(), "cancelled");
	let error = err(
		&client,
		"mutation($id: ID!) { cancelExecution(id: $id) }",
		json!({"id": execution}),
	)
	.await;
	assert_eq!(error["extensions"]["category"], "conflict");
}

/// Collects a subscription until it ends (or fails the test after 10 s).
async fn collect(client: &Client, query: &str, variables: Value) -> Vec<Value> {
	let request = Request::new(query)
		.variables(Variables::from_json(variables))
		.data(client.who.clone());
	let stream = client.schema.execute_stream(request);
	let responses = tokio::time::timeout(Duration::from_secs(10), stream.collect::<Vec<_>>())
		.await
		.expect("the subscription ended");
	responses
		.into_iter()
		.map(|r| serde_json::to_value(r).unwrap())
		.collect()
}

const EVENTS_OF_EXECUTION: &str = "subscription($id: ID!) { executionEvents(executionId: $id) {
	executionId workflowId at type status componentId attempt error output durationMs } }";

fn events(responses: &[Value]) -> Vec<Value> {
	responses
		.iter()
		.map(|r| {
			assert!(r.get("errors").is_none(), "{r:#}");
			r["data"]["executionEvents"].clone()
		})
		.collect()
}

#[tokio::test]
async fn a_subscription_by_execution_receives_every_event_up_to_the_terminal_one() {
	let (env, client) = setup().await;
	let engine = &env.engine;
	let workflow = create(&client, "Slow", DELAYED_DEFINITION).await;
	let execution = execute(&client, &workflow).await;
	let id: ExecutionId = execution.parse().unwrap();

	// The execution is waiting on its delay: some events are stored, the rest arrive live.
	let received = events(&collect(&client, EVENTS_OF_EXECUTION, json!({"id": execution})).await);
	let stored = engine.store().events(id).await.unwrap();
	assert_eq!(
		received.len(),
		stored.len(),
		"every event exactly once: {received:#?}"
	);
	for (got, want) in received.iter().zip(&stored) {
		assert_eq!(
			got["at"],
			chrono::DateTime::from_timestamp_millis(want.event.at)
				.unwrap()
				.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
		);
	}
	for component in ["start", "wait", "task", "end"] {
		assert!(
			received
				.iter()
				.any(|e| e["componentId"] == component && e["status"] == "completed"),
			"{component} did not complete: {received:#?}"
		);
	}
	let last = received.last().unwrap();
	assert_eq!(last["type"], "execution");
	assert_eq!(last["status"], "completed");
	assert!(
		received
			.iter()
			.all(|e| e["executionId"] == execution.as_str())
	);
	let task = received
		.iter()
		.find(|e| e["componentId"] == "task" && e["status"] == "completed")
		.unwrap();
	assert_eq!(task["output"]["message"], "late");
	assert_eq!(task["attempt"], 1);
}

#[tokio::test]
async fn a_subscription_to_an_ended_execution_replays_it_and_ends() {
	let (env, client) = setup().await;
	let engine = &env.engine;
	let workflow = create(&client, "Echo", SEED_DEFINITION).await;
	let execution = execute(&client, &workflow).await;
	engine.wait(execution.parse().unwrap()).await.unwrap();

	let received = events(&collect(&client, EVENTS_OF_EXECUTION, json!({"id": execution})).await);
	let components: Vec<&str> = received
		.iter()
		.filter(|e| e["type"] == "component" && e["status"] == "completed")
		.map(|e| e["componentId"].as_str().unwrap())
		.collect();
	assert_eq!(components, ["start", "task", "end"]);
	assert_eq!(received.last().unwrap()["status"], "completed");
}

#[tokio::test]
async fn a_subscription_by_workflow_sees_its_executions_live() {
	let (_env, client) = setup().await;
	let workflow = create(&client, "Echo", SEED_DEFINITION).await;
	let other = create(&client, "Other", SEED_DEFINITION).await;
	let request = Request::new(
		"subscription($w: ID!) { executionEvents(workflowId: $w) { workflowId type status } }",
	)
	.variables(Variables::from_json(json!({"w": workflow})))
	.data(client.who.clone());
	let mut stream = client.schema.execute_stream(request);
	// The subscription starts when the stream is first polled.
	let first = tokio::spawn(async move {
		let mut seen = Vec::new();
		while let Some(response) = stream.next().await {
			let event = serde_json::to_value(response).unwrap()["data"]["executionEvents"].clone();
			let end = event["type"] == "execution" && event["status"] == "completed";
			seen.push(event);
			if end {
				break;
			}
		}
		seen
	});
	tokio::time::sleep(Duration::from_millis(100)).await;
	execute(&client, &other).await;
	execute(&client, &workflow).await;
	let seen = tokio::time::timeout(Duration::from_secs(10), first)
		.await
		.unwrap()
		.unwrap();
	assert!(
		seen.iter().all(|e| e["workflowId"] == workflow.as_str()),
		"{seen:#?}"
	);
	assert!(seen.len() >= 4, "{seen:#?}");
}

#[tokio::test]
async fn a_subscription_needs_a_known_execution_or_workflow() {
	let (_env, client) = setup().await;
	let responses = collect(
		&client,
		"subscription { executionEvents { type } }",
		json!({}),
	)
	.await;
	assert_eq!(responses.len(), 1);
	assert_eq!(
		responses[0]["errors"][0]["extensions"]["category"],
		"validation"
	);
	let responses = collect(
		&client,
		EVENTS_OF_EXECUTION,
		json!({"id": "01900000-0000-7000-8000-000000000000"}),
	)
	.await;
	assert_eq!(
		responses[0]["errors"][0]["extensions"]["category"],
		"not_found"
	);
}

/// The introspection query of graphql-js (`getIntrospectionQuery()`), which GraphiQL, the
/// Playground and code generators send.
const STANDARD_INTROSPECTION: &str = "query IntrospectionQuery {
	__schema {
		queryType { name } mutationType { name } subscriptionType { name }
		types { ...FullType }
		directives { name description locations args { ...InputValue } }
	}
}
fragment FullType on __Type {
	kind name description
	fields(includeDeprecated: true) {
		name description args { ...InputValue } type { ...TypeRef } isDeprecated deprecationReason
	}
	inputFields { ...InputValue }
	interfaces { ...TypeRef }
	enumValues(includeDeprecated: true) { name description isDeprecated deprecationReason }
	possibleTypes { ...TypeRef }
}
fragment InputValue on __InputValue { name description type { ...TypeRef } defaultValue }
fragment TypeRef on __Type {
	kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name
	ofType { kind name ofType { kind name ofType { kind name } } } } } } }
}";

#[tokio::test]
async fn the_depth_limit_admits_standard_introspection_and_refuses_deeper_nesting() {
	let (_env, client) = setup().await;
	let data = ok(&client, STANDARD_INTROSPECTION, json!({})).await;
	assert_eq!(data["__schema"]["queryType"]["name"], "Query");
	assert_eq!(data["__schema"]["mutationType"]["name"], "Mutation");
	assert_eq!(data["__schema"]["subscriptionType"]["name"], "Subscription");
	let types = data["__schema"]["types"].as_array().unwrap();
	for name in [
		"Workflow",
		"WorkflowExecution",
		"ExecutionEvent",
		"DateTime",
		"JSON",
	] {
		assert!(types.iter().any(|t| t["name"] == name), "{name} missing");
	}

	let mut nested = String::from("name");
	for _ in 0..20 {
		nested = format!("ofType {{ {nested} }}");
	}
	let query = format!("{{ __type(name: \"Workflow\") {{ {nested} }} }}");
	let error = err(&client, &query, json!({})).await;
	assert!(
		error["message"]
			.as_str()
			.unwrap()
			.contains("nested too deep"),
		"{error:#}"
	);
}

#[tokio::test]
async fn the_complexity_limit_refuses_a_flood_of_expensive_aliases() {
	let (_env, client) = setup().await;
	let one = "executions(limit: 500) { id status components { componentId status } }";
	let ok_query = format!("{{ a: {one} }}");
	ok(&client, &ok_query, json!({})).await;
	let flood: String = (0..20).map(|i| format!("a{i}: {one} ")).collect();
	let error = err(&client, &format!("{{ {flood} }}"), json!({})).await;
	assert!(
		error["message"].as_str().unwrap().contains("too complex"),
		"{error:#}"
	);
}

#[tokio::test]
async fn the_components_query_lists_every_type_with_its_schema() {
	let (env, client) = setup().await;
	let engine = &env.engine;
	let data = ok(
		&client,
		"{ components { kind summary configSchema } }",
		json!({}),
	)
	.await;
	let list = data["components"].as_array().unwrap();
	assert_eq!(list.len(), engine.registry().kinds().len());
	let task = list.iter().find(|c| c["kind"] == "task").unwrap();
	assert!(!task["summary"].as_str().unwrap().is_empty());
	assert_eq!(task["configSchema"]["type"], "object");
}

#[tokio::test]
async fn the_caller_owns_what_it_creates_and_a_request_without_one_is_refused() {
	let (env, alice) = setup().await;
	let data = ok(
		&alice,
		CREATE,
		json!({"name": "Mine", "definition": SEED_DEFINITION}),
	)
	.await;
	assert_eq!(data["createWorkflow"]["createdBy"], alice.who.owner());

	// Executing the schema without a principal (an embedder that forgot it) is refused.
	let request = Request::new("{ workflows { id } }");
	let response = serde_json::to_value(env.schema.execute(request).await).unwrap();
	assert_eq!(
		response["errors"][0]["extensions"]["category"], "security",
		"{response:#}"
	);
}

/// The body of a response as JSON.
async fn body_json(response: axum::response::Response) -> Value {
	let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
		.await
		.unwrap();
	serde_json::from_slice(&bytes).unwrap()
}

#[tokio::test]
async fn the_router_serves_queries_and_graphiql() {
	let (_env, client) = setup().await;
	let app = app(&client);
	let body = json!({"query": "mutation($d: String!) { createWorkflow(name: \"Via HTTP\",
		definition: $d) { id name createdBy } }", "variables": {"d": SEED_DEFINITION}});
	let response = app
		.clone()
		.oneshot(
			http::Request::post("/graphql")
				.header("content-type", "application/json")
				.body(Body::from(body.to_string()))
				.unwrap(),
		)
		.await
		.unwrap();
	assert_eq!(response.status(), StatusCode::OK);
	let json = body_json(response).await;
	assert_eq!(
		json["data"]["createWorkflow"]["name"], "Via HTTP",
		"{json:#}"
	);
	assert_eq!(
		json["data"]["createWorkflow"]["createdBy"],
		client.who.owner(),
		"the request ran as the principal of its extensions"
	);

	// Batches run as the caller too.
	let batch = json!([{"query": "{ workflows { name } }"}, {"query": "{ executions { id } }"}]);
	let response = app
		.clone()
		.oneshot(
			http::Request::post("/graphql")
				.header("content-type", "application/json")
				.body(Body::from(batch.to_string()))
				.unwrap(),
		)
		.await
		.unwrap();
	let json = body_json(response).await;
	assert_eq!(
		json[0]["data"]["workflows"],
		json!([{"name": "Via HTTP"}]),
		"{json:#}"
	);
	assert_eq!(json[1]["data"]["executions"], json!([]), "{json:#}");

	// The Playground's old address sends browsers to GraphiQL, which a browser's GET gets.
	let response = app
		.clone()
		.oneshot(
			http::Request::get("/graphql/playground")
				.body(Body::empty())
				.unwrap(),
		)
		.await
		.unwrap();
	assert_eq!(response.status(), StatusCode::PERMANENT_REDIRECT);
	assert_eq!(response.headers()["location"], "/graphql");
	let response = app
		.clone()
		.oneshot(
			http::Request::get("/graphql")
				.header("accept", "text/html,application/xhtml+xml")
				.body(Body::empty())
				.unwrap(),
		)
		.await
		.unwrap();
	assert_eq!(response.status(), StatusCode::OK);
	let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
		.await
		.unwrap();
	let page = String::from_utf8_lossy(&bytes);
	assert!(page.contains("GraphiQL"), "{page}");
	assert!(
		!page.contains("X-CSRF-Token"),
		"no session, no token preset"
	);

	// A GET that is not a WebSocket upgrade is refused, not served.
	let response = app
		.oneshot(http::Request::get("/graphql").body(Body::empty()).unwrap())
		.await
		.unwrap();
	assert!(response.status().is_client_error());
}

#[tokio::test]
async fn the_router_answers_401_without_a_principal() {
	let (env, _alice) = setup().await;
	// No authentication middleware in front: nothing puts a principal in the extensions.
	let app = router(env.schema.clone(), env.security.clone());
	let body = json!({"query": "{ workflows { id } }"});
	let post = http::Request::post("/graphql")
		.header("content-type", "application/json")
		.body(Body::from(body.to_string()))
		.unwrap();
	let upgrade = http::Request::get("/graphql")
		.header("connection", "upgrade")
		.header("upgrade", "websocket")
		.header("sec-websocket-version", "13")
		.header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==")
		.header("sec-websocket-protocol", "graphql-transport-ws")
		.body(Body::empty())
		.unwrap();
	for request in [post, upgrade] {
		let response = app.clone().oneshot(request).await.unwrap();
		assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
		assert_eq!(response.headers()["www-authenticate"], "Bearer");
		let json = body_json(response).await;
		assert_eq!(json["data"], Value::Null);
		assert_eq!(
			json["errors"][0]["extensions"]["category"], "security",
			"{json:#}"
		);
	}
}

/// Serves `app`, subscribes over `graphql-transport-ws` and returns every message received up
/// to `complete` or `error` (failing the test after 10 s).
async fn subscribe_over_websocket(app: axum::Router, query: &str, variables: Value) -> Vec<Value> {
	let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
	let address = listener.local_addr().unwrap();
	let server = tokio::spawn(async move {
		axum::serve(listener, app).await.unwrap();
	});
	let mut request = format!("ws://{address}/graphql")
		.into_client_request()
		.unwrap();
	request.headers_mut().insert(
		"sec-websocket-protocol",
		"graphql-transport-ws".parse().unwrap(),
	);
	let (mut socket, _) = tokio_tungstenite::connect_async(request).await.unwrap();
	let send = |v: Value| Message::Text(v.to_string().into());
	socket
		.send(send(json!({"type": "connection_init"})))
		.await
		.unwrap();
	socket
		.send(send(json!({"id": "1", "type": "subscribe", "payload": {
			"query": query, "variables": variables}})))
		.await
		.unwrap();
	let mut messages = Vec::new();
	let read = async {
		while let Some(message) = socket.next().await {
			let Message::Text(text) = message.unwrap() else {
				continue;
			};
			let message: Value = serde_json::from_str(&text).unwrap();
			let kind = message["type"].as_str().unwrap().to_owned();
			messages.push(message);
			if kind == "complete" || kind == "error" {
				break;
			}
		}
	};
	tokio::time::timeout(Duration::from_secs(10), read)
		.await
		.unwrap();
	server.abort();
	messages
}

#[tokio::test]
async fn subscriptions_work_over_graphql_transport_ws() {
	let (env, client) = setup().await;
	let workflow = create(&client, "Echo", SEED_DEFINITION).await;
	let execution = execute(&client, &workflow).await;
	env.engine.wait(execution.parse().unwrap()).await.unwrap();

	let messages =
		subscribe_over_websocket(app(&client), EVENTS_OF_EXECUTION, json!({"id": execution})).await;
	let types: Vec<&str> = messages
		.iter()
		.map(|m| m["type"].as_str().unwrap())
		.collect();
	assert_eq!(types.first().copied(), Some("connection_ack"));
	assert_eq!(types.last().copied(), Some("complete"), "{types:?}");
	assert!(
		types.iter().filter(|t| **t == "next").count() >= 4,
		"{types:?}"
	);
	let last = messages.iter().rev().find(|m| m["type"] == "next").unwrap();
	assert_eq!(
		last["payload"]["data"]["executionEvents"]["status"],
		"completed"
	);
}

// --- Authorization --------------------------------------------------------------------------

const EXECUTE: &str = "mutation($id: ID!) { executeWorkflow(workflowId: $id) { id } }";
const DELETE: &str = "mutation($id: ID!) { deleteWorkflow(id: $id) }";
const CANCEL: &str = "mutation($id: ID!) { cancelExecution(id: $id) }";
const RESUME: &str = "mutation($id: ID!) { resumeExecution(id: $id) }";

/// Asserts that an error has this category.
fn assert_category(error: &Value, category: &str) {
	assert_eq!(error["extensions"]["category"], category, "{error:#}");
}

#[tokio::test]
async fn an_editor_cannot_see_or_touch_another_editors_workflow() {
	let (env, alice) = setup().await;
	let bob = env.user("bob", Role::Editor).await;
	let workflow = create(&alice, "Alice's", SEED_DEFINITION).await;
	let execution = execute(&alice, &workflow).await;
	env.engine.wait(execution.parse().unwrap()).await.unwrap();
	let own = create(&bob, "Bob's", SEED_DEFINITION).await;

	let read = "query($w: ID!, $e: ID!) { workflow(id: $w) { id } execution(id: $e) { id }
		workflows { id } executions { id } }";
	let vars = json!({"w": workflow, "e": execution});
	let data = ok(&bob, read, vars.clone()).await;
	assert_eq!(
		data["workflow"],
		Value::Null,
		"hidden is null, like unknown"
	);
	assert_eq!(data["execution"], Value::Null);
	assert_eq!(data["workflows"], json!([{"id": own}]), "only his own");
	assert_eq!(data["executions"], json!([]));

	// Hidden is not found, with the message an unknown id gets: existence does not leak.
	let error = err(&bob, EXECUTE, json!({"id": workflow})).await;
	assert_category(&error, "not_found");
	assert_eq!(error["message"], format!("workflow {workflow} not found"));
	for (mutation, id) in [
		(DELETE, &workflow),
		(CANCEL, &execution),
		(RESUME, &execution),
	] {
		let error = err(&bob, mutation, json!({"id": id})).await;
		assert_category(&error, "not_found");
	}

	// Subscriptions: by execution and by workflow, in process and over WebSocket.
	let responses = collect(&bob, EVENTS_OF_EXECUTION, json!({"id": execution})).await;
	assert_eq!(responses.len(), 1, "{responses:#?}");
	assert_category(&responses[0]["errors"][0], "not_found");
	let by_workflow = "subscription($w: ID!) { executionEvents(workflowId: $w) { type } }";
	let responses = collect(&bob, by_workflow, json!({"w": workflow})).await;
	assert_eq!(responses.len(), 1, "{responses:#?}");
	assert_category(&responses[0]["errors"][0], "not_found");
	let messages =
		subscribe_over_websocket(app(&bob), EVENTS_OF_EXECUTION, json!({"id": execution})).await;
	let nexts: Vec<&Value> = messages.iter().filter(|m| m["type"] == "next").collect();
	assert_eq!(nexts.len(), 1, "{messages:#?}");
	assert_category(&nexts[0]["payload"]["errors"][0], "not_found");
	assert_eq!(nexts[0]["payload"]["data"], Value::Null, "no event leaked");

	// Nothing happened to Alice's workflow, and she still sees everything.
	let data = ok(&alice, read, vars.clone()).await;
	assert_eq!(data["workflow"]["id"], workflow.as_str());
	assert_eq!(data["execution"]["id"], execution.as_str());
	assert_eq!(data["workflows"], json!([{"id": workflow}]));
	// An admin sees both editors' workflows.
	let admin = env.user("root", Role::Admin).await;
	let data = ok(&admin, read, vars).await;
	assert_eq!(data["workflows"].as_array().unwrap().len(), 2);
	assert_eq!(data["execution"]["id"], execution.as_str());

	// Every denial is in the audit log, as Bob's, and Alice has none.
	let denied = env.audit(&bob, "denied").await;
	let resource = format!("workflow/{workflow}");
	for action in ["workflow.read", "workflow.execute", "workflow.delete"] {
		assert!(
			denied
				.iter()
				.any(|e| e.action == action && e.resource == resource),
			"{action} missing: {denied:#?}"
		);
	}
	assert!(denied.len() >= 9, "{denied:#?}");
	assert!(env.audit(&alice, "denied").await.is_empty());
}

#[tokio::test]
async fn a_viewer_cannot_create_workflows() {
	let (env, _alice) = setup().await;
	let viewer = env.user("vera", Role::Viewer).await;
	let error = err(
		&viewer,
		CREATE,
		json!({"name": "Nope", "definition": SEED_DEFINITION}),
	)
	.await;
	assert_category(&error, "security");
	let data = ok(&viewer, "{ workflows { id } }", json!({})).await;
	assert_eq!(data["workflows"], json!([]));
	let all = env.store.list_workflows(&Default::default()).await.unwrap();
	assert!(all.is_empty(), "nothing was stored");
	let denied = env.audit(&viewer, "denied").await;
	assert_eq!(denied.len(), 1, "{denied:#?}");
	assert_eq!(denied[0].action, "workflow.create");
}

#[tokio::test]
async fn a_share_grants_its_actions_and_no_more() {
	let (env, alice) = setup().await;
	let operator = env.user("otto", Role::Operator).await;
	let viewer = env.user("vera", Role::Viewer).await;
	let workflow = create(&alice, "Shared", SEED_DEFINITION).await;
	env.share(
		&workflow,
		&operator,
		&[WorkflowAction::Read, WorkflowAction::Execute],
	)
	.await;

	// Read: the workflow is visible, in the list too.
	let data = ok(
		&operator,
		"query($w: ID!) { workflow(id: $w) { id name } workflows { id } }",
		json!({"w": workflow}),
	)
	.await;
	assert_eq!(data["workflow"]["name"], "Shared");
	assert_eq!(data["workflows"], json!([{"id": workflow}]));

	// Execute: allowed, and the execution is visible and can be watched.
	let execution = execute(&operator, &workflow).await;
	env.engine.wait(execution.parse().unwrap()).await.unwrap();
	let data = ok(
		&operator,
		"query($e: ID!) { execution(id: $e) { status } executions { id } }",
		json!({"e": execution}),
	)
	.await;
	assert_eq!(data["execution"]["status"], "completed");
	assert_eq!(data["executions"], json!([{"id": execution}]));
	let received = events(&collect(&operator, EVENTS_OF_EXECUTION, json!({"id": execution})).await);
	assert_eq!(received.last().unwrap()["status"], "completed");

	// Delete: visible but not allowed (a share never grants it), so `security`, not `not_found`.
	let error = err(&operator, DELETE, json!({"id": workflow})).await;
	assert_category(&error, "security");
	assert!(
		env.store
			.get_workflow(workflow.parse().unwrap())
			.await
			.unwrap()
			.is_some()
	);
	// Nor may an operator create workflows.
	let error = err(
		&operator,
		CREATE,
		json!({"name": "Mine", "definition": SEED_DEFINITION}),
	)
	.await;
	assert_category(&error, "security");

	// A read-only share: visible, not executable.
	env.accounts
		.set_shares(
			workflow.parse().unwrap(),
			&[
				Share {
					workflow_id: workflow.parse().unwrap(),
					user_id: operator.who.user_id,
					actions: vec![WorkflowAction::Read, WorkflowAction::Execute],
					created_at: 0,
				},
				Share {
					workflow_id: workflow.parse().unwrap(),
					user_id: viewer.who.user_id,
					actions: vec![WorkflowAction::Read],
					created_at: 0,
				},
			],
		)
		.await
		.unwrap();
	let data = ok(
		&viewer,
		"query($w: ID!) { workflow(id: $w) { id } }",
		json!({"w": workflow}),
	)
	.await;
	assert_eq!(data["workflow"]["id"], workflow.as_str());
	let error = err(&viewer, EXECUTE, json!({"id": workflow})).await;
	assert_category(&error, "security");
	let error = err(&viewer, CANCEL, json!({"id": execution})).await;
	assert_category(&error, "security");

	// The denials are audited; the operator's execution is audited as allowed.
	let denied: Vec<String> = env
		.audit(&operator, "denied")
		.await
		.into_iter()
		.map(|e| e.action)
		.collect();
	assert!(denied.contains(&"workflow.delete".to_owned()), "{denied:?}");
	assert!(denied.contains(&"workflow.create".to_owned()), "{denied:?}");
	let denied: Vec<String> = env
		.audit(&viewer, "denied")
		.await
		.into_iter()
		.map(|e| e.action)
		.collect();
	assert_eq!(
		denied.iter().filter(|a| *a == "workflow.execute").count(),
		2,
		"{denied:?}"
	);
	let allowed = env.audit(&operator, "allowed").await;
	assert!(
		allowed
			.iter()
			.any(|e| e.action == "workflow.execute" && e.resource == format!("workflow/{workflow}")),
		"{allowed:#?}"
	);
}

/// An HTTP call whose config holds a hard-coded password (in its free-form query object).
const SECRET_DEFINITION: &str = r#"{
	"components": [
		{"id": "start", "type": "start"},
		{"id": "call", "type": "http_request", "config": {"url": "https://example.com/login",
			"query": {"user": "me", "password": "hunter2hunter2"}}},
		{"id": "end", "type": "end"}
	],
	"connections": [
		{"source": "start", "target": "call"},
		{"source": "call", "target": "end"}
	]
}"#;

#[tokio::test]
async fn secrets_in_a_definition_are_sealed_at_rest_and_masked_in_responses() {
	let (env, alice) = setup().await;
	let data = ok(
		&alice,
		CREATE,
		json!({"name": "Secretive", "definition": SECRET_DEFINITION}),
	)
	.await;
	let created = &data["createWorkflow"];
	let query = &created["definition"]["components"][1]["config"]["query"];
	assert_eq!(query["password"], "***", "{created:#}");
	assert_eq!(query["user"], "me");
	let id: WorkflowId = created["id"].as_str().unwrap().parse().unwrap();

	let stored = env.store.get_workflow(id).await.unwrap().unwrap();
	let stored = stored.definition.to_value();
	let sealed = stored["components"][1]["config"]["query"]["password"]
		.as_str()
		.unwrap();
	assert!(sealed.starts_with("fernet:"), "{sealed}");
	assert!(!stored.to_string().contains("hunter2hunter2"));

	let data = ok(
		&alice,
		"query($id: ID!) { workflow(id: $id) { definition } workflows { definition } }",
		json!({"id": id.to_string()}),
	)
	.await;
	for definition in [
		&data["workflow"]["definition"],
		&data["workflows"][0]["definition"],
	] {
		assert_eq!(
			definition["components"][1]["config"]["query"]["password"],
			"***"
		);
	}
	assert!(!data.to_string().contains("fernet:"));
	assert!(!data.to_string().contains("hunter2hunter2"));
}

#[tokio::test]
async fn hard_coded_secrets_can_be_refused() {
	let config = SecurityConfig {
		reject_hardcoded_secrets: true,
		..SecurityConfig::default()
	};
	let (env, alice) = setup_with(config).await;
	let error = err(
		&alice,
		CREATE,
		json!({"name": "Secretive", "definition": SECRET_DEFINITION}),
	)
	.await;
	assert_category(&error, "validation");
	assert!(
		error["message"]
			.as_str()
			.unwrap()
			.contains("hard-coded secrets"),
		"{error:#}"
	);
	let paths: Vec<&str> = error["extensions"]["details"]
		.as_array()
		.unwrap()
		.iter()
		.map(|d| d["path"].as_str().unwrap())
		.collect();
	assert!(paths.iter().any(|p| p.contains("password")), "{paths:?}");
	let all = env.store.list_workflows(&Default::default()).await.unwrap();
	assert!(all.is_empty(), "nothing was stored");
	// Without secrets, the same policy lets a definition through.
	create(&alice, "Clean", SEED_DEFINITION).await;
}

/// Polls an execution until `done` accepts its status (failing the test after 10 s).
async fn wait_for(client: &Client, execution: &str, done: impl Fn(&str) -> bool) {
	for _ in 0..200 {
		let data = ok(
			client,
			"query($id: ID!) { execution(id: $id) { status } }",
			json!({"id": execution}),
		)
		.await;
		if done(data["execution"]["status"].as_str().unwrap()) {
			return;
		}
		tokio::time::sleep(Duration::from_millis(50)).await;
	}
	panic!("execution {execution} did not reach the expected status");
}

#[tokio::test]
async fn every_mutation_is_audited() {
	let (env, alice) = setup().await;
	let workflow = create(&alice, "Audited", SEED_DEFINITION).await;
	let slow = create(&alice, "Slow", DELAYED_DEFINITION).await;

	// Resume an execution paused at a breakpoint.
	let data = ok(
		&alice,
		"mutation($id: ID!) { executeWorkflow(workflowId: $id, breakpoints: [\"task\"]) { id } }",
		json!({"id": workflow}),
	)
	.await;
	let paused = data["executeWorkflow"]["id"].as_str().unwrap().to_owned();
	wait_for(&alice, &paused, |s| s == "paused").await;
	ok(&alice, RESUME, json!({"id": paused})).await;
	env.engine.wait(paused.parse().unwrap()).await.unwrap();

	// Cancel a running one.
	let running = execute(&alice, &slow).await;
	ok(&alice, CANCEL, json!({"id": running})).await;
	env.engine.wait(running.parse().unwrap()).await.unwrap();

	ok(&alice, DELETE, json!({"id": workflow})).await;

	let allowed = env.audit(&alice, "allowed").await;
	let has = |action: &str, resource: &str| {
		allowed.iter().any(|e| {
			e.action == action && e.resource == resource && e.actor_id == Some(alice.who.user_id)
		})
	};
	let w = format!("workflow/{workflow}");
	assert!(has("workflow.create", &w), "{allowed:#?}");
	assert!(
		has("workflow.create", &format!("workflow/{slow}")),
		"{allowed:#?}"
	);
	assert!(has("workflow.execute", &w), "{allowed:#?}");
	assert!(
		has("execution.resume", &format!("execution/{paused}")),
		"{allowed:#?}"
	);
	assert!(
		has("execution.cancel", &format!("execution/{running}")),
		"{allowed:#?}"
	);
	assert!(has("workflow.delete", &w), "{allowed:#?}");
	let create = allowed
		.iter()
		.find(|e| e.action == "workflow.create" && e.resource == w)
		.unwrap();
	assert_eq!(create.details["name"], "Audited");
	// Queries are not audited.
	assert_eq!(allowed.len(), 7, "{allowed:#?}");
}

#[tokio::test]
async fn a_revoked_share_ends_a_running_subscription() {
	let (env, alice) = setup().await;
	let reader = env.user("rita", Role::Viewer).await;
	let workflow = create(&alice, "Watched", SEED_DEFINITION).await;
	env.share(&workflow, &reader, &[WorkflowAction::Read]).await;
	let request = Request::new(
		"subscription($w: ID!) { executionEvents(workflowId: $w) { workflowId type status } }",
	)
	.variables(Variables::from_json(json!({"w": workflow})))
	.data(reader.who.clone());
	let mut stream = reader.schema.execute_stream(request);
	let feed = tokio::spawn(async move {
		let mut seen = Vec::new();
		while let Some(response) = stream.next().await {
			seen.push(serde_json::to_value(response).unwrap());
		}
		seen
	});
	tokio::time::sleep(Duration::from_millis(100)).await;
	execute(&alice, &workflow).await;
	tokio::time::sleep(Duration::from_millis(300)).await;
	// Alice takes the share back; after the recheck period the next event ends the stream.
	env.accounts
		.set_shares(workflow.parse().unwrap(), &[])
		.await
		.unwrap();
	tokio::time::sleep(Duration::from_millis(5_200)).await;
	execute(&alice, &workflow).await;
	let seen = tokio::time::timeout(Duration::from_secs(10), feed)
		.await
		.expect("the stream ended")
		.unwrap();
	let (events, refusal) = seen.split_at(seen.len() - 1);
	assert!(events.len() >= 4, "{seen:#?}");
	assert!(events.iter().all(|r| r["errors"].is_null()), "{seen:#?}");
	assert_eq!(
		refusal[0]["errors"][0]["extensions"]["category"], "not_found",
		"{seen:#?}"
	);
}
