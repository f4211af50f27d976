//! Durable waits: a ready `delay`, `approval` or `wait_for_event` begins its wait here instead
//! of taking a worker, and the outside world ends it: a decision ([`decided`]), a signal
//! ([`signalled`]) or its timeout ([`timed_out`]).
//!
//! Rules:
//! - An approval's round is its attempt number when the wait began: decisions count for that
//!   round only, so a step re-opened by a retry asks again, and a decision made before a restart
//!   is still counted after it (decisions are rows of their own, read back on rebuild).
//! - One rejection rejects (the step fails with it, so `failure` connections route it);
//!   `required` approvals approve, and the output is `{approved, values, decisions}` with the
//!   form's values of the approvals (a later one's value wins).
//! - A signal is taken by the first waiting step it matches, in the same checkpoint as that
//!   step's completion (a `TakeSignal` write), so it ends one wait exactly once; a signal no step
//!   waits for yet is kept until one does.

use apg_core::{
	ComponentStatus, Decision, DurableWait, LogLevel, Millis, OnTimeout, SignalRecord, Verdict,
	Waiting, Write,
};
use serde_json::{Map, Value, json};

use super::{Action, Effects, check_done, complete_node, fail_node, mark_running};
use crate::context;
use crate::phase::{Phase, Wait};
use crate::state::ExecutionState;

/// Begins the wait of a ready durable component: what it waits for is stored on its step and
/// its deadline armed; an unusable config fails it.
pub(super) fn begin(st: &mut ExecutionState, node: usize, now: Millis, fx: &mut Effects) {
	let wait = context::prepare(st, node)
		.and_then(|config| st.wf.nodes[node].component.durable_wait(&config));
	let deadline = |timeout: Option<std::time::Duration>| {
		timeout.map(|t| now.saturating_add(t.as_millis().min(i64::MAX as u128) as Millis))
	};
	match wait {
		Ok(DurableWait::Delay(delay)) => {
			let at = now + delay.as_millis() as Millis;
			st.steps[node].started_at = Some(now);
			st.enter(node, Phase::Waiting(Wait::Until { at }));
			fx.step(st, node);
			fx.component_event(st, node, now);
			fx.actions.push(Action::Timer { node, at });
		}
		Ok(DurableWait::Approval(mut request, timeout)) => {
			let deadline = deadline(timeout);
			st.enter(node, Phase::Waiting(Wait::Approval { deadline }));
			let s = &mut st.steps[node];
			s.attempt += 1;
			s.started_at = Some(now);
			request.round = s.attempt;
			request.requested_by = st.exec.started_by;
			request.deadline = deadline;
			let required = request.required;
			s.waiting = Some(Waiting::Approval(request));
			mark_running(st, now, fx);
			fx.step(st, node);
			fx.component_event(st, node, now);
			let message = format!("waiting for {required} approval(s)");
			fx.log(st, LogLevel::Info, Some(node), message, now);
			if let Some(at) = deadline {
				fx.actions.push(Action::Timer { node, at });
			}
			settle_approval(st, node, now, fx);
		}
		Ok(DurableWait::Signal(mut wait, timeout)) => {
			let deadline = deadline(timeout);
			st.enter(node, Phase::Waiting(Wait::Signal { deadline }));
			let s = &mut st.steps[node];
			s.attempt += 1;
			s.started_at = Some(now);
			wait.deadline = deadline;
			let message = match &wait.key {
				Some(key) => format!("waiting for the signal '{}' with key '{key}'", wait.name),
				None => format!("waiting for the signal '{}'", wait.name),
			};
			s.waiting = Some(Waiting::Signal(wait));
			mark_running(st, now, fx);
			fx.step(st, node);
			fx.component_event(st, node, now);
			fx.log(st, LogLevel::Info, Some(node), message, now);
			if let Some(at) = deadline {
				fx.actions.push(Action::Timer { node, at });
			}
			take_waiting_signal(st, node, now, fx);
		}
		Ok(DurableWait::Children(spec)) => super::children::begin(st, node, spec, now, fx),
		Err(message) => fail_node(st, node, message, now, fx),
	}
}

