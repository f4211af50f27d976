//! The rules of waits on the outside world through [`apply`] alone: decisions, rejections,
//! timeouts, signals that come early, and a rebuild that settles what was stored meanwhile.

use std::sync::Arc;

use apg_core::{
	ComponentStatus, Decision, ExecutionStatus, SignalId, SignalRecord, UserId, Verdict, Waiting,
	Write,
};
use serde_json::{Value, json};

use super::tests::{Stored, chain, node, ok, state, status, timers};
use super::{Command, Effects, apply};
use crate::phase::{Phase, Wait};
use crate::state::ExecutionState;

fn approval(extra: Value) -> Value {
	let mut c = json!({"id": "a", "type": "approval", "config": {}});
	for (k, v) in extra.as_object().unwrap() {
		c["config"][k] = v.clone();
	}
	c
}

/// Starts `st` and completes its start, so the component after it is ready and armed.
fn started(st: &mut ExecutionState, stored: &mut Stored) -> Effects {
	let fx = apply(st, Command::Start, 0).unwrap();
	stored.commit(&fx.writes);
	let start = node(st, "start");
	let mut fx = apply(st, Command::Begin { node: start }, 1).unwrap();
	let finish = Command::Finish {
		node: start,
		attempt: 1,
		result: ok(json!({"order": 7})),
		started: 1,
	};
	// Finishing the start readies `a`, whose wait begins at once.
	fx.extend(apply(st, finish, 3).unwrap());
	stored.commit(&fx.writes);
	fx
}

fn decision(st: &ExecutionState, user: &str, verdict: Verdict, values: Value) -> Decision {
	let round = match &st.steps[node(st, "a")].waiting {
		Some(Waiting::Approval(r)) => r.round,
		_ => 1,
	};
	Decision {
		execution_id: st.exec.id,
		component_id: "a".to_owned(),
		round,
		user_id: UserId(uuid_of(user)),
		username: user.to_owned(),
		verdict,
		comment: None,
		values: values.as_object().cloned().unwrap_or_default(),
		decided_at: 10,
	}
}

/// A fixed id per name, so a user deciding twice is the same user.
fn uuid_of(name: &str) -> uuid::Uuid {
	let mut bytes = [0u8; 16];
	for (i, b) in name.bytes().enumerate().take(16) {
		bytes[i] = b;
	}
	uuid::Uuid::from_bytes(bytes)
}

fn signal(st: &ExecutionState, name: &str, key: Option<&str>, at: i64) -> SignalRecord {
	SignalRecord {
		id: SignalId::new(),
		execution_id: st.exec.id,
		name: name.to_owned(),
		key: key.map(str::to_owned),
		payload: json!({"paid": name}),
		sent_by: None,
		created_at: at,
		taken_by: None,
	}
}

#[test]
fn an_approval_waits_for_the_required_approvals_and_outputs_their_values() {
	let mut st = state(chain(approval(json!({"required": 2}))), &[]);
	let mut stored = Stored::default();
	started(&mut st, &mut stored);
	let a = node(&st, "a");
	assert_eq!(
		st.phases[a],
		Phase::Waiting(Wait::Approval { deadline: None })
	);
	assert_eq!(st.exec.status, ExecutionStatus::Running);
	let first = decision(&st, "alice", Verdict::Approve, json!({"ticket": "T-1"}));
	apply(&mut st, Command::Decided(first.clone()), 10).unwrap();
	assert_eq!(status(&st, "a"), ComponentStatus::Running, "one of two");
	// The same user's decision delivered again (a reload) counts once.
	apply(&mut st, Command::Decided(first), 11).unwrap();
	assert_eq!(status(&st, "a"), ComponentStatus::Running);
	let second = decision(&st, "bob", Verdict::Approve, json!({"note": "ok"}));
	apply(&mut st, Command::Decided(second), 12).unwrap();
	assert_eq!(status(&st, "a"), ComponentStatus::Completed);
	let out = st.steps[a].output.clone().unwrap();
	assert_eq!(out["approved"], json!(true));
	assert_eq!(out["values"], json!({"ticket": "T-1", "note": "ok"}));
	assert_eq!(out["decisions"].as_array().unwrap().len(), 2);
	assert_eq!(st.steps[a].waiting, None, "an ended step waits for nothing");
}

#[test]
fn one_rejection_fails_the_approval_and_takes_its_failure_edge() {
	let definition = json!({
		"components": [{"id": "start", "type": "start"}, approval(json!({"required": 2})),
			{"id": "end", "type": "end"}, {"id": "denied", "type": "end"}],
		"connections": [{"source": "start", "target": "a"}, {"source": "a", "target": "end"},
			{"source": "a", "target": "denied", "type": "failure"}]
	});
	let mut st = state(definition, &[]);
	let mut stored = Stored::default();
	started(&mut st, &mut stored);
	let mut no = decision(&st, "carol", Verdict::Reject, json!({}));
	no.comment = Some("not today".to_owned());
	apply(&mut st, Command::Decided(no), 10).unwrap();
	assert_eq!(status(&st, "a"), ComponentStatus::Failed);
	assert_eq!(
		st.steps[node(&st, "a")].error_message.as_deref(),
		Some("rejected by carol: not today")
	);
	assert_eq!(status(&st, "end"), ComponentStatus::Skipped);
	assert_eq!(
		status(&st, "denied"),
		ComponentStatus::Running,
		"the failure path runs"
	);
}

