//! The engine end to end on real stores: DESIGN §3's semantics, durability and recovery.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

use apg_core::{
	Component, ComponentError, ComponentStatus, ExecutionStatus, NewWorkflow, Outcome, Priority,
	Registry, RunContext, Store,
};
use apg_engine::{Engine, EngineConfig, ExecuteRequest, workflows};
use apg_store::{MemoryStore, SqliteStore, Synchronous};
use async_trait::async_trait;
use serde_json::{Map, Value, json};

/// Fails with a retryable error until its attempt reaches `succeed_on` (config), and records
/// every run in a shared ledger keyed by `(execution, component)`.
struct Flaky(Arc<Mutex<HashMap<String, u32>>>);

#[async_trait]
impl Component for Flaky {
	fn kind(&self) -> &'static str {
		"flaky"
	}
	fn summary(&self) -> &'static str {
		"fails until an attempt"
	}
	fn config_schema(&self) -> Value {
		json!({"properties": {"succeed_on": {"type": "integer"}, "sleep_ms": {"type": "integer"},
			"panic": {"type": "boolean"},
			"fatal": {"type": "boolean"}}})
	}
	async fn run(
		&self,
		ctx: &RunContext,
		config: &Value,
		input: Value,
	) -> Result<Outcome, ComponentError> {
		*self
			.0
			.lock()
			.unwrap()
			.entry(format!("{}/{}", ctx.execution_id, ctx.component_id))
			.or_default() += 1;
		if config.get("panic") == Some(&json!(true)) {
			panic!("a bug in a component");
		}
		if let Some(ms) = config.get("sleep_ms").and_then(Value::as_u64) {
			tokio::time::sleep(Duration::from_millis(ms)).await;
		}
		let succeed_on = config
			.get("succeed_on")
			.and_then(Value::as_u64)
			.unwrap_or(1) as u32;
		if ctx.attempt < succeed_on {
			if config.get("fatal") == Some(&json!(true)) {
				return Err(ComponentError::Fatal(format!(
					"fatal on attempt {}",
					ctx.attempt
				)));
			}
			return Err(ComponentError::Retryable(format!(
				"flaky on attempt {}",
				ctx.attempt
			)));
		}
		Ok(Outcome::output(
			json!({"attempt": ctx.attempt, "input": input}),
		))
	}
}

struct Harness {
	engine: Engine,
	_dir: Option<tempfile::TempDir>,
}

fn registry(runs: &Arc<Mutex<HashMap<String, u32>>>) -> Arc<Registry> {
	let mut registry = apg_components::builtins();
	registry.register(Arc::new(Flaky(Arc::clone(runs))));
	Arc::new(registry)
}

async fn harness(config: EngineConfig) -> Harness {
	let runs = Arc::new(Mutex::new(HashMap::new()));
	let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
	let engine = Engine::start(store, registry(&runs), config).await.unwrap();
	Harness { engine, _dir: None }
}

async fn sqlite_harness(dir: &std::path::Path, runs: Arc<Mutex<HashMap<String, u32>>>) -> Engine {
	let store = SqliteStore::open_dir(dir, Synchronous::Normal)
		.await
		.unwrap();
	store.migrate().await.unwrap();
	Engine::start(Arc::new(store), registry(&runs), EngineConfig::default())
		.await
		.unwrap()
}

async fn create(engine: &Engine, definition: Value) -> apg_core::WorkflowId {
	let new = NewWorkflow::parse(
		&json!({"name": format!("wf-{}", uuid::Uuid::now_v7()), "definition": definition}),
	)
	.unwrap();
	let (w, _) = workflows::create(&**engine.store(), engine.registry(), new, "tester")
		.await
		.unwrap();
	w.id
}

async fn run(engine: &Engine, definition: Value, params: Value) -> apg_core::Execution {
	let id = create(engine, definition).await;
	let parameters: Map<String, Value> = serde_json::from_value(params).unwrap();
	let exec = engine
		.execute(ExecuteRequest {
			workflow_id: id,
			parameters,
			..Default::default()
		})
		.await
		.unwrap();
	tokio::time::timeout(Duration::from_secs(30), engine.wait(exec.id))
		.await
		.unwrap()
		.unwrap()
}

async fn statuses(engine: &Engine, exec: &apg_core::Execution) -> HashMap<String, ComponentStatus> {
	let steps = engine.store().steps(exec.id).await.unwrap();
	steps
		.into_iter()
		.map(|s| (s.component_id, s.status))
		.collect()
}

