//! The GraphQL API against a real engine on a memory store: the seed's lifecycle, statistics,
//! errors and their extensions, subscriptions (in process and over WebSocket) and the limits.

use std::sync::Arc;
use std::time::Duration;

use apg_components::builtins;
use apg_core::{ExecutionId, Store};
use apg_engine::{Engine, EngineConfig};
use apg_graphql::{ApgSchema, Owner, router, schema};
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

async fn setup() -> (Engine, ApgSchema) {
	let store = MemoryStore::new();
	store.migrate().await.unwrap();
	let engine = Engine::start(
		Arc::new(store),
		Arc::new(builtins()),
		EngineConfig::default(),
	)
	.await
	.unwrap();
	let schema = schema(engine.clone(), "tester".to_owned());
	(engine, schema)
}

/// Runs an operation and returns `(data, errors)` as JSON.
async fn exec(schema: &ApgSchema, query: &str, variables: Value) -> (Value, Vec<Value>) {
	let request = Request::new(query).variables(Variables::from_json(variables));
	let response = serde_json::to_value(schema.execute(request).await).unwrap();
	let errors = response["errors"].as_array().cloned().unwrap_or_default();
	(response["data"].clone(), errors)
}

/// Runs an operation that must succeed and returns its data.
async fn ok(schema: &ApgSchema, query: &str, variables: Value) -> Value {
	let (data, errors) = exec(schema, query, variables).await;
	assert!(errors.is_empty(), "unexpected errors: {errors:#?}");
	data
}

/// Runs an operation that must fail and returns its first error.
async fn err(schema: &ApgSchema, query: &str, variables: Value) -> Value {
	let (_, errors) = exec(schema, query, variables).await;
	assert!(!errors.is_empty(), "expected an error");
	errors[0].clone()
}

const CREATE: &str = "mutation($name: String!, $definition: String!, $category: String,
	$tags: [String!]) {
	createWorkflow(name: $name, definition: $definition, category: $category, tags: $tags) {
		id name status category tags priority version componentCount createdBy createdAt
		executionCount successRate lastExecution definition
	}
}";

async fn create(schema: &ApgSchema, name: &str, definition: &str) -> String {
	let data = ok(
		schema,
		CREATE,
		json!({"name": name, "definition": definition, "category": "test"}),
	)
	.await;
	data["createWorkflow"]["id"].as_str().unwrap().to_owned()
}

async fn execute(schema: &ApgSchema, workflow_id: &str) -> String {
	let data = ok(
		schema,
		"mutation($id: ID!) { executeWorkflow(workflowId: $id) { id status } }",
		json!({"id": workflow_id}),
	)
	.await;
	data["executeWorkflow"]["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn the_seed_lifecycle_runs_through_graphql() {
	let (_engine, schema) = setup().await;
	let data = ok(
		&schema,
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
	assert_eq!(workflow["createdBy"], "tester");
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
		&schema,
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
		let data = ok(&schema, query, json!({"id": execution_id})).await;
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
		&schema,
		"mutation($id: ID!) { deleteWorkflow(id: $id) }",
		json!({"id": workflow_id}),
	)
	.await;
	assert_eq!(data["deleteWorkflow"], true);
	let data = ok(
		&schema,
		"query($w: ID!, $e: ID!) { workflow(id: $w) { id } execution(id: $e) { id } }",
		json!({"w": workflow_id, "e": execution_id}),
	)
	.await;
	assert_eq!(data, json!({"workflow": null, "execution": null}));
}

#[tokio::test]
async fn the_workflow_list_carries_statistics_and_filters() {
	let (engine, schema) = setup().await;
	let echo = create(&schema, "Echo", SEED_DEFINITION).await;
	let failing = create(&schema, "Failing", FAILING_DEFINITION).await;
	let idle = create(&schema, "Idle", SEED_DEFINITION).await;
	let mut runs = Vec::new();
	for id in [&echo, &echo, &failing] {
		runs.push(execute(&schema, id).await);
	}
	for id in runs {
		engine
			.wait(id.parse::<ExecutionId>().unwrap())
			.await
			.unwrap();
	}

	let data = ok(
		&schema,
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
		&schema,
		"query($id: ID!) { workflow(id: $id) { name executionCount successRate } }",
		json!({"id": echo}),
	)
	.await;
	assert_eq!(
		data["workflow"],
		json!({"name": "Echo", "executionCount": 2, "successRate": 1.0})
	);

	let data = ok(
		&schema,
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
		&schema,
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
		&schema,
		r#"{ workflows(status: "sleeping") { id } }"#,
		json!({}),
	)
	.await;
	assert_eq!(error["extensions"]["category"], "validation");
	assert_eq!(error["extensions"]["details"][0]["path"], "status");
}

#[tokio::test]
async fn an_invalid_definition_is_a_validation_error_listing_every_problem() {
	let (_engine, schema) = setup().await;
	let definition = json!({
		"components": [
			{"id": "start", "type": "start"},
			{"id": "x", "type": "teleport"}
		],
		"connections": [{"source": "start", "target": "nowhere"}]
	})
	.to_string();
	let error = err(
		&schema,
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
		&schema,
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
		&schema,
		"mutation { createWorkflow(name: \"Bad JSON\", definition: \"{oops\") { id } }",
		json!({}),
	)
	.await;
	assert_eq!(error["extensions"]["category"], "validation");
	assert_eq!(error["extensions"]["details"][0]["path"], "definition");

	let data = ok(
		&schema,
		"query($d: String!) { validateDefinition(definition: $d) { isValid errors { path } } }",
		json!({"d": definition}),
	)
	.await;
	assert_eq!(data["validateDefinition"]["isValid"], false);

	// Nothing was stored.
	let data = ok(&schema, "{ workflows { id } }", json!({})).await;
	assert_eq!(data["workflows"], json!([]));
}

#[tokio::test]
async fn unknown_ids_are_null_in_queries_and_not_found_in_mutations() {
	let (_engine, schema) = setup().await;
	let unknown = "01900000-0000-7000-8000-000000000000";
	let data = ok(
		&schema,
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
			let error = err(&schema, mutation, json!({"id": id})).await;
			assert_eq!(
				error["extensions"]["category"], "not_found",
				"{mutation} {id}: {error:#}"
			);
		}
	}
}