#[test]
fn a_timeout_takes_on_timeout_and_an_early_timer_does_nothing() {
	for (on_timeout, completed, error) in [
		("approve", true, None),
		(
			"reject",
			false,
			Some("rejected: nobody decided before the timeout"),
		),
		(
			"fail",
			false,
			Some("the approval timed out without enough decisions"),
		),
	] {
		let a = approval(json!({"timeout": 60, "on_timeout": on_timeout}));
		let mut st = state(chain(a), &[]);
		let mut stored = Stored::default();
		let fx = started(&mut st, &mut stored);
		let a = node(&st, "a");
		assert_eq!(timers(&fx), vec![(a, 60_003)]);
		apply(&mut st, Command::TimerFired { node: a }, 30_000).unwrap();
		assert_eq!(
			status(&st, "a"),
			ComponentStatus::Running,
			"{on_timeout}: early"
		);
		apply(&mut st, Command::TimerFired { node: a }, 60_003).unwrap();
		let expected = if completed {
			ComponentStatus::Completed
		} else {
			ComponentStatus::Failed
		};
		assert_eq!(status(&st, "a"), expected, "{on_timeout}");
		assert_eq!(st.steps[a].error_message.as_deref(), error, "{on_timeout}");
		if completed {
			assert_eq!(
				st.steps[a].output.as_ref().unwrap()["timed_out"],
				json!(true)
			);
		} else {
			assert_eq!(st.exec.status, ExecutionStatus::Failed);
		}
	}
}

#[test]
fn a_retry_asks_again_instead_of_reusing_the_last_rounds_decisions() {
	let mut st = state(chain(approval(json!({}))), &[]);
	let mut stored = Stored::default();
	started(&mut st, &mut stored);
	let no = decision(&st, "carol", Verdict::Reject, json!({}));
	apply(&mut st, Command::Decided(no), 10).unwrap();
	assert_eq!(st.exec.status, ExecutionStatus::Failed);
	apply(&mut st, Command::Retry, 20).unwrap();
	let a = node(&st, "a");
	assert_eq!(status(&st, "a"), ComponentStatus::Running, "waits again");
	let Some(Waiting::Approval(request)) = &st.steps[a].waiting else {
		panic!("not waiting for an approval");
	};
	assert_eq!(request.round, 2);
	let yes = decision(&st, "carol", Verdict::Approve, json!({}));
	apply(&mut st, Command::Decided(yes), 30).unwrap();
	assert_eq!(status(&st, "a"), ComponentStatus::Completed);
}

#[test]
fn a_rebuilt_execution_settles_the_decisions_stored_while_nobody_held_it() {
	let mut st = state(chain(approval(json!({"required": 2}))), &[]);
	let mut stored = Stored::default();
	started(&mut st, &mut stored);
	let decisions = vec![
		decision(&st, "alice", Verdict::Approve, json!({})),
		decision(&st, "bob", Verdict::Approve, json!({})),
	];
	// The process dies before either decision reaches it.
	let exec = stored.exec.clone().unwrap();
	let mut st = crate::recovery::rebuild(exec, Arc::clone(&st.wf), stored.steps.clone());
	let a = node(&st, "a");
	assert_eq!(
		st.phases[a],
		Phase::Waiting(Wait::Approval { deadline: None })
	);
	st.decisions = decisions;
	let interrupted = stored.running_attempts();
	apply(&mut st, Command::Recover { interrupted }, 100).unwrap();
	assert_eq!(status(&st, "a"), ComponentStatus::Completed);
}