fn chain(middle: Value) -> Value {
	json!({
		"components": [{"id": "start", "type": "start"}, middle, {"id": "end", "type": "end"}],
		"connections": [{"source": "start", "target": "x"}, {"source": "x", "target": "end"}]
	})
}

#[tokio::test(start_paused = true)]
async fn the_seed_integration_workflow_completes_with_logs_and_outputs() {
	let h = harness(EngineConfig::default()).await;
	let exec = run(
		&h.engine,
		json!({
			"components": [
				{"id": "start", "type": "start", "config": {"trigger_type": "manual"}},
				{"id": "task", "type": "task", "config": {"task_type": "echo", "message": "Hello World"}},
				{"id": "end", "type": "end", "config": {"status": "success"}}
			],
			"connections": [
				{"source": "start", "target": "task", "type": "success"},
				{"source": "task", "target": "end", "type": "success"}
			]
		}),
		json!({}),
	)
	.await;
	assert_eq!(exec.status, ExecutionStatus::Completed, "{exec:?}");
	assert_eq!(
		exec.results,
		Some(json!({"end": {"message": "Hello World"}}))
	);
	assert!(!h.engine.store().logs(exec.id).await.unwrap().is_empty());
	let events = h.engine.store().events(exec.id).await.unwrap();
	assert!(events.last().unwrap().event.is_terminal());
}

#[tokio::test(start_paused = true)]
async fn expressions_pass_data_between_steps_and_keep_their_type() {
	let h = harness(EngineConfig::default()).await;
	let exec = run(
		&h.engine,
		json!({
			"components": [
				{"id": "start", "type": "start"},
				{"id": "set", "type": "task", "config": {"task_type": "set_variable", "variable": "greeting", "value": "hi {{ name }}"}},
				{"id": "echo", "type": "task", "config": {"task_type": "echo",
					"message": {"n": "{{ n }}", "doubled": "{{ params.n * 2 }}", "var": "{{ vars.greeting }}",
						"prev": "{{ steps.set.output.value }}"}}},
				{"id": "end", "type": "end"}
			],
			"connections": [
				{"source": "start", "target": "set"}, {"source": "set", "target": "echo"},
				{"source": "echo", "target": "end"}
			]
		}),
		json!({"name": "Ada", "n": 21}),
	)
	.await;
	assert_eq!(exec.status, ExecutionStatus::Completed, "{exec:?}");
	assert_eq!(
		exec.results.unwrap()["end"]["message"],
		json!({"n": 21, "doubled": 42, "var": "hi Ada", "prev": "hi Ada"})
	);
	assert_eq!(exec.vars["greeting"], json!("hi Ada"));
}

#[tokio::test(start_paused = true)]
async fn a_failure_connection_completes_the_execution_through_the_failure_path() {
	let h = harness(EngineConfig::default()).await;
	let exec = run(
		&h.engine,
		json!({
			"components": [
				{"id": "start", "type": "start"},
				{"id": "x", "type": "flaky", "config": {"succeed_on": 99, "fatal": true}},
				{"id": "ok", "type": "task", "config": {"task_type": "noop"}},
				{"id": "recover", "type": "task", "config": {"task_type": "echo", "message": "recovered"}},
				{"id": "end", "type": "end", "config": {"join": "any"}}
			],
			"connections": [
				{"source": "start", "target": "x"},
				{"source": "x", "target": "ok"},
				{"source": "x", "target": "recover", "type": "failure"},
				{"source": "ok", "target": "end"},
				{"source": "recover", "target": "end"}
			]
		}),
		json!({}),
	)
	.await;
	assert_eq!(exec.status, ExecutionStatus::Completed, "{exec:?}");
	let s = statuses(&h.engine, &exec).await;
	assert_eq!(s["x"], ComponentStatus::Failed);
	assert_eq!(s["ok"], ComponentStatus::Skipped);
	assert_eq!(s["recover"], ComponentStatus::Completed);
	assert_eq!(s["end"], ComponentStatus::Completed);
}

#[tokio::test(start_paused = true)]
async fn an_unhandled_failure_fails_the_execution_with_the_component_error() {
	let h = harness(EngineConfig::default()).await;
	let exec = run(
		&h.engine,
		chain(json!({"id": "x", "type": "flaky", "config": {"succeed_on": 9, "fatal": true}})),
		json!({}),
	)
	.await;
	assert_eq!(exec.status, ExecutionStatus::Failed);
	let message = exec.error_message.clone().unwrap();
	assert!(
		message.contains("component 'x' failed") && message.contains("fatal on attempt 1"),
		"{message}"
	);
	let s = statuses(&h.engine, &exec).await;
	assert_eq!(s.get("end"), None, "end never became ready");
}