#[tokio::test]
async fn execute_refuses_parameters_that_are_not_an_object() {
	let (_engine, schema) = setup().await;
	let id = create(&schema, "Echo", SEED_DEFINITION).await;
	for parameters in [json!([1, 2]), json!("text"), json!(3)] {
		let error = err(
			&schema,
			"mutation($id: ID!, $p: JSON) { executeWorkflow(workflowId: $id, parameters: $p) {
				id } }",
			json!({"id": id, "p": parameters}),
		)
		.await;
		assert_eq!(error["extensions"]["category"], "validation", "{error:#}");
		assert_eq!(error["extensions"]["details"][0]["path"], "parameters");
	}
	let error = err(
		&schema,
		"mutation($id: ID!) { executeWorkflow(workflowId: $id, priority: 11) { id } }",
		json!({"id": id}),
	)
	.await;
	assert_eq!(error["extensions"]["details"][0]["path"], "priority");
	let error = err(
		&schema,
		"mutation($id: ID!) { executeWorkflow(workflowId: $id, breakpoints: [\"ghost\"]) {
			id } }",
		json!({"id": id}),
	)
	.await;
	assert_eq!(error["extensions"]["category"], "validation");

	let data = ok(&schema, "{ executions { id } }", json!({})).await;
	assert_eq!(data["executions"], json!([]), "nothing was started");
}

#[tokio::test]
async fn cancelling_stops_a_running_execution_and_a_second_cancel_conflicts() {
	let (engine, schema) = setup().await;
	let workflow = create(&schema, "Slow", DELAYED_DEFINITION).await;
	let execution = execute(&schema, &workflow).await;

	let error = err(
		&schema,
		"mutation($id: ID!) { deleteWorkflow(id: $id) }",
		json!({"id": workflow}),
	)
	.await;
	assert_eq!(
		error["extensions"]["category"], "conflict",
		"a workflow with a running execution is not deleted"
	);

	let data = ok(
		&schema,
		"mutation($id: ID!) { cancelExecution(id: $id) }",
		json!({"id": execution}),
	)
	.await;
	assert_eq!(data["cancelExecution"], true);
	let ended = engine.wait(execution.parse().unwrap()).await.unwrap();
	assert_eq!(ended.status.as_str(), "cancelled");
	let error = err(
		&schema,
		"mutation($id: ID!) { cancelExecution(id: $id) }",
		json!({"id": execution}),
	)
	.await;
	assert_eq!(error["extensions"]["category"], "conflict");
}

