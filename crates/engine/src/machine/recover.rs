//! Continuing an execution rebuilt from its checkpoints (after a restart, or when a node takes
//! over an execution whose lease it claimed): what was ready runs, what had started runs again
//! with its interrupted attempt recorded as failed, stored timers are re-armed at their
//! deadlines (a deadline that passed fires at once), waits on people or signals are settled by
//! what was stored meanwhile, and a pending component whose connections
//! were all decided is readied or skipped.

use apg_core::{
	AttemptRecord, ComponentStatus, ExecutionStatus, LogLevel, LogRecord, Millis, Write,
};

use super::{Action, Effects, check_done, control::settle_cascade, waits};
use crate::phase::Phase;
use crate::state::ExecutionState;

/// Continues `st`; `interrupted` are the attempts (component id, number) stored as running.
pub(super) fn recover(
	st: &mut ExecutionState,
	interrupted: &[(String, u32)],
	now: Millis,
	fx: &mut Effects,
) {
	fx.writes.push(Write::Log(LogRecord {
		execution_id: st.exec.id,
		at: now,
		level: LogLevel::Info,
		component_id: None,
		message: "resumed from checkpoints after a restart".to_owned(),
	}));
	for node in 0..st.steps.len() {
		match st.phases[node] {
			// A stored wait: its timer again, at its deadline (a passed one fires at once).
			Phase::Waiting(wait) => {
				if let Some(at) = wait.deadline() {
					fx.actions.push(Action::Timer { node, at });
				}
			}
			// Ready or interrupted (see `Phase::of_record`), or a wait held at a breakpoint
			// before its timer was stored: it runs (paused again, or armed when no longer held).
			Phase::Ready => {
				let s = &st.steps[node];
				if interrupted.contains(&(s.component_id.clone(), s.attempt)) {
					fx.writes.push(Write::Attempt(AttemptRecord {
						execution_id: st.exec.id,
						component_id: s.component_id.clone(),
						attempt: s.attempt,
						status: ComponentStatus::Failed,
						error_message: Some(
							"interrupted: the engine stopped while this attempt ran".to_owned(),
						),
						started_at: s.started_at.unwrap_or(now),
						finished_at: Some(now),
					}));
				}
				fx.actions.push(Action::Run { node });
			}
			// A consistent store never has a pending component whose connections are all
			// decided; settling one costs nothing and repairs it if it happens.
			Phase::Pending => settle_cascade(st, node, now, fx),
			Phase::Running | Phase::Ended => {}
		}
	}
	if st.exec.status == ExecutionStatus::Paused {
		// Held components pause again at their breakpoint when dispatched.
		st.exec.status = if st.exec.started_at.is_some() {
			ExecutionStatus::Running
		} else {
			ExecutionStatus::Queued
		};
	}
	// Decisions and signals stored while nobody held the execution.
	waits::recheck(st, now, fx);
	check_done(st, now, fx);
}