#[tokio::test(start_paused = true)]
async fn retries_follow_the_backoff_and_every_attempt_is_recorded() {
	let h = harness(EngineConfig::default()).await;
	let began = Instant::now();
	let exec = run(
		&h.engine,
		chain(
			json!({"id": "x", "type": "flaky", "config": {"succeed_on": 3, "retry_attempts": 3,
			"retry_delay_seconds": 1, "retry_backoff": "exponential"}}),
		),
		json!({}),
	)
	.await;
	assert_eq!(exec.status, ExecutionStatus::Completed, "{exec:?}");
	// Delays of 1 s then 2 s before attempts 2 and 3: on the paused clock, exactly that.
	let took = began.elapsed();
	assert!(
		took >= Duration::from_millis(3000) && took < Duration::from_millis(3100),
		"{took:?}"
	);
	let attempts = h.engine.store().attempts(exec.id).await.unwrap();
	let starts: Vec<i64> = attempts
		.iter()
		.filter(|a| a.component_id == "x")
		.map(|a| a.started_at)
		.collect();
	let gaps: Vec<i64> = starts.windows(2).map(|w| w[1] - w[0]).collect();
	assert!(
		(1000..1050).contains(&gaps[0]) && (2000..2050).contains(&gaps[1]),
		"{gaps:?}"
	);
	let x: Vec<(u32, ComponentStatus)> = attempts
		.iter()
		.filter(|a| a.component_id == "x")
		.map(|a| (a.attempt, a.status))
		.collect();
	assert_eq!(
		x,
		vec![
			(1, ComponentStatus::Failed),
			(2, ComponentStatus::Failed),
			(3, ComponentStatus::Completed)
		]
	);
}

#[tokio::test(start_paused = true)]
async fn an_attempt_that_exceeds_its_timeout_fails() {
	let h = harness(EngineConfig::default()).await;
	let exec = run(
		&h.engine,
		chain(json!({"id": "x", "type": "flaky", "config": {"sleep_ms": 5000, "timeout_seconds": 1, "retry_attempts": 0}})),
		json!({}),
	)
	.await;
	assert_eq!(exec.status, ExecutionStatus::Failed);
	assert!(exec.error_message.unwrap().contains("timed out after 1 s"));
}

#[tokio::test(start_paused = true)]
async fn parallel_branches_join_all_and_skip_dead_paths() {
	let h = harness(EngineConfig::default()).await;
	let exec = run(
		&h.engine,
		json!({
			"components": [
				{"id": "start", "type": "start"},
				{"id": "check", "type": "condition", "config": {"expression": "{{ amount > 100 }}"}},
				{"id": "big", "type": "task", "config": {"task_type": "echo", "message": "big"}},
				{"id": "small", "type": "task", "config": {"task_type": "echo", "message": "small"}},
				{"id": "audit", "type": "task", "config": {"task_type": "echo", "message": "audit"}},
				{"id": "after_small", "type": "task", "config": {"task_type": "noop"}},
				{"id": "end", "type": "end"}
			],
			"connections": [
				{"source": "start", "target": "check"},
				{"source": "start", "target": "audit"},
				{"source": "check", "target": "big", "branch": "true"},
				{"source": "check", "target": "small", "branch": "false"},
				{"source": "small", "target": "after_small"},
				{"source": "big", "target": "end"},
				{"source": "after_small", "target": "end"},
				{"source": "audit", "target": "end"}
			]
		}),
		json!({"amount": 500}),
	)
	.await;
	assert_eq!(exec.status, ExecutionStatus::Completed, "{exec:?}");
	let s = statuses(&h.engine, &exec).await;
	assert_eq!(s["big"], ComponentStatus::Completed);
	assert_eq!(s["small"], ComponentStatus::Skipped);
	assert_eq!(
		s["after_small"],
		ComponentStatus::Skipped,
		"dead path propagates"
	);
	assert_eq!(
		exec.results.unwrap()["end"],
		json!({"big": {"message": "big"}, "audit": {"message": "audit"}}),
		"join all waits for every branch and keys inputs by predecessor"
	);
}