/// A decision was stored: it is kept, and the approval it is for is settled if it waits.
pub(super) fn decided(st: &mut ExecutionState, decision: Decision, now: Millis, fx: &mut Effects) {
	let known = st.decisions.iter().any(|d| {
		d.component_id == decision.component_id
			&& d.round == decision.round
			&& d.user_id == decision.user_id
	});
	let Some(&node) = st.wf.index.get(decision.component_id.as_str()) else {
		return;
	};
	if !known {
		st.decisions.push(decision);
	}
	settle_approval(st, node, now, fx);
	check_done(st, now, fx);
}

/// A signal was stored: the first step waiting for it takes it, or it is kept for one that
/// will.
pub(super) fn signalled(
	st: &mut ExecutionState,
	signal: SignalRecord,
	now: Millis,
	fx: &mut Effects,
) {
	if signal.taken_by.is_some()
		|| st.taken.contains(&signal.id)
		|| st.signals.iter().any(|s| s.id == signal.id)
	{
		return;
	}
	let waiting = (0..st.steps.len()).find(|&n| {
		matches!(st.phases[n], Phase::Waiting(Wait::Signal { .. }))
			&& matches!(&st.steps[n].waiting, Some(Waiting::Signal(w)) if w.accepts(&signal))
	});
	match waiting {
		Some(node) => {
			take(st, node, signal, now, fx);
			check_done(st, now, fx);
		}
		None => {
			let pos = st
				.signals
				.partition_point(|s| s.created_at <= signal.created_at);
			st.signals.insert(pos, signal);
		}
	}
}

/// Settles every outside wait of a rebuilt execution from the decisions and signals stored
/// while nobody held it (or before its checkpoint was read).
pub(super) fn recheck(st: &mut ExecutionState, now: Millis, fx: &mut Effects) {
	for node in 0..st.steps.len() {
		match st.phases[node] {
			Phase::Waiting(Wait::Approval { .. }) => settle_approval(st, node, now, fx),
			Phase::Waiting(Wait::Signal { .. }) => take_waiting_signal(st, node, now, fx),
			Phase::Waiting(Wait::Children) => respawn_or_settle(st, node, now, fx),
			_ => {}
		}
	}
}

/// A rebuilt step waiting for children: asks for them again when they were never created
/// (rendered again, same round), else moves on from how they are.
fn respawn_or_settle(st: &mut ExecutionState, node: usize, now: Millis, fx: &mut Effects) {
	let spawned = matches!(&st.steps[node].waiting, Some(Waiting::Children(w)) if w.spawned);
	if spawned {
		super::children::settle(st, node, now, fx);
		return;
	}
	let wait = context::prepare(st, node)
		.and_then(|config| st.wf.nodes[node].component.durable_wait(&config));
	match wait {
		Ok(DurableWait::Children(spec)) => {
			st.spawning.insert(node, spec);
			fx.actions.push(Action::Spawn { node });
		}
		Ok(_) => fail_node(st, node, "not a step with children".to_owned(), now, fx),
		Err(message) => fail_node(st, node, message, now, fx),
	}
}

/// The deadline of an approval or a signal's wait passed.
pub(super) fn timed_out(st: &mut ExecutionState, node: usize, now: Millis, fx: &mut Effects) {
	match st.steps[node].waiting.clone() {
		Some(Waiting::Approval(request)) => match request.on_timeout {
			OnTimeout::Approve => {
				let decisions = round(st, node, request.round);
				approve(st, node, &decisions, true, now, fx);
			}
			OnTimeout::Reject => {
				let message = "rejected: nobody decided before the timeout".to_owned();
				end_failed(st, node, message, now, fx);
			}
			OnTimeout::Fail => {
				let message = "the approval timed out without enough decisions".to_owned();
				end_failed(st, node, message, now, fx);
			}
		},
		Some(Waiting::Signal(wait)) if wait.on_timeout_continue => {
			finish_attempt(st, node, ComponentStatus::Completed, now, fx);
			complete_node(st, node, Value::Null, None, now, fx);
		}
		Some(Waiting::Signal(wait)) => {
			let message = format!("no signal '{}' arrived before the timeout", wait.name);
			end_failed(st, node, message, now, fx);
		}
		Some(Waiting::Children(_)) | None => return,
	}
	check_done(st, now, fx);
}

