//! The cost of one transition of the machine alone (`machine::apply`), with no runtime, store
//! or clock: a start, and one attempt (begin + finish) of a component in a chain. Criterion's
//! figures are per transition, so a regression in the rules shows here rather than drowning in
//! commit times (for instruction counts: `valgrind --tool=callgrind` on this bench).

#![allow(
	missing_docs,
	reason = "criterion's macros generate undocumented functions"
)]

use std::sync::Arc;

use apg_core::{
	Definition, Execution, ExecutionId, ExecutionStatus, Outcome, Priority, WorkflowId,
};
use apg_engine::machine::{Command, apply};
use apg_engine::{Compiled, ExecutionState};
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use serde_json::{Map, json};

fn execution() -> Execution {
	Execution {
		id: ExecutionId::new(),
		workflow_id: WorkflowId::new(),
		workflow_version: 1,
		status: ExecutionStatus::Pending,
		priority: Priority::DEFAULT,
		parameters: Map::new(),
		vars: Map::new(),
		results: None,
		error_message: None,
		breakpoints: Vec::new(),
		idempotency_key: None,
		started_by: None,
		rerun_of: None,
		parent: None,
		created_at: 0,
		started_at: None,
		completed_at: None,
	}
}

/// Begins and finishes the next attempt of component `node` at `now`.
fn attempt(st: &mut ExecutionState, node: usize, now: i64) {
	apply(st, Command::Begin { node }, now).expect("ready");
	let finish = Command::Finish {
		node,
		attempt: 1,
		result: Ok(Outcome::output(json!({"n": 1}))),
		started: now,
	};
	apply(st, finish, now + 1).expect("applies");
}

fn transitions(c: &mut Criterion) {
	let task = |id: &str| json!({"id": id, "type": "task", "config": {"task_type": "noop"}});
	let (definition, issues) = Definition::parse(&json!({
		"components": [{"id": "start", "type": "start"}, task("a"), task("b"), task("c"),
			{"id": "end", "type": "end"}],
		"connections": [{"source": "start", "target": "a"}, {"source": "a", "target": "b"},
			{"source": "b", "target": "c"}, {"source": "c", "target": "end"}]
	}));
	assert!(issues.is_empty());
	let compiled = Arc::new(
		Compiled::new(&definition, &apg_components::builtins()).expect("a valid definition"),
	);
	let (start, a) = (compiled.index["start"], compiled.index["a"]);
	let fresh = || ExecutionState::new(execution(), Arc::clone(&compiled));
	let mut group = c.benchmark_group("machine");
	group.bench_function("start", |b| {
		b.iter_batched(
			fresh,
			|mut st| apply(&mut st, Command::Start, 0).expect("starts"),
			BatchSize::SmallInput,
		);
	});
	group.bench_function("one attempt (begin + finish)", |b| {
		b.iter_batched(
			|| {
				let mut st = fresh();
				apply(&mut st, Command::Start, 0).expect("starts");
				attempt(&mut st, start, 10);
				st
			},
			|mut st| {
				attempt(&mut st, a, 20);
				st
			},
			BatchSize::SmallInput,
		);
	});
	group.finish();
}

criterion_group!(benches, transitions);
criterion_main!(benches);