#[tokio::test(start_paused = true)]
async fn condition_connections_are_taken_only_when_true() {
	let h = harness(EngineConfig::default()).await;
	let exec = run(
		&h.engine,
		json!({
			"components": [
				{"id": "start", "type": "start"},
				{"id": "count", "type": "task", "config": {"task_type": "echo", "message": 3}},
				{"id": "many", "type": "task", "config": {"task_type": "noop"}},
				{"id": "few", "type": "task", "config": {"task_type": "noop"}}
			],
			"connections": [
				{"source": "start", "target": "count"},
				{"source": "count", "target": "many", "type": "condition", "condition": "{{ output.message > 5 }}"},
				{"source": "count", "target": "few", "type": "condition", "condition": "output.message <= 5"}
			]
		}),
		json!({}),
	)
	.await;
	assert_eq!(exec.status, ExecutionStatus::Completed);
	let s = statuses(&h.engine, &exec).await;
	assert_eq!(
		(s["many"], s["few"]),
		(ComponentStatus::Skipped, ComponentStatus::Completed)
	);
}

#[tokio::test(start_paused = true)]
async fn delays_hold_no_worker() {
	// One worker slot, 20 executions each waiting 1 s: they wait together, not one after another.
	let h = harness(EngineConfig {
		max_concurrent_tasks: 1,
		..Default::default()
	})
	.await;
	let id = create(
		&h.engine,
		chain(json!({"id": "x", "type": "delay", "config": {"seconds": 1}})),
	)
	.await;
	let began = Instant::now();
	let mut ids = Vec::new();
	for _ in 0..20 {
		ids.push(
			h.engine
				.execute(ExecuteRequest {
					workflow_id: id,
					..Default::default()
				})
				.await
				.unwrap()
				.id,
		);
	}
	for e in ids {
		assert_eq!(
			h.engine.wait(e).await.unwrap().status,
			ExecutionStatus::Completed
		);
	}
	// Together: one second for all of them (on the paused clock), not twenty.
	let took = began.elapsed();
	assert!(
		took >= Duration::from_secs(1) && took < Duration::from_millis(1100),
		"{took:?}"
	);
}

#[tokio::test(start_paused = true)]
async fn higher_priority_is_dispatched_first_under_the_concurrency_limit() {
	// `flaky` runs on a worker (it is not inline), so it queues behind the concurrency limit.
	let h = harness(EngineConfig {
		max_concurrent_tasks: 1,
		aging: Duration::from_secs(3600),
		..Default::default()
	})
	.await;
	// A blocker occupies the only slot while the others queue up.
	let blocker = create(
		&h.engine,
		chain(json!({"id": "x", "type": "flaky", "config": {"sleep_ms": 300}})),
	)
	.await;
	let quick = create(&h.engine, chain(json!({"id": "x", "type": "flaky"}))).await;
	let mut events = h.engine.subscribe();
	let b = h
		.engine
		.execute(ExecuteRequest {
			workflow_id: blocker,
			..Default::default()
		})
		.await
		.unwrap();
	tokio::time::sleep(Duration::from_millis(50)).await;
	let mut submitted = HashMap::new();
	for p in [1, 10, 5] {
		let req = ExecuteRequest {
			workflow_id: quick,
			priority: Some(Priority::new(p).unwrap()),
			..Default::default()
		};
		submitted.insert(h.engine.execute(req).await.unwrap().id, p);
	}
	let mut finished = Vec::new();
	while finished.len() < 3 {
		let event = tokio::time::timeout(Duration::from_secs(5), events.recv())
			.await
			.unwrap()
			.unwrap();
		if event.is_terminal() && event.execution_id != b.id {
			finished.push(submitted[&event.execution_id]);
		}
	}
	assert_eq!(finished, vec![10, 5, 1]);
}

#[tokio::test(start_paused = true)]
async fn cancelling_stops_running_work() {
	let h = harness(EngineConfig::default()).await;
	let id = create(
		&h.engine,
		chain(json!({"id": "x", "type": "flaky", "config": {"sleep_ms": 10000}})),
	)
	.await;
	let exec = h
		.engine
		.execute(ExecuteRequest {
			workflow_id: id,
			..Default::default()
		})
		.await
		.unwrap();
	tokio::time::sleep(Duration::from_millis(100)).await;
	h.engine.cancel(exec.id).await.unwrap();
	let done = h.engine.wait(exec.id).await.unwrap();
	assert_eq!(done.status, ExecutionStatus::Cancelled);
	assert_eq!(
		statuses(&h.engine, &done).await["x"],
		ComponentStatus::Cancelled
	);
	assert!(
		h.engine.cancel(exec.id).await.is_err(),
		"a finished execution cannot be cancelled"
	);
}

