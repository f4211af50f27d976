//! A real process killed with SIGKILL in the middle of 200 executions, then started again on the
//! same data dir: every execution completes, no completed component runs again, and the number of
//! executions does not change.

use std::collections::HashMap;
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use apg_core::{ComponentStatus, ExecutionFilter, ExecutionStatus, StepRecord, Store};
use apg_store::{SqliteStore, Synchronous};
use serde_json::json;

use crate::util::{bin, text};

async fn snapshot(store: &dyn Store) -> (Vec<apg_core::Execution>, HashMap<String, StepRecord>) {
	let executions = store
		.list_executions(&ExecutionFilter::default())
		.await
		.unwrap();
	let mut steps = HashMap::new();
	for e in &executions {
		for s in store.steps(e.id).await.unwrap() {
			steps.insert(format!("{}/{}", e.id, s.component_id), s);
		}
	}
	(executions, steps)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_sigkill_mid_run_loses_nothing_and_reruns_no_completed_component() {
	let dir = tempfile::tempdir().unwrap();
	let data = dir.path().join("data");
	let file = dir.path().join("crash.json");
	let definition = json!({"name": "crash test", "definition": {
	"components": [
		{"id": "start", "type": "start"},
		{"id": "before", "type": "task", "config": {"task_type": "noop"}},
		{"id": "wait", "type": "delay", "config": {"seconds": 2}},
		{"id": "after", "type": "task", "config": {"task_type": "noop"}},
		{"id": "end", "type": "end"}
	],
	"connections": [
		{"source": "start", "target": "before"}, {"source": "before", "target": "wait"},
		{"source": "wait", "target": "after"}, {"source": "after", "target": "end"}
	]}});
	std::fs::write(&file, definition.to_string()).unwrap();
	let mut child = bin()
		.args([
			"run",
			"-q",
			"--count",
			"200",
			"--data-dir",
			data.to_str().unwrap(),
			file.to_str().unwrap(),
		])
		.stdout(Stdio::null())
		.stderr(Stdio::null())
		.spawn()
		.unwrap();

	// Wait until all 200 are in flight, mid-delay.
	let db = data.join("apg.db");
	let began = Instant::now();
	let store = loop {
		assert!(
			began.elapsed() < Duration::from_secs(30),
			"the executions never started"
		);
		tokio::time::sleep(Duration::from_millis(50)).await;
		if !db.exists() {
			continue;
		}
		let Ok(store) = SqliteStore::open(&db, Synchronous::Normal).await else {
			continue;
		};
		if store.count_executions().await.unwrap_or(0) == 200 {
			break store;
		}
	};
	tokio::time::sleep(Duration::from_millis(500)).await;
	child.kill().unwrap(); // SIGKILL
	child.wait().unwrap();

	let (before, steps_before) = snapshot(&store).await;
	assert_eq!(before.len(), 200);
	let unfinished = before.iter().filter(|e| !e.status.is_terminal()).count();
	assert!(unfinished > 0, "the kill came too late to test anything");
	let completed_before: HashMap<&String, &StepRecord> = steps_before
		.iter()
		.filter(|(_, s)| s.status == ComponentStatus::Completed)
		.collect();
	assert!(!completed_before.is_empty());
	drop(store);

	let restarted = apg_core::now_millis();
	let out = bin()
		.args(["resume", "--data-dir", data.to_str().unwrap()])
		.output()
		.unwrap();
	assert!(out.status.success(), "{}", text(&out));

	let store: Arc<dyn Store> =
		Arc::new(SqliteStore::open(&db, Synchronous::Normal).await.unwrap());
	let (after, steps_after) = snapshot(&*store).await;
	assert_eq!(after.len(), 200, "the execution count is unchanged");
	assert!(
		after.iter().all(|e| e.status == ExecutionStatus::Completed),
		"every execution completed"
	);
	for (key, step) in &completed_before {
		assert_eq!(
			steps_after.get(*key),
			Some(*step),
			"{key} completed before the kill and ran again"
		);
	}
	for e in &after {
		let attempts = store.attempts(e.id).await.unwrap();
		let mut completions = HashMap::new();
		for a in attempts
			.iter()
			.filter(|a| a.status == ComponentStatus::Completed)
		{
			*completions.entry(a.component_id.clone()).or_insert(0) += 1;
		}
		assert_eq!(completions.len(), 5, "{completions:?}");
		assert!(
			completions.values().all(|&n| n == 1),
			"a component completed twice: {completions:?}"
		);
		// The delay kept its deadline: it fired at the deadline set before the kill (or at once
		// when the restart came after it), not two seconds after the restart. The bound leaves
		// room for a slow start on a busy machine, below the two seconds a re-armed timer takes.
		let wait = &steps_after[&format!("{}/wait", e.id)];
		if let Some(deadline) = steps_before[&format!("{}/wait", e.id)].run_at {
			let fired = wait.completed_at.unwrap();
			let due = deadline.max(restarted);
			assert!(
				fired >= deadline && fired < due + 1_500,
				"deadline {deadline}, restarted {restarted}, fired {fired}"
			);
		}
	}
}
