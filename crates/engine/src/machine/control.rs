//! The transitions users and operators cause rather than components: cancel, pause and resume
//! at breakpoints, and retry from the failed components.

use apg_core::{ComponentStatus, EventKind, ExecutionStatus, LogLevel, Millis};
use serde_json::Value;

use super::{Action, Effects, check_done, decide, finish, make_ready, resolve_outgoing, settle};
use crate::phase::Phase;
use crate::state::{EdgeState, ExecutionState};

/// Cancels an execution that has not ended; returns false when it already had.
pub(crate) fn cancel(st: &mut ExecutionState, now: Millis, fx: &mut Effects) -> bool {
	if st.exec.status.is_terminal() {
		return false;
	}
	finish(
		st,
		ExecutionStatus::Cancelled,
		Some("cancelled on request".to_owned()),
		now,
		fx,
	);
	true
}

/// Holds a ready component at a breakpoint and pauses the execution.
/// Whether `node` must pause before it runs (a breakpoint, or the debugger stepping) and has not
/// been released by a resume since.
pub(crate) fn at_breakpoint(st: &ExecutionState, node: usize) -> bool {
	let wanted = st.step_mode
		|| st
			.exec
			.breakpoints
			.iter()
			.any(|b| *b == st.wf.nodes[node].id);
	wanted && !st.released.contains(&node)
}

pub(crate) fn pause(st: &mut ExecutionState, node: usize, now: Millis, fx: &mut Effects) {
	st.held.push(node);
	let id = st.steps[node].component_id.clone();
	if st.exec.status != ExecutionStatus::Paused {
		st.exec.status = ExecutionStatus::Paused;
		fx.exec(st);
		fx.execution_event(st, now);
	}
	fx.event(
		st,
		EventKind::Paused {
			component_id: id.clone(),
		},
		now,
	);
	fx.log(
		st,
		LogLevel::Info,
		Some(node),
		format!("paused at breakpoint before '{id}'"),
		now,
	);
}

/// Releases the held components; with `step`, the next component to start pauses again.
pub(crate) fn resume(st: &mut ExecutionState, step: bool, now: Millis, fx: &mut Effects) -> bool {
	if st.exec.status != ExecutionStatus::Paused {
		return false;
	}
	st.step_mode = step;
	st.exec.status = if st.exec.started_at.is_some() {
		ExecutionStatus::Running
	} else {
		ExecutionStatus::Queued
	};
	fx.exec(st);
	fx.execution_event(st, now);
	for node in std::mem::take(&mut st.held) {
		st.released.insert(node);
		fx.actions.push(Action::Run { node });
	}
	true
}

/// Re-opens a failed or cancelled execution: every failed or cancelled component goes back to
/// pending and runs again when its connections allow (attempt numbers continue), completed ones
/// keep their checkpoints. Returns false when the execution had not failed or been cancelled.
pub(crate) fn retry(st: &mut ExecutionState, now: Millis, fx: &mut Effects) -> bool {
	if !matches!(
		st.exec.status,
		ExecutionStatus::Failed | ExecutionStatus::Cancelled
	) {
		return false;
	}
	for node in 0..st.steps.len() {
		if matches!(
			st.steps[node].status,
			ComponentStatus::Failed | ComponentStatus::Cancelled
		) {
			st.attempts_before_retry[node] = st.steps[node].attempt;
			st.enter(node, Phase::Pending);
			let s = &mut st.steps[node];
			s.error_message = None;
			s.completed_at = None;
			// Stored too, so a node that rebuilds the execution from the store (a takeover)
			// sees it pending rather than ended.
			fx.step(st, node);
		}
	}
	restart(
		st,
		now,
		fx,
		"retrying from the failed components".to_owned(),
	);
	true
}

/// Queues a new execution built with the ended components it carries over (their records
/// stored as they are) and runs everything else from there: a rerun.
pub(crate) fn rerun(st: &mut ExecutionState, now: Millis, fx: &mut Effects, note: String) {
	for node in 0..st.steps.len() {
		if st.phases[node] == Phase::Ended {
			fx.step(st, node);
		}
	}
	restart(st, now, fx, note);
}

/// Queues the execution again and moves on from its ended components: connections out of them
/// are decided again, pending roots become ready, and every other pending component settles
/// (ready once its inputs are in).
fn restart(st: &mut ExecutionState, now: Millis, fx: &mut Effects, note: String) {
	st.exec.status = ExecutionStatus::Queued;
	st.exec.error_message = None;
	st.exec.results = None;
	st.exec.completed_at = None;
	fx.exec(st);
	fx.execution_event(st, now);
	fx.log(st, LogLevel::Info, None, note, now);
	for e in 0..st.edges.len() {
		st.edges[e] = if st.steps[st.wf.edges[e].source].status.is_terminal() {
			if decide(st, e).unwrap_or(false) {
				EdgeState::Taken
			} else {
				EdgeState::Skipped
			}
		} else {
			EdgeState::Pending
		};
	}
	for node in 0..st.steps.len() {
		if st.phases[node] == Phase::Pending && st.wf.nodes[node].incoming.is_empty() {
			let input = Value::Object(st.exec.parameters.clone());
			make_ready(st, node, input, now, fx);
		} else {
			settle_cascade(st, node, now, fx);
		}
	}
	check_done(st, now, fx);
}

/// [`settle`], and when that skips the component, decide the connections it leaves.
pub(crate) fn settle_cascade(st: &mut ExecutionState, node: usize, now: Millis, fx: &mut Effects) {
	if settle(st, node, now, fx) {
		resolve_outgoing(st, node, now, fx);
	}
}