#[tokio::test(start_paused = true)]
async fn a_breakpoint_pauses_and_step_pauses_again_before_the_next_component() {
	let h = harness(EngineConfig::default()).await;
	let id = create(
		&h.engine,
		json!({
			"components": [{"id": "start", "type": "start"},
				{"id": "a", "type": "task", "config": {"task_type": "noop"}},
				{"id": "b", "type": "task", "config": {"task_type": "noop"}},
				{"id": "end", "type": "end"}],
			"connections": [{"source": "start", "target": "a"}, {"source": "a", "target": "b"}, {"source": "b", "target": "end"}]
		}),
	)
	.await;
	let mut events = h.engine.subscribe();
	let req = ExecuteRequest {
		workflow_id: id,
		breakpoints: vec!["a".into()],
		..Default::default()
	};
	let exec = h.engine.execute(req).await.unwrap();
	let mut paused_at = Vec::new();
	while paused_at.len() < 2 {
		let event = tokio::time::timeout(Duration::from_secs(5), events.recv())
			.await
			.unwrap()
			.unwrap();
		if let apg_core::EventKind::Paused { component_id } = &event.kind {
			paused_at.push(component_id.clone());
			let current = h
				.engine
				.store()
				.get_execution(exec.id)
				.await
				.unwrap()
				.unwrap();
			assert_eq!(current.status, ExecutionStatus::Paused);
			// Step at the first pause, so it pauses again before `b`; then continue.
			h.engine
				.resume(exec.id, paused_at.len() == 1)
				.await
				.unwrap();
		}
	}
	assert_eq!(paused_at, vec!["a", "b"]);
	assert_eq!(
		h.engine.wait(exec.id).await.unwrap().status,
		ExecutionStatus::Completed
	);
}

#[tokio::test(start_paused = true)]
async fn bad_parameters_are_rejected_before_anything_is_stored() {
	let h = harness(EngineConfig::default()).await;
	let mut def = chain(
		json!({"id": "x", "type": "task", "config": {"task_type": "echo", "message": "{{ n }}"}}),
	);
	def["parameters"] = json!([{"name": "n", "parameter_type": "integer", "required": true}]);
	let id = create(&h.engine, def).await;
	let err = h
		.engine
		.execute(ExecuteRequest {
			workflow_id: id,
			..Default::default()
		})
		.await
		.unwrap_err();
	assert!(
		err.to_string().contains("parameters.n: is required"),
		"{err}"
	);
	assert_eq!(h.engine.store().count_executions().await.unwrap(), 0);
}

#[tokio::test]
async fn a_restart_resumes_from_checkpoints_without_rerunning_completed_components() {
	let dir = tempfile::tempdir().unwrap();
	let runs = Arc::new(Mutex::new(HashMap::new()));
	let engine = sqlite_harness(dir.path(), Arc::clone(&runs)).await;
	let id = create(
		&engine,
		json!({
			"components": [{"id": "start", "type": "start"},
				{"id": "before", "type": "flaky"},
				{"id": "wait", "type": "delay", "config": {"seconds": 1}},
				{"id": "after", "type": "flaky"},
				{"id": "end", "type": "end"}],
			"connections": [{"source": "start", "target": "before"}, {"source": "before", "target": "wait"},
				{"source": "wait", "target": "after"}, {"source": "after", "target": "end"}]
		}),
	)
	.await;
	let mut ids = Vec::new();
	for _ in 0..10 {
		ids.push(
			engine
				.execute(ExecuteRequest {
					workflow_id: id,
					..Default::default()
				})
				.await
				.unwrap()
				.id,
		);
	}
	tokio::time::sleep(Duration::from_millis(300)).await;
	// Stop mid-delay, as a crash would: nothing in flight is finished.
	engine.shutdown().await;
	let deadline_before = engine
		.store()
		.steps(ids[0])
		.await
		.unwrap()
		.into_iter()
		.find(|s| s.component_id == "wait")
		.unwrap()
		.run_at;
	drop(engine);
	let engine = sqlite_harness(dir.path(), Arc::clone(&runs)).await;
	for e in &ids {
		let done = tokio::time::timeout(Duration::from_secs(10), engine.wait(*e))
			.await
			.unwrap()
			.unwrap();
		assert_eq!(done.status, ExecutionStatus::Completed, "{done:?}");
		let wait = engine
			.store()
			.steps(*e)
			.await
			.unwrap()
			.into_iter()
			.find(|s| s.component_id == "wait")
			.unwrap();
		assert!(wait.completed_at.unwrap() >= wait.run_at.unwrap_or(0));
	}
	assert!(deadline_before.is_some());
	let runs = runs.lock().unwrap().clone();
	for e in &ids {
		assert_eq!(
			runs[&format!("{e}/before")],
			1,
			"completed before the restart: never again"
		);
		assert_eq!(runs[&format!("{e}/after")], 1);
	}
	assert_eq!(engine.store().count_executions().await.unwrap(), 10);
}

