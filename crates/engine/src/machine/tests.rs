//! The rules through [`apply`] alone: no runtime, no clock, no store. Each test drives one
//! execution with commands at chosen times and looks at its state, its writes and its actions,
//! as the driver would.

use std::sync::Arc;

use apg_core::{
	ComponentError, ComponentStatus, Definition, Execution, ExecutionId, ExecutionStatus, Outcome,
	Priority, WorkflowId, Write,
};
use serde_json::{Map, Value, json};

use super::{Action, Command, Effects, Refusal, apply};
use crate::graph::Compiled;
use crate::phase::Phase;
use crate::state::ExecutionState;

/// A fresh execution of `definition` (components and connections), with `breakpoints`.
pub(super) fn state(definition: Value, breakpoints: &[&str]) -> ExecutionState {
	let (definition, issues) = Definition::parse(&definition);
	assert!(issues.is_empty(), "{issues:?}");
	let compiled = Compiled::new(&definition, &apg_components::builtins()).expect("valid");
	let exec = Execution {
		id: ExecutionId::new(),
		workflow_id: WorkflowId::new(),
		workflow_version: 1,
		status: ExecutionStatus::Pending,
		priority: Priority::DEFAULT,
		parameters: Map::new(),
		vars: Map::new(),
		results: None,
		error_message: None,
		breakpoints: breakpoints.iter().map(|b| (*b).to_owned()).collect(),
		idempotency_key: None,
		started_by: None,
		rerun_of: None,
		parent: None,
		created_at: 0,
		started_at: None,
		completed_at: None,
	};
	ExecutionState::new(exec, Arc::new(compiled))
}

pub(super) fn node(st: &ExecutionState, id: &str) -> usize {
	st.wf.index[id]
}

pub(super) fn status(st: &ExecutionState, id: &str) -> ComponentStatus {
	st.steps[node(st, id)].status
}

pub(super) fn runs(fx: &Effects) -> Vec<usize> {
	fx.actions
		.iter()
		.filter_map(|a| match a {
			Action::Run { node } => Some(*node),
			_ => None,
		})
		.collect()
}

pub(super) fn timers(fx: &Effects) -> Vec<(usize, i64)> {
	fx.actions
		.iter()
		.filter_map(|a| match a {
			Action::Timer { node, at } => Some((*node, *at)),
			_ => None,
		})
		.collect()
}

/// Begins and finishes one attempt of `id` at `now` with `result`.
pub(super) fn attempt(
	st: &mut ExecutionState,
	id: &str,
	result: Result<Outcome, ComponentError>,
	now: i64,
) -> Effects {
	let node = node(st, id);
	let mut fx = apply(st, Command::Begin { node }, now).expect("ready");
	let attempt = st.steps[node].attempt;
	let finish = Command::Finish {
		node,
		attempt,
		result,
		started: now,
	};
	fx.extend(apply(st, finish, now + 5).expect("applies"));
	fx
}

pub(super) fn ok(output: Value) -> Result<Outcome, ComponentError> {
	Ok(Outcome::output(output))
}

pub(super) fn task(id: &str, extra: Value) -> Value {
	let mut c = json!({"id": id, "type": "task", "config": {"task_type": "noop"}});
	for (k, v) in extra.as_object().unwrap() {
		c["config"][k] = v.clone();
	}
	c
}

/// start → a → end.
pub(super) fn chain(a: Value) -> Value {
	json!({
		"components": [{"id": "start", "type": "start"}, a, {"id": "end", "type": "end"}],
		"connections": [{"source": "start", "target": "a"}, {"source": "a", "target": "end"}]
	})
}

#[test]
fn a_chain_runs_in_order_and_completes_with_the_sink_output() {
	let mut st = state(chain(task("a", json!({}))), &[]);
	let fx = apply(&mut st, Command::Start, 0).unwrap();
	assert_eq!(st.exec.status, ExecutionStatus::Queued);
	assert_eq!(runs(&fx), vec![node(&st, "start")]);
	let fx = attempt(&mut st, "start", ok(json!({"p": 1})), 10);
	assert_eq!(st.exec.status, ExecutionStatus::Running);
	assert_eq!(runs(&fx), vec![node(&st, "a")]);
	assert_eq!(st.steps[node(&st, "a")].input, Some(json!({"p": 1})));
	attempt(&mut st, "a", ok(json!("A")), 20);
	let fx = attempt(&mut st, "end", ok(json!("E")), 30);
	assert_eq!(st.exec.status, ExecutionStatus::Completed);
	assert!(fx.actions.contains(&Action::Finished));
	assert_eq!(st.exec.results, Some(json!({"end": "E"})));
	// Every transition's writes include the execution record when its status changed.
	assert!(fx.writes.iter().any(|w| matches!(w, Write::Execution(_))));
}