/// The decisions of the round of `node`, oldest first.
fn round(st: &ExecutionState, node: usize, round: u32) -> Vec<Decision> {
	let id = &st.steps[node].component_id;
	st.decisions
		.iter()
		.filter(|d| &d.component_id == id && d.round == round)
		.cloned()
		.collect()
}

/// Ends a waiting approval when its round's decisions decide it.
fn settle_approval(st: &mut ExecutionState, node: usize, now: Millis, fx: &mut Effects) {
	if !matches!(st.phases[node], Phase::Waiting(Wait::Approval { .. })) {
		return;
	}
	let Some(Waiting::Approval(request)) = &st.steps[node].waiting else {
		return;
	};
	let (required, decisions) = (request.required, round(st, node, request.round));
	if let Some(no) = decisions.iter().find(|d| d.verdict == Verdict::Reject) {
		let message = match &no.comment {
			Some(c) if !c.is_empty() => format!("rejected by {}: {c}", no.username),
			_ => format!("rejected by {}", no.username),
		};
		end_failed(st, node, message, now, fx);
		return;
	}
	let approvals = decisions
		.iter()
		.filter(|d| d.verdict == Verdict::Approve)
		.count();
	if approvals >= required as usize {
		approve(st, node, &decisions, false, now, fx);
	}
}

fn approve(
	st: &mut ExecutionState,
	node: usize,
	decisions: &[Decision],
	timed_out: bool,
	now: Millis,
	fx: &mut Effects,
) {
	let mut values = Map::new();
	for d in decisions.iter().filter(|d| d.verdict == Verdict::Approve) {
		values.extend(d.values.clone());
	}
	let listed: Vec<Value> = decisions
		.iter()
		.map(|d| {
			json!({
				"user": d.username,
				"user_id": d.user_id,
				"decision": d.verdict,
				"comment": d.comment,
				"at": d.decided_at,
			})
		})
		.collect();
	let output = json!({
		"approved": true,
		"timed_out": timed_out,
		"values": values,
		"decisions": listed,
	});
	finish_attempt(st, node, ComponentStatus::Completed, now, fx);
	complete_node(st, node, output, Some("approved".to_owned()), now, fx);
}

/// Takes the oldest kept signal the waiting step `node` accepts, if any.
fn take_waiting_signal(st: &mut ExecutionState, node: usize, now: Millis, fx: &mut Effects) {
	if !matches!(st.phases[node], Phase::Waiting(Wait::Signal { .. })) {
		return;
	}
	let Some(Waiting::Signal(wait)) = &st.steps[node].waiting else {
		return;
	};
	if let Some(i) = st.signals.iter().position(|s| wait.accepts(s)) {
		let signal = st.signals.remove(i);
		take(st, node, signal, now, fx);
	}
}

/// Ends the wait of `node` with `signal`'s payload, and marks the signal taken in the same
/// checkpoint.
fn take(st: &mut ExecutionState, node: usize, signal: SignalRecord, now: Millis, fx: &mut Effects) {
	let component_id = st.steps[node].component_id.clone();
	st.taken.insert(signal.id);
	fx.writes.push(Write::TakeSignal {
		execution_id: st.exec.id,
		signal: signal.id,
		component_id,
	});
	let message = format!("signal '{}' received", signal.name);
	fx.log(st, LogLevel::Info, Some(node), message, now);
	finish_attempt(st, node, ComponentStatus::Completed, now, fx);
	complete_node(st, node, signal.payload, None, now, fx);
}

/// Records the wait as an attempt that ended now.
pub(super) fn finish_attempt(
	st: &mut ExecutionState,
	node: usize,
	status: ComponentStatus,
	now: Millis,
	fx: &mut Effects,
) {
	let s = &mut st.steps[node];
	let started = s.started_at.unwrap_or(now);
	s.duration_ms = Some((now - started).max(0));
	fx.attempt(st, node, status, started, Some(now));
}

/// Ends a waiting step as failed with `message` (its wait recorded as a failed attempt).
pub(super) fn end_failed(
	st: &mut ExecutionState,
	node: usize,
	message: String,
	now: Millis,
	fx: &mut Effects,
) {
	st.steps[node].error_message = Some(message.clone());
	finish_attempt(st, node, ComponentStatus::Failed, now, fx);
	fail_node(st, node, message, now, fx);
}