#[tokio::test]
async fn an_interrupted_attempt_runs_again_with_its_attempt_count_raised() {
	let dir = tempfile::tempdir().unwrap();
	let runs = Arc::new(Mutex::new(HashMap::new()));
	let engine = sqlite_harness(dir.path(), Arc::clone(&runs)).await;
	let id = create(
		&engine,
		chain(json!({"id": "x", "type": "flaky", "config": {"sleep_ms": 800}})),
	)
	.await;
	let exec = engine
		.execute(ExecuteRequest {
			workflow_id: id,
			..Default::default()
		})
		.await
		.unwrap();
	// Long enough for the attempt's start to be committed, short of its end.
	tokio::time::sleep(Duration::from_millis(300)).await;
	engine.shutdown().await;
	drop(engine);
	let engine = sqlite_harness(dir.path(), Arc::clone(&runs)).await;
	let done = engine.wait(exec.id).await.unwrap();
	assert_eq!(done.status, ExecutionStatus::Completed);
	assert_eq!(done.results.unwrap()["end"]["attempt"], json!(2));
	let attempts = engine.store().attempts(exec.id).await.unwrap();
	let x: Vec<(u32, ComponentStatus)> = attempts
		.iter()
		.filter(|a| a.component_id == "x")
		.map(|a| (a.attempt, a.status))
		.collect();
	assert_eq!(
		x,
		vec![
			(1, ComponentStatus::Failed),
			(2, ComponentStatus::Completed)
		]
	);
}

#[tokio::test(start_paused = true)]
async fn inline_and_worker_runs_record_the_same_steps() {
	let definition = json!({
		"components": [{"id": "start", "type": "start"},
			{"id": "a", "type": "task", "config": {"task_type": "set_variable", "variable": "v", "value": 7}},
			{"id": "b", "type": "task", "config": {"task_type": "echo", "message": "{{ vars.v + 1 }}"}},
			{"id": "end", "type": "end"}],
		"connections": [{"source": "start", "target": "a"}, {"source": "a", "target": "b"},
			{"source": "b", "target": "end"}]
	});
	let mut outcomes = Vec::new();
	for inline in [true, false] {
		let h = harness(EngineConfig {
			inline,
			..Default::default()
		})
		.await;
		let exec = run(&h.engine, definition.clone(), json!({})).await;
		let attempts = h.engine.store().attempts(exec.id).await.unwrap();
		let events = h.engine.store().events(exec.id).await.unwrap().len();
		outcomes.push((exec.status, exec.results, attempts.len(), events));
	}
	assert_eq!(outcomes[0], outcomes[1]);
	assert_eq!(outcomes[0].1, Some(json!({"end": {"message": 8}})));
}

#[tokio::test(start_paused = true)]
async fn a_failed_execution_retries_from_its_failed_component_only() {
	let h = harness(EngineConfig::default()).await;
	let id = create(
		&h.engine,
		json!({
			"components": [{"id": "start", "type": "start"},
				{"id": "once", "type": "flaky"},
				{"id": "x", "type": "task", "config": {"task_type": "fail", "succeed_on_attempt": 2, "retry_attempts": 0}},
				{"id": "end", "type": "end"}],
			"connections": [{"source": "start", "target": "once"}, {"source": "once", "target": "x"},
				{"source": "x", "target": "end"}]
		}),
	)
	.await;
	let exec = h
		.engine
		.execute(ExecuteRequest {
			workflow_id: id,
			..Default::default()
		})
		.await
		.unwrap();
	assert_eq!(
		h.engine.wait(exec.id).await.unwrap().status,
		ExecutionStatus::Failed
	);
	assert!(h.engine.retry(exec.id).await.is_ok());
	let done = h.engine.wait(exec.id).await.unwrap();
	assert_eq!(done.status, ExecutionStatus::Completed, "{done:?}");
	let attempts = h.engine.store().attempts(exec.id).await.unwrap();
	let x: Vec<(u32, ComponentStatus)> = attempts
		.iter()
		.filter(|a| a.component_id == "x")
		.map(|a| (a.attempt, a.status))
		.collect();
	assert_eq!(
		x,
		vec![
			(1, ComponentStatus::Failed),
			(2, ComponentStatus::Completed)
		]
	);
	assert_eq!(
		attempts.iter().filter(|a| a.component_id == "once").count(),
		1,
		"completed work is kept"
	);
	assert!(
		h.engine.retry(exec.id).await.is_err(),
		"a completed execution cannot be retried"
	);
}