#[test]
fn a_retryable_failure_waits_its_back_off_and_the_last_one_fails_the_execution() {
	let a = task(
		"a",
		json!({"retry_attempts": 2, "retry_delay_seconds": 2, "retry_backoff": "exponential"}),
	);
	let mut st = state(chain(a), &[]);
	apply(&mut st, Command::Start, 0).unwrap();
	attempt(&mut st, "start", ok(json!({})), 0);
	let a = node(&st, "a");
	let retry = || Err(ComponentError::Retryable("flaky".to_owned()));
	// Attempt 1 fails at 105: retry in 2 s; attempt 2 fails at 2105 + 5: retry in 4 s.
	let fx = attempt(&mut st, "a", retry(), 100);
	assert_eq!(status(&st, "a"), ComponentStatus::Retrying);
	assert_eq!(timers(&fx), vec![(a, 105 + 2000)]);
	assert_eq!(
		apply(&mut st, Command::Begin { node: a }, 1000).err(),
		Some(Refusal::NotReady),
		"a retrying component cannot begin before its timer"
	);
	let fx = apply(&mut st, Command::TimerFired { node: a }, 2105).unwrap();
	assert_eq!(runs(&fx), vec![a]);
	let fx = attempt(&mut st, "a", retry(), 2105);
	assert_eq!(timers(&fx), vec![(a, 2110 + 4000)]);
	apply(&mut st, Command::TimerFired { node: a }, 6110).unwrap();
	attempt(&mut st, "a", retry(), 6110);
	assert_eq!(status(&st, "a"), ComponentStatus::Failed);
	assert_eq!(st.steps[a].attempt, 3);
	assert_eq!(st.exec.status, ExecutionStatus::Failed);
	assert!(
		st.exec
			.error_message
			.as_deref()
			.unwrap()
			.contains("failed after 3 attempts"),
		"{:?}",
		st.exec.error_message
	);
	assert_eq!(status(&st, "end"), ComponentStatus::Cancelled);
}

#[test]
fn jittered_retries_spread_across_executions_and_stay_in_range() {
	let config = json!({
		"retry_attempts": 1, "retry_delay_seconds": 10, "retry_jitter": 0.5,
		"retry_max_delay_seconds": 8
	});
	// The delay of the first retry of a fresh execution with id `id` (a new one when None).
	let first_retry = |id: Option<ExecutionId>| {
		let mut st = state(chain(task("a", config.clone())), &[]);
		if let Some(id) = id {
			st.exec.id = id;
		}
		apply(&mut st, Command::Start, 0).unwrap();
		attempt(&mut st, "start", ok(json!({})), 0);
		let retry = Err(ComponentError::Retryable("flaky".to_owned()));
		let fx = attempt(&mut st, "a", retry, 100);
		(st.exec.id, timers(&fx)[0].1 - 105)
	};
	let mut delays = Vec::new();
	for _ in 0..20 {
		let (id, delay) = first_retry(None);
		// The same execution, built again (a restart), waits the same.
		assert_eq!(first_retry(Some(id)).1, delay);
		delays.push(delay);
	}
	// Capped at 8 s, then up to half of it taken off.
	assert!(
		delays.iter().all(|d| (4000..=8000).contains(d)),
		"{delays:?}"
	);
	delays.sort_unstable();
	delays.dedup();
	assert!(delays.len() > 10, "20 executions spread out: {delays:?}");
}

#[test]
fn a_config_sees_the_number_of_its_attempt_and_the_execution() {
	let a = task(
		"a",
		json!({"task_type": "echo", "message": "try {{ attempt }} of {{ execution.id }}",
			"retry_attempts": 1, "retry_delay_seconds": 1}),
	);
	let mut st = state(chain(a), &[]);
	apply(&mut st, Command::Start, 0).unwrap();
	attempt(&mut st, "start", ok(json!({})), 0);
	let a = node(&st, "a");
	let id = st.exec.id;
	let config = crate::context::prepare(&mut st, a).unwrap();
	assert_eq!(config["message"], format!("try 1 of {id}"));
	attempt(
		&mut st,
		"a",
		Err(ComponentError::Retryable("flaky".to_owned())),
		10,
	);
	apply(&mut st, Command::TimerFired { node: a }, 1015).unwrap();
	let config = crate::context::prepare(&mut st, a).unwrap();
	assert_eq!(config["message"], format!("try 2 of {id}"));
}

