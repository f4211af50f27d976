//! Properties of the machine over random workflows (proptest): random DAGs of tasks with
//! success, failure and always connections, each task failing in its own way (never, fatally,
//! retryably once, retryably always). For each: the execution terminates, every component ends,
//! none completes twice; and a crash after any number of transitions, followed by a rebuild
//! from the committed writes alone and a recovery, ends in the same status and repeats no
//! completed component.

use std::sync::Arc;

use apg_core::{ComponentError, ExecutionStatus, Outcome};
use proptest::prelude::*;
use serde_json::{Value, json};

use super::tests::{Stored, drive_with, state};
use super::{Command, apply};

/// How a task behaves, by attempt.
#[derive(Clone, Copy, Debug)]
enum Behaviour {
	Succeeds,
	FailsFatally,
	FailsOnceThenSucceeds,
	AlwaysFailsRetryably,
}

impl Behaviour {
	fn result(self, attempt: u32) -> Result<Outcome, ComponentError> {
		let ok = || Ok(Outcome::output(json!({"attempt": attempt})));
		match self {
			Self::Succeeds => ok(),
			Self::FailsFatally => Err(ComponentError::Fatal("bad".into())),
			Self::FailsOnceThenSucceeds if attempt >= 2 => ok(),
			Self::FailsOnceThenSucceeds | Self::AlwaysFailsRetryably => {
				Err(ComponentError::Retryable("flaky".into()))
			}
		}
	}
}

/// A random DAG: node 0 is the start; each later node has one or two incoming connections from
/// earlier nodes, each `success` (mostly), `failure` or `always`.
fn dag() -> impl Strategy<Value = (Value, Vec<Behaviour>)> {
	(2usize..9).prop_flat_map(|n| {
		let edges = proptest::collection::vec(
			(
				any::<prop::sample::Index>(),
				0u8..10,
				any::<bool>(),
				0u8..10,
			),
			n - 1,
		);
		let behaviours = proptest::collection::vec(
			prop_oneof![
				6 => Just(Behaviour::Succeeds),
				1 => Just(Behaviour::FailsFatally),
				2 => Just(Behaviour::FailsOnceThenSucceeds),
				1 => Just(Behaviour::AlwaysFailsRetryably),
			],
			n,
		);
		(Just(n), edges, behaviours).prop_map(|(n, edges, behaviours)| {
			let kind = |k: u8| match k {
				0 => "failure",
				1 => "always",
				_ => "success",
			};
			let mut components = vec![json!({"id": "n0", "type": "start"})];
			let mut connections = Vec::new();
			for (i, (from, k, second, k2)) in edges.into_iter().enumerate() {
				let node = i + 1;
				components.push(json!({"id": format!("n{node}"), "type": "task", "config": {
					"task_type": "noop", "retry_attempts": 1, "retry_delay_seconds": 1}}));
				let a = from.index(node);
				connections.push(
					json!({"source": format!("n{a}"), "target": format!("n{node}"),
					"type": kind(k)}),
				);
				if second && node > 1 {
					let b = (a + 1) % node;
					connections.push(json!({"source": format!("n{b}"),
						"target": format!("n{node}"), "type": kind(k2)}));
				}
			}
			(
				json!({"components": components, "connections": connections}),
				behaviours.into_iter().take(n).collect(),
			)
		})
	})
}

/// Runs `definition` to its end, crashing after `crash` transitions when given; the stored
/// writes and the final status.
fn run(
	definition: &Value,
	behaviours: &[Behaviour],
	crash: Option<usize>,
) -> (Stored, ExecutionStatus) {
	let outcome = |id: &str, attempt: u32| {
		let i: usize = id[1..].parse().expect("n<i>");
		behaviours[i].result(attempt)
	};
	let mut st = state(definition.clone(), &[]);
	let mut stored = Stored::default();
	let mut now = 0;
	let fx = apply(&mut st, Command::Start, now).expect("starts");
	let budget = crash.unwrap_or(10_000);
	if !drive_with(&mut st, fx, &mut stored, budget, &mut now, &outcome) {
		assert!(crash.is_some(), "did not finish without a crash");
		let exec = stored.exec.clone().expect("the start is committed first");
		if !exec.status.is_terminal() {
			let mut rebuilt =
				crate::recovery::rebuild(exec, Arc::clone(&st.wf), stored.steps.clone());
			let interrupted = stored.running_attempts();
			now += 10_000;
			let fx = apply(&mut rebuilt, Command::Recover { interrupted }, now).expect("recovers");
			assert!(
				drive_with(&mut rebuilt, fx, &mut stored, 10_000, &mut now, &outcome),
				"did not finish after the crash"
			);
			st = rebuilt;
		}
	}
	let status = stored.exec.as_ref().map(|e| e.status).expect("stored");
	assert_eq!(status, st.exec.status);
	(stored, status)
}

proptest! {
	#![proptest_config(ProptestConfig { cases: 200, failure_persistence: None,
		..ProptestConfig::default() })]

	#[test]
	fn every_execution_ends_and_a_crash_anywhere_changes_nothing(
		(definition, behaviours) in dag(),
		crash in 0usize..40,
	) {
		let (clean, status) = run(&definition, &behaviours, None);
		prop_assert!(status.is_terminal());
		prop_assert!(clean.steps.iter().all(|s| s.status.is_terminal()), "{:?}", clean.steps);
		let mut completed = clean.completed.clone();
		completed.sort();
		let unique = completed.len();
		completed.dedup();
		prop_assert_eq!(unique, completed.len(), "a component completed twice");
		let (crashed, crashed_status) = run(&definition, &behaviours, Some(crash));
		prop_assert_eq!(crashed_status, status);
		let mut again = crashed.completed.clone();
		again.sort();
		let unique = again.len();
		again.dedup();
		prop_assert_eq!(unique, again.len(), "a component completed twice after the crash");
		// Which siblings of a failed branch completed before the failure cancelled them depends
		// on the order independent branches finish in; the outcome does not.
		prop_assert!(crashed.steps.iter().all(|s| s.status.is_terminal()), "{:?}", crashed.steps);
	}
}