#[tokio::test(start_paused = true)]
async fn breakpoints_set_on_a_running_execution_pause_it() {
	let h = harness(EngineConfig::default()).await;
	let id = create(
		&h.engine,
		chain(json!({"id": "x", "type": "flaky", "config": {"sleep_ms": 300}})),
	)
	.await;
	let exec = h
		.engine
		.execute(ExecuteRequest {
			workflow_id: id,
			..Default::default()
		})
		.await
		.unwrap();
	h.engine
		.set_breakpoints(exec.id, vec!["end".into()])
		.await
		.unwrap();
	assert!(
		h.engine
			.set_breakpoints(exec.id, vec!["ghost".into()])
			.await
			.is_err()
	);
	let began = Instant::now();
	loop {
		let current = h
			.engine
			.store()
			.get_execution(exec.id)
			.await
			.unwrap()
			.unwrap();
		if current.status == ExecutionStatus::Paused {
			break;
		}
		assert!(
			began.elapsed() < Duration::from_secs(5),
			"never paused: {current:?}"
		);
		tokio::time::sleep(Duration::from_millis(20)).await;
	}
	h.engine.resume(exec.id, false).await.unwrap();
	assert_eq!(
		h.engine.wait(exec.id).await.unwrap().status,
		ExecutionStatus::Completed
	);
}

#[tokio::test]
async fn a_draining_shutdown_lets_running_attempts_finish() {
	let dir = tempfile::tempdir().unwrap();
	let runs = Arc::new(Mutex::new(HashMap::new()));
	let engine = sqlite_harness(dir.path(), Arc::clone(&runs)).await;
	let id = create(
		&engine,
		chain(json!({"id": "x", "type": "flaky", "config": {"sleep_ms": 300}})),
	)
	.await;
	let exec = engine
		.execute(ExecuteRequest {
			workflow_id: id,
			..Default::default()
		})
		.await
		.unwrap();
	tokio::time::sleep(Duration::from_millis(100)).await;
	engine.shutdown_within(Duration::from_secs(5)).await;
	let steps = engine.store().steps(exec.id).await.unwrap();
	let x = steps.iter().find(|s| s.component_id == "x").unwrap();
	assert_eq!(
		x.status,
		ComponentStatus::Completed,
		"the running attempt finished and was committed"
	);
	drop(engine);
	let engine = sqlite_harness(dir.path(), Arc::clone(&runs)).await;
	assert_eq!(
		engine.wait(exec.id).await.unwrap().status,
		ExecutionStatus::Completed
	);
	assert_eq!(runs.lock().unwrap().clone()[&format!("{}/x", exec.id)], 1);
}

#[tokio::test(start_paused = true)]
async fn a_workflow_cannot_be_deleted_while_an_execution_of_it_runs() {
	let h = harness(EngineConfig::default()).await;
	let id = create(
		&h.engine,
		chain(json!({"id": "x", "type": "flaky", "config": {"sleep_ms": 200}})),
	)
	.await;
	let exec = h
		.engine
		.execute(ExecuteRequest {
			workflow_id: id,
			..Default::default()
		})
		.await
		.unwrap();
	let refused = h.engine.delete_workflow(id).await;
	assert!(
		matches!(refused, Err(apg_engine::EngineError::Conflict(_))),
		"{refused:?}"
	);
	h.engine.wait(exec.id).await.unwrap();
	assert!(h.engine.delete_workflow(id).await.unwrap());
	assert!(!h.engine.delete_workflow(id).await.unwrap(), "already gone");
	let late = h
		.engine
		.execute(ExecuteRequest {
			workflow_id: id,
			..Default::default()
		})
		.await;
	assert!(
		matches!(late, Err(apg_engine::EngineError::NotFound(_))),
		"{late:?}"
	);
	assert_eq!(h.engine.store().count_executions().await.unwrap(), 0);
}

#[tokio::test(start_paused = true)]
async fn a_panicking_component_fails_its_attempt_and_the_engine_carries_on() {
	let h = harness(EngineConfig::default()).await;
	let exec = run(
		&h.engine,
		chain(json!({"id": "x", "type": "flaky", "config": {"panic": true}})),
		json!({}),
	)
	.await;
	assert_eq!(exec.status, ExecutionStatus::Failed);
	assert!(
		exec.error_message
			.unwrap()
			.contains("the component panicked")
	);
	let again = run(
		&h.engine,
		chain(json!({"id": "x", "type": "flaky"})),
		json!({}),
	)
	.await;
	assert_eq!(
		again.status,
		ExecutionStatus::Completed,
		"the engine still runs work"
	);
}