#[test]
fn a_fatal_error_is_not_retried_and_takes_the_failure_edge() {
	let mut st = state(
		json!({
			"components": [{"id": "start", "type": "start"}, task("a", json!({"retry_attempts": 3})),
				task("ok", json!({})), task("handler", json!({})), task("cleanup", json!({}))],
			"connections": [{"source": "start", "target": "a"},
				{"source": "a", "target": "ok"},
				{"source": "a", "target": "handler", "type": "failure"},
				{"source": "a", "target": "cleanup", "type": "always"}]
		}),
		&[],
	);
	apply(&mut st, Command::Start, 0).unwrap();
	attempt(&mut st, "start", ok(json!({})), 0);
	let fx = attempt(
		&mut st,
		"a",
		Err(ComponentError::Fatal("bad input".to_owned())),
		10,
	);
	assert_eq!(st.steps[node(&st, "a")].attempt, 1);
	let mut ready = runs(&fx);
	ready.sort_unstable();
	assert_eq!(ready, vec![node(&st, "handler"), node(&st, "cleanup")]);
	assert_eq!(status(&st, "ok"), ComponentStatus::Skipped);
	attempt(&mut st, "handler", ok(json!("handled")), 20);
	attempt(&mut st, "cleanup", ok(json!("clean")), 20);
	// A handled failure does not fail the execution.
	assert_eq!(st.exec.status, ExecutionStatus::Completed);
}

#[test]
fn dead_paths_are_skipped_and_join_any_runs_on_the_first_taken() {
	let diamond = |join: &str| {
		json!({
			"components": [{"id": "start", "type": "start"},
				{"id": "check", "type": "condition", "config": {"expression": "{{ false }}"}},
				task("yes", json!({})), task("no", json!({})),
				task("after_yes", json!({})),
				{"id": "join", "type": "task", "config": {"task_type": "noop", "join": join}}],
			"connections": [{"source": "start", "target": "check"},
				{"source": "check", "target": "yes", "branch": "true"},
				{"source": "check", "target": "no", "branch": "false"},
				{"source": "yes", "target": "after_yes"},
				{"source": "after_yes", "target": "join"},
				{"source": "no", "target": "join"}]
		})
	};
	for join in ["all", "any"] {
		let mut st = state(diamond(join), &[]);
		apply(&mut st, Command::Start, 0).unwrap();
		attempt(&mut st, "start", ok(json!({})), 0);
		let branch = Ok(Outcome {
			output: json!({}),
			branch: Some("false".to_owned()),
			..Outcome::default()
		});
		attempt(&mut st, "check", branch, 10);
		// The whole `yes` path is skipped, iteratively, before `no` even runs.
		assert_eq!(status(&st, "yes"), ComponentStatus::Skipped, "{join}");
		assert_eq!(status(&st, "after_yes"), ComponentStatus::Skipped, "{join}");
		let fx = attempt(&mut st, "no", ok(json!("n")), 20);
		assert_eq!(runs(&fx), vec![node(&st, "join")], "{join}");
		attempt(&mut st, "join", ok(json!("j")), 30);
		assert_eq!(st.exec.status, ExecutionStatus::Completed, "{join}");
	}
}

#[test]
fn join_all_waits_for_every_branch_and_join_any_does_not() {
	let fan = |join: &str| {
		json!({
			"components": [{"id": "start", "type": "start"}, task("l", json!({})),
				task("r", json!({})),
				{"id": "join", "type": "task", "config": {"task_type": "noop", "join": join}}],
			"connections": [{"source": "start", "target": "l"}, {"source": "start", "target": "r"},
				{"source": "l", "target": "join"}, {"source": "r", "target": "join"}]
		})
	};
	let mut all = state(fan("all"), &[]);
	apply(&mut all, Command::Start, 0).unwrap();
	attempt(&mut all, "start", ok(json!({})), 0);
	let fx = attempt(&mut all, "l", ok(json!("L")), 10);
	assert!(runs(&fx).is_empty(), "join all ran with one branch open");
	let fx = attempt(&mut all, "r", ok(json!("R")), 20);
	assert_eq!(runs(&fx), vec![node(&all, "join")]);
	assert_eq!(
		all.steps[node(&all, "join")].input,
		Some(json!({"l": "L", "r": "R"}))
	);
	let mut any = state(fan("any"), &[]);
	apply(&mut any, Command::Start, 0).unwrap();
	attempt(&mut any, "start", ok(json!({})), 0);
	let fx = attempt(&mut any, "l", ok(json!("L")), 10);
	assert_eq!(runs(&fx), vec![node(&any, "join")]);
}