#[test]
fn a_signal_sent_before_the_wait_is_kept_and_ends_one_wait_only() {
	let definition = json!({
		"components": [{"id": "start", "type": "start"},
			{"id": "a", "type": "wait_for_event", "config": {"event": "paid", "key": "{{ input.order }}"}},
			{"id": "b", "type": "wait_for_event", "config": {"event": "paid"}},
			{"id": "end", "type": "end"}],
		"connections": [{"source": "start", "target": "a"}, {"source": "a", "target": "b"},
			{"source": "b", "target": "end"}]
	});
	let mut st = state(definition, &[]);
	let mut stored = Stored::default();
	let fx = apply(&mut st, Command::Start, 0).unwrap();
	stored.commit(&fx.writes);
	// Sent early: another order's signal, then this order's.
	let other = signal(&st, "paid", Some("8"), 1);
	let mine = signal(&st, "paid", Some("7"), 2);
	apply(&mut st, Command::Signalled(other.clone()), 1).unwrap();
	apply(&mut st, Command::Signalled(mine.clone()), 2).unwrap();
	assert_eq!(st.signals.len(), 2);
	let fx = started(&mut st, &mut stored);
	let a = node(&st, "a");
	assert_eq!(
		status(&st, "a"),
		ComponentStatus::Completed,
		"took the kept signal"
	);
	assert_eq!(st.steps[a].output, Some(mine.payload.clone()));
	let taken: Vec<_> = fx
		.writes
		.iter()
		.filter_map(|w| match w {
			Write::TakeSignal { signal, .. } => Some(*signal),
			_ => None,
		})
		.collect();
	// `b`, readied by `a` in the same transition, waits for any key: it takes the other
	// order's signal, kept until now, in the same checkpoint.
	assert_eq!(taken, vec![mine.id, other.id]);
	let b = node(&st, "b");
	assert_eq!(status(&st, "b"), ComponentStatus::Completed);
	assert_eq!(st.steps[b].output, Some(other.payload));
	assert!(st.signals.is_empty());
	// Delivered again (a reload after a lost notification), it changes nothing.
	let again = apply(&mut st, Command::Signalled(mine), 6).unwrap();
	assert!(again.writes.is_empty());
	assert!(st.signals.is_empty(), "a taken signal is not kept again");
}

#[test]
fn a_signal_wait_times_out_by_failing_or_continuing_with_null() {
	for (on_timeout, expected) in [
		("fail", ComponentStatus::Failed),
		("continue", ComponentStatus::Completed),
	] {
		let a = json!({"id": "a", "type": "wait_for_event",
			"config": {"event": "never", "timeout": 1, "on_timeout": on_timeout}});
		let mut st = state(chain(a), &[]);
		let mut stored = Stored::default();
		started(&mut st, &mut stored);
		let a = node(&st, "a");
		apply(&mut st, Command::TimerFired { node: a }, 1_003).unwrap();
		assert_eq!(status(&st, "a"), expected, "{on_timeout}");
		if expected == ComponentStatus::Completed {
			assert_eq!(st.steps[a].output, Some(Value::Null));
		}
	}
}

/// start → a for_each over two items → end, with the children's records the driver would make.
fn each_with_children(limit: usize) -> (ExecutionState, Vec<apg_core::Execution>) {
	let definition = json!({
		"components": [{"id": "start", "type": "start"},
			{"id": "a", "type": "for_each", "config": {"items": [1, 2],
				"components": [{"id": "s", "type": "start"}], "connections": []}},
			{"id": "end", "type": "end"}],
		"connections": [{"source": "start", "target": "a"}, {"source": "a", "target": "end"}]
	});
	let mut st = state(definition, &[]);
	Arc::get_mut(&mut st.wf).unwrap().max_output_bytes = limit;
	let mut stored = Stored::default();
	let fx = started(&mut st, &mut stored);
	let a = node(&st, "a");
	assert!(fx.actions.contains(&super::Action::Spawn { node: a }));
	let children = (0..2)
		.map(|i| {
			let mut c = st.exec.clone();
			c.id = apg_core::ExecutionId::new();
			c.status = ExecutionStatus::Pending;
			c.parent = Some(apg_core::ParentLink {
				execution_id: st.exec.id,
				component_id: "a".to_owned(),
				round: 1,
				item: Some(i),
				inline: true,
				depth: 1,
			});
			c
		})
		.collect::<Vec<_>>();
	let spawned = Command::Spawned {
		node: a,
		round: 1,
		children: Ok(children.clone()),
	};
	let fx = apply(&mut st, spawned, 10).unwrap();
	let launched = fx
		.actions
		.iter()
		.filter(|x| matches!(x, super::Action::Launch { .. }))
		.count();
	assert_eq!(launched, 2, "both released (concurrency 10)");
	(st, children)
}

#[test]
fn a_for_each_outputs_its_results_in_order_within_the_output_cap() {
	for (limit, expected) in [
		(4096, ComponentStatus::Completed),
		(64, ComponentStatus::Failed),
	] {
		let (mut st, children) = each_with_children(limit);
		// The second item ends first: the output is still in input order.
		for (i, mut c) in children.into_iter().enumerate().rev() {
			c.status = ExecutionStatus::Completed;
			c.results = Some(json!({"s": format!("{i}{}", "x".repeat(40))}));
			apply(&mut st, Command::ChildEnded(Box::new(c)), 20).unwrap();
		}
		let a = node(&st, "a");
		assert_eq!(status(&st, "a"), expected, "limit {limit}");
		if expected == ComponentStatus::Completed {
			let out = st.steps[a].output.clone().unwrap();
			assert!(out[0]["s"].as_str().unwrap().starts_with('0'), "{out}");
			assert!(out[1]["s"].as_str().unwrap().starts_with('1'), "{out}");
		} else {
			let error = st.steps[a].error_message.clone().unwrap();
			assert!(error.contains("max_output_bytes"), "{error}");
		}
	}
}