#[tokio::test(start_paused = true)]
async fn a_workflow_deleted_under_a_running_execution_does_not_stop_the_engine() {
	let h = harness(EngineConfig::default()).await;
	let doomed = create(
		&h.engine,
		chain(json!({"id": "x", "type": "flaky", "config": {"sleep_ms": 200}})),
	)
	.await;
	let fine = create(
		&h.engine,
		chain(json!({"id": "x", "type": "flaky", "config": {"sleep_ms": 300}})),
	)
	.await;
	let a = h
		.engine
		.execute(ExecuteRequest {
			workflow_id: doomed,
			..Default::default()
		})
		.await
		.unwrap();
	let b = h
		.engine
		.execute(ExecuteRequest {
			workflow_id: fine,
			..Default::default()
		})
		.await
		.unwrap();
	// Deleted behind the engine's back (as another node would): its checkpoints now dangle.
	assert!(h.engine.store().delete_workflow(doomed).await.unwrap());
	let done = tokio::time::timeout(Duration::from_secs(10), h.engine.wait(b.id))
		.await
		.unwrap()
		.unwrap();
	assert_eq!(
		done.status,
		ExecutionStatus::Completed,
		"the other execution carries on"
	);
	assert!(
		h.engine
			.store()
			.get_execution(a.id)
			.await
			.unwrap()
			.is_none()
	);
}

#[tokio::test(start_paused = true)]
async fn a_manual_retry_gives_a_component_its_retry_budget_again() {
	let h = harness(EngineConfig::default()).await;
	// Attempts 1 and 2 fail (one automatic retry allowed); after the manual retry attempt 3
	// fails too and only a restored budget lets attempt 4 run and succeed.
	let id = create(
		&h.engine,
		chain(
			json!({"id": "x", "type": "task", "config": {"task_type": "fail", "succeed_on_attempt": 4,
			"retry_attempts": 1, "retry_delay_seconds": 1}}),
		),
	)
	.await;
	let exec = h
		.engine
		.execute(ExecuteRequest {
			workflow_id: id,
			..Default::default()
		})
		.await
		.unwrap();
	assert_eq!(
		h.engine.wait(exec.id).await.unwrap().status,
		ExecutionStatus::Failed
	);
	h.engine.retry(exec.id).await.unwrap();
	let done = h.engine.wait(exec.id).await.unwrap();
	assert_eq!(done.status, ExecutionStatus::Completed, "{done:?}");
	let attempts = h.engine.store().attempts(exec.id).await.unwrap();
	assert_eq!(attempts.iter().filter(|a| a.component_id == "x").count(), 4);
}

#[tokio::test(start_paused = true)]
async fn a_breakpoint_before_a_delay_pauses_it_and_the_delay_waits_after_the_resume() {
	let h = harness(EngineConfig::default()).await;
	let id = create(
		&h.engine,
		json!({
			"components": [{"id": "start", "type": "start"},
				{"id": "wait", "type": "delay", "config": {"seconds": 0.2}},
				{"id": "end", "type": "end"}],
			"connections": [{"source": "start", "target": "wait"}, {"source": "wait", "target": "end"}]
		}),
	)
	.await;
	let mut events = h.engine.subscribe();
	let exec = h
		.engine
		.execute(ExecuteRequest {
			workflow_id: id,
			breakpoints: vec!["wait".into()],
			..Default::default()
		})
		.await
		.unwrap();
	loop {
		let event = tokio::time::timeout(Duration::from_secs(5), events.recv())
			.await
			.unwrap()
			.unwrap();
		if let apg_core::EventKind::Paused { component_id } = &event.kind {
			assert_eq!(component_id, "wait");
			break;
		}
	}
	let held = h.engine.held(exec.id).await.unwrap();
	assert_eq!(held, Some(vec!["wait".to_owned()]));
	let steps = statuses(&h.engine, &exec).await;
	assert_eq!(steps["wait"], ComponentStatus::Running, "{steps:?}");
	tokio::time::sleep(Duration::from_millis(400)).await;
	let steps = statuses(&h.engine, &exec).await;
	assert_ne!(
		steps.get("end"),
		Some(&ComponentStatus::Completed),
		"the delay ran past its breakpoint"
	);
	h.engine.resume(exec.id, false).await.unwrap();
	let done = h.engine.wait(exec.id).await.unwrap();
	assert_eq!(done.status, ExecutionStatus::Completed);
	let wait = h
		.engine
		.store()
		.steps(exec.id)
		.await
		.unwrap()
		.into_iter()
		.find(|s| s.component_id == "wait")
		.unwrap();
	assert!(wait.duration_ms.unwrap_or_default() >= 200, "{wait:?}");
}