#[test]
fn cancel_applies_in_every_open_state_and_is_refused_once_ended() {
	// Queued, running, retrying, paused.
	for stage in ["queued", "running", "retrying", "paused"] {
		let a = task("a", json!({"retry_attempts": 1}));
		let breakpoints: &[&str] = if stage == "paused" { &["a"] } else { &[] };
		let mut st = state(chain(a), breakpoints);
		apply(&mut st, Command::Start, 0).unwrap();
		let a = node(&st, "a");
		if stage != "queued" {
			attempt(&mut st, "start", ok(json!({})), 0);
		}
		match stage {
			"running" => {
				apply(&mut st, Command::Begin { node: a }, 10).unwrap();
			}
			"retrying" => {
				attempt(&mut st, "a", Err(ComponentError::Retryable("x".into())), 10);
			}
			"paused" => {
				apply(&mut st, Command::Hold { node: a }, 10).unwrap();
				assert_eq!(st.exec.status, ExecutionStatus::Paused);
			}
			_ => {}
		}
		let fx = apply(&mut st, Command::Cancel, 50).unwrap();
		assert_eq!(st.exec.status, ExecutionStatus::Cancelled, "{stage}");
		assert!(fx.actions.contains(&Action::Finished), "{stage}");
		assert!(
			st.steps.iter().all(|s| s.status.is_terminal()),
			"{stage}: {:?}",
			st.steps.iter().map(|s| s.status).collect::<Vec<_>>()
		);
		assert_eq!(
			apply(&mut st, Command::Cancel, 60).err(),
			Some(Refusal::Ended)
		);
		// A late result of the cancelled attempt changes nothing.
		let late = Command::Finish {
			node: a,
			attempt: 1,
			result: ok(json!("late")),
			started: 10,
		};
		let fx = apply(&mut st, late, 70).unwrap();
		assert!(fx.writes.is_empty() && fx.actions.is_empty(), "{stage}");
		assert_eq!(st.exec.status, ExecutionStatus::Cancelled);
	}
}

#[test]
fn breakpoints_hold_a_component_until_resumed_and_step_holds_the_next() {
	let mut st = state(
		json!({
			"components": [{"id": "start", "type": "start"}, task("a", json!({})),
				task("b", json!({})), {"id": "end", "type": "end"}],
			"connections": [{"source": "start", "target": "a"}, {"source": "a", "target": "b"},
				{"source": "b", "target": "end"}]
		}),
		&["a"],
	);
	apply(&mut st, Command::Start, 0).unwrap();
	attempt(&mut st, "start", ok(json!({})), 0);
	let a = node(&st, "a");
	assert!(super::at_breakpoint(&st, a));
	apply(&mut st, Command::Hold { node: a }, 10).unwrap();
	assert_eq!(st.exec.status, ExecutionStatus::Paused);
	assert_eq!(st.held, vec![a]);
	assert_eq!(
		apply(&mut st, Command::SetBreakpoints(vec!["ghost".into()]), 11).err(),
		Some(Refusal::UnknownComponent("ghost".into()))
	);
	let fx = apply(&mut st, Command::Resume { step: true }, 20).unwrap();
	assert_eq!(runs(&fx), vec![a]);
	assert!(!super::at_breakpoint(&st, a), "released");
	assert_eq!(st.exec.status, ExecutionStatus::Running);
	attempt(&mut st, "a", ok(json!("A")), 30);
	// Stepping: the next component is held too.
	let b = node(&st, "b");
	assert!(super::at_breakpoint(&st, b));
	apply(&mut st, Command::Hold { node: b }, 40).unwrap();
	assert_eq!(
		apply(&mut st, Command::Resume { step: false }, 50).map(|fx| runs(&fx)),
		Ok(vec![b])
	);
	assert_eq!(
		apply(&mut st, Command::Resume { step: false }, 60).err(),
		Some(Refusal::NotPaused)
	);
	attempt(&mut st, "b", ok(json!("B")), 70);
	assert!(!super::at_breakpoint(&st, node(&st, "end")));
	attempt(&mut st, "end", ok(json!("E")), 80);
	assert_eq!(st.exec.status, ExecutionStatus::Completed);
}