/// Collects a subscription until it ends (or fails the test after 10 s).
async fn collect(schema: &ApgSchema, query: &str, variables: Value) -> Vec<Value> {
	let request = Request::new(query).variables(Variables::from_json(variables));
	let stream = schema.execute_stream(request);
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
	let (engine, schema) = setup().await;
	let workflow = create(&schema, "Slow", DELAYED_DEFINITION).await;
	let execution = execute(&schema, &workflow).await;
	let id: ExecutionId = execution.parse().unwrap();

	// The execution is waiting on its delay: some events are stored, the rest arrive live.
	let received = events(&collect(&schema, EVENTS_OF_EXECUTION, json!({"id": execution})).await);
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
	let (engine, schema) = setup().await;
	let workflow = create(&schema, "Echo", SEED_DEFINITION).await;
	let execution = execute(&schema, &workflow).await;
	engine.wait(execution.parse().unwrap()).await.unwrap();

	let received = events(&collect(&schema, EVENTS_OF_EXECUTION, json!({"id": execution})).await);
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
	let (_engine, schema) = setup().await;
	let workflow = create(&schema, "Echo", SEED_DEFINITION).await;
	let other = create(&schema, "Other", SEED_DEFINITION).await;
	let request = Request::new(
		"subscription($w: ID!) { executionEvents(workflowId: $w) { workflowId type status } }",
	)
	.variables(Variables::from_json(json!({"w": workflow})));
	let mut stream = schema.execute_stream(request);
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
	execute(&schema, &other).await;
	execute(&schema, &workflow).await;
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
	let (_engine, schema) = setup().await;
	let responses = collect(
		&schema,
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
		&schema,
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
	let (_engine, schema) = setup().await;
	let data = ok(&schema, STANDARD_INTROSPECTION, json!({})).await;
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
	let error = err(&schema, &query, json!({})).await;
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
	let (_engine, schema) = setup().await;
	let one = "executions(limit: 500) { id status components { componentId status } }";
	let ok_query = format!("{{ a: {one} }}");
	ok(&schema, &ok_query, json!({})).await;
	let flood: String = (0..20).map(|i| format!("a{i}: {one} ")).collect();
	let error = err(&schema, &format!("{{ {flood} }}"), json!({})).await;
	assert!(
		error["message"].as_str().unwrap().contains("too complex"),
		"{error:#}"
	);
}

#[tokio::test]
async fn the_components_query_lists_every_type_with_its_schema() {
	let (engine, schema) = setup().await;
	let data = ok(
		&schema,
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
async fn the_owner_of_a_request_overrides_the_default() {
	let (_engine, schema) = setup().await;
	let request = Request::new(CREATE)
		.variables(Variables::from_json(
			json!({"name": "Mine", "definition": SEED_DEFINITION}),
		))
		.data(Owner("alice".to_owned()));
	let response = serde_json::to_value(schema.execute(request).await).unwrap();
	assert_eq!(response["data"]["createWorkflow"]["createdBy"], "alice");
}

#[tokio::test]
async fn the_router_serves_queries_and_the_playground() {
	let (_engine, schema) = setup().await;
	let app = router(schema);
	let body = json!({"query": "mutation($d: String!) { createWorkflow(name: \"Via HTTP\",
		definition: $d) { id name } }", "variables": {"d": SEED_DEFINITION}});
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
	let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
		.await
		.unwrap();
	let json: Value = serde_json::from_slice(&bytes).unwrap();
	assert_eq!(
		json["data"]["createWorkflow"]["name"], "Via HTTP",
		"{json:#}"
	);

	let response = app
		.clone()
		.oneshot(
			http::Request::get("/graphql/playground")
				.body(Body::empty())
				.unwrap(),
		)
		.await
		.unwrap();
	assert_eq!(response.status(), StatusCode::OK);
	let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
		.await
		.unwrap();
	assert!(String::from_utf8_lossy(&bytes).contains("GraphQL Playground"));

	// A GET that is not a WebSocket upgrade is refused, not served.
	let response = app
		.oneshot(http::Request::get("/graphql").body(Body::empty()).unwrap())
		.await
		.unwrap();
	assert!(response.status().is_client_error());
}

#[tokio::test]
async fn subscriptions_work_over_graphql_transport_ws() {
	let (engine, schema) = setup().await;
	let workflow = create(&schema, "Echo", SEED_DEFINITION).await;
	let execution = execute(&schema, &workflow).await;
	engine.wait(execution.parse().unwrap()).await.unwrap();

	let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
	let address = listener.local_addr().unwrap();
	let server = tokio::spawn(async move {
		axum::serve(listener, router(schema)).await.unwrap();
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
			"query": EVENTS_OF_EXECUTION, "variables": {"id": execution}}})))
		.await
		.unwrap();
	let mut types = Vec::new();
	let mut last_status = Value::Null;
	let read = async {
		while let Some(message) = socket.next().await {
			let Message::Text(text) = message.unwrap() else {
				continue;
			};
			let message: Value = serde_json::from_str(&text).unwrap();
			let kind = message["type"].as_str().unwrap().to_owned();
			if kind == "next" {
				last_status = message["payload"]["data"]["executionEvents"]["status"].clone();
			}
			types.push(kind.clone());
			if kind == "complete" || kind == "error" {
				break;
			}
		}
	};
	tokio::time::timeout(Duration::from_secs(10), read)
		.await
		.unwrap();
	assert_eq!(types.first().map(String::as_str), Some("connection_ack"));
	assert_eq!(
		types.last().map(String::as_str),
		Some("complete"),
		"{types:?}"
	);
	assert!(
		types.iter().filter(|t| *t == "next").count() >= 4,
		"{types:?}"
	);
	assert_eq!(last_status, "completed");
	server.abort();
}