#[test]
fn a_delay_at_a_breakpoint_waits_only_after_it_is_released() {
	let mut st = state(
		chain(json!({"id": "a", "type": "delay", "config": {"seconds": 3}})),
		&["a"],
	);
	apply(&mut st, Command::Start, 0).unwrap();
	let fx = attempt(&mut st, "start", ok(json!({"x": 1})), 0);
	let a = node(&st, "a");
	assert_eq!(
		runs(&fx),
		vec![a],
		"held delays go through the breakpoint check"
	);
	assert!(timers(&fx).is_empty());
	apply(&mut st, Command::Hold { node: a }, 10).unwrap();
	let fx = apply(&mut st, Command::Resume { step: false }, 1000).unwrap();
	assert_eq!(runs(&fx), vec![a]);
	let fx = apply(&mut st, Command::Arm { node: a }, 1000).unwrap();
	assert_eq!(timers(&fx), vec![(a, 4000)]);
	let fx = apply(&mut st, Command::TimerFired { node: a }, 4000).unwrap();
	assert_eq!(runs(&fx), vec![node(&st, "end")]);
	assert_eq!(st.steps[a].output, Some(json!({"x": 1})));
}

#[test]
fn retry_reopens_failed_components_and_keeps_completed_checkpoints() {
	let mut st = state(chain(task("a", json!({"retry_attempts": 0}))), &[]);
	assert_eq!(
		apply(&mut st, Command::Retry, 0).err(),
		Some(Refusal::NotRetryable(ExecutionStatus::Pending))
	);
	apply(&mut st, Command::Start, 0).unwrap();
	attempt(&mut st, "start", ok(json!({"p": 1})), 0);
	attempt(&mut st, "a", Err(ComponentError::Fatal("no".into())), 10);
	assert_eq!(st.exec.status, ExecutionStatus::Failed);
	let fx = apply(&mut st, Command::Retry, 100).unwrap();
	assert_eq!(st.exec.status, ExecutionStatus::Queued);
	assert_eq!(status(&st, "start"), ComponentStatus::Completed);
	assert_eq!(runs(&fx), vec![node(&st, "a")]);
	attempt(&mut st, "a", ok(json!("A")), 110);
	assert_eq!(
		st.steps[node(&st, "a")].attempt,
		2,
		"attempt numbers continue"
	);
	attempt(&mut st, "end", ok(json!("E")), 120);
	assert_eq!(st.exec.status, ExecutionStatus::Completed);
}

/// What the store would hold after the committed writes: the execution, each step's latest
/// record, each attempt's latest record.
#[derive(Default)]
pub(super) struct Stored {
	pub(super) exec: Option<Execution>,
	pub(super) steps: Vec<apg_core::StepRecord>,
	pub(super) attempts: Vec<apg_core::AttemptRecord>,
	/// Every component that completed, once per completed attempt.
	pub(super) completed: Vec<String>,
}

impl Stored {
	/// The attempts stored as running: after a crash, they were interrupted.
	pub(super) fn running_attempts(&self) -> Vec<(String, u32)> {
		self.attempts
			.iter()
			.filter(|a| a.status == ComponentStatus::Running)
			.map(|a| (a.component_id.clone(), a.attempt))
			.collect()
	}

	pub(super) fn commit(&mut self, writes: &[Write]) {
		for w in writes {
			match w {
				Write::Execution(e) => self.exec = Some((**e).clone()),
				Write::Step(s) => {
					self.steps.retain(|r| r.component_id != s.component_id);
					self.steps.push((**s).clone());
				}
				Write::Attempt(a) => {
					if a.status == ComponentStatus::Completed {
						self.completed.push(a.component_id.clone());
					}
					self.attempts
						.retain(|r| (&r.component_id, r.attempt) != (&a.component_id, a.attempt));
					self.attempts.push(a.clone());
				}
				_ => {}
			}
		}
	}
}

/// Drives `st` as the driver would, committing every transition's writes to `stored` before
/// acting on it, for at most `budget` transitions; whether the execution finished.
fn drive(
	st: &mut ExecutionState,
	first: Effects,
	stored: &mut Stored,
	budget: usize,
	now: &mut i64,
) -> bool {
	let succeed = |id: &str, _attempt: u32| ok(json!(format!("out of {id}")));
	drive_with(st, first, stored, budget, now, &succeed)
}

/// [`drive`] with each attempt's result from `outcome(component id, attempt)`.
pub(super) fn drive_with(
	st: &mut ExecutionState,
	first: Effects,
	stored: &mut Stored,
	budget: usize,
	now: &mut i64,
	outcome: &dyn Fn(&str, u32) -> Result<Outcome, ComponentError>,
) -> bool {
	let mut queue: std::collections::VecDeque<Action> = Default::default();
	stored.commit(&first.writes);
	queue.extend(first.actions);
	for _ in 0..budget {
		let Some(action) = queue.pop_front() else {
			return false;
		};
		*now += 10;
		let fx = match action {
			Action::Finished => return true,
			// These definitions have no children.
			Action::Spawn { .. } | Action::Launch { .. } | Action::CancelChild { .. } => continue,
			Action::Timer { node, at } => {
				*now = (*now).max(at);
				apply(st, Command::TimerFired { node }, *now)
			}
			Action::Run { node } if st.wf.nodes[node].durable => {
				apply(st, Command::Arm { node }, *now)
			}
			Action::Run { node } => {
				let Ok(begun) = apply(st, Command::Begin { node }, *now) else {
					continue;
				};
				stored.commit(&begun.writes);
				let attempt = st.steps[node].attempt;
				let finish = Command::Finish {
					node,
					attempt,
					result: outcome(&st.wf.nodes[node].id, attempt),
					started: *now,
				};
				apply(st, finish, *now + 1)
			}
		};
		if let Ok(fx) = fx {
			stored.commit(&fx.writes);
			queue.extend(fx.actions);
		}
		assert_records_match_phases(st);
	}
	false
}

/// The open count matches the phases, and every record says what its phase is, as far as the
/// stored form can: read back, it gives the same phase (a running attempt reads back as ready,
/// which is how it is recovered).
fn assert_records_match_phases(st: &ExecutionState) {
	let open = st.phases.iter().filter(|p| p.is_open()).count();
	assert_eq!(st.open, open, "the open count drifted from the phases");
	for (node, phase) in st.phases.iter().enumerate() {
		let back = Phase::of_record(&st.steps[node], st.wf.nodes[node].durable);
		let expected = if *phase == Phase::Running {
			Phase::Ready
		} else {
			*phase
		};
		assert_eq!(
			back, expected,
			"{}: {:?}",
			st.wf.nodes[node].id, st.steps[node]
		);
	}
}

#[test]
fn a_crash_between_any_two_commits_loses_nothing_and_repeats_no_completed_component() {
	let definition = json!({
		"components": [{"id": "start", "type": "start"}, task("a", json!({})),
			task("b", json!({})), {"id": "wait", "type": "delay", "config": {"seconds": 1}},
			task("c", json!({})), {"id": "end", "type": "end"}],
		"connections": [{"source": "start", "target": "a"}, {"source": "start", "target": "b"},
			{"source": "a", "target": "wait"}, {"source": "b", "target": "c"},
			{"source": "wait", "target": "end"}, {"source": "c", "target": "end"}]
	});
	for crash_after in 0..20 {
		let mut st = state(definition.clone(), &[]);
		let mut stored = Stored::default();
		let mut now = 0;
		let fx = apply(&mut st, Command::Start, now).unwrap();
		if drive(&mut st, fx, &mut stored, crash_after, &mut now) {
			continue;
		}
		// The process dies: only what was committed survives. Rebuild and continue (an
		// execution stored as ended is not resumed: it is done).
		let exec = stored.exec.clone().expect("the start is committed first");
		if exec.status.is_terminal() {
			assert_eq!(exec.status, ExecutionStatus::Completed);
			continue;
		}
		let mut st = crate::recovery::rebuild(exec, Arc::clone(&st.wf), stored.steps.clone());
		let interrupted = stored.running_attempts();
		now += 5000;
		let fx = apply(&mut st, Command::Recover { interrupted }, now).unwrap();
		let finished = drive(&mut st, fx, &mut stored, 100, &mut now);
		assert!(
			finished,
			"crash after {crash_after}: did not finish: {:?} {:?}",
			st.exec.status,
			st.steps
				.iter()
				.map(|s| (&s.component_id, s.status, s.run_at))
				.collect::<Vec<_>>()
		);
		assert_eq!(
			st.exec.status,
			ExecutionStatus::Completed,
			"crash after {crash_after}"
		);
		let mut completed = stored.completed.clone();
		completed.sort();
		assert_eq!(
			completed,
			["a", "b", "c", "end", "start", "wait"],
			"crash after {crash_after}: a component completed twice or never"
		);
	}
}
