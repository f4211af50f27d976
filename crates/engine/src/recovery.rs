//! Rebuilding in-flight executions from their checkpoints when an engine starts.
//!
//! For each execution not in an end state: its pinned version is compiled, its step records are
//! loaded, and every connection whose source has ended is decided again (the decision depends only
//! on stored outcomes, outputs and variables, so it comes out as it did before the crash). Then:
//! - a component that was ready runs; one whose attempt had started runs again with its attempt
//!   count raised, and the interrupted attempt is recorded as failed;
//! - `delay` timers and retry back-offs are re-armed at their stored deadlines (a deadline that
//!   passed while the engine was down fires at once);
//! - a pending component whose connections were all decided is readied or skipped, which repairs
//!   nothing in a consistent store but costs nothing to check.
//!
//! An execution whose version cannot be loaded or compiled any more is failed with the reason,
//! rather than stopping the engine from starting.

use std::sync::Arc;

use apg_core::{
	AttemptRecord, ComponentStatus, Execution, ExecutionStatus, LogLevel, LogRecord, StepRecord,
	Write, now_millis,
};

use crate::driver::Engine;
use crate::error::{EngineError, Result};
use crate::graph::Compiled;
use crate::machine::{self, Action, Effects};
use crate::state::{EdgeState, ExecutionState};

pub(crate) async fn load(engine: &Engine) -> Result<Vec<(ExecutionState, Effects)>> {
	let mut out = Vec::new();
	for exec in engine.store().unfinished_executions().await? {
		let id = exec.id;
		match resume_one(engine, exec).await {
			Ok(Some(resumed)) => out.push(resumed),
			Ok(None) => {}
			// Left unfinished in the store: the next start resumes it.
			Err(e) => tracing::error!(execution = %id, error = %e, "cannot resume execution now"),
		}
	}
	Ok(out)
}

/// Rebuilds one unfinished execution and the actions that continue it (also how a node takes
/// over an execution whose lease it claimed). `None` when its version cannot run any more: it
/// is then marked failed with the reason.
pub(crate) async fn resume_one(
	engine: &Engine,
	mut exec: Execution,
) -> Result<Option<(ExecutionState, Effects)>> {
	let store = engine.store();
	let now = now_millis();
	let compiled = match engine
		.compiled(exec.workflow_id, exec.workflow_version)
		.await
	{
		Ok(c) => c,
		// A store that is briefly unavailable is no reason to fail the execution: the caller
		// tries again later (startup skips it; a claim lets its lease lapse).
		Err(e @ (EngineError::Store(_) | EngineError::Stopped)) => return Err(e),
		Err(e) => {
			tracing::error!(execution = %exec.id, error = %e, "cannot resume execution");
			exec.status = ExecutionStatus::Failed;
			exec.error_message = Some(format!("cannot resume after restart: {e}"));
			exec.completed_at = Some(now);
			store
				.commit(&apg_core::Batch {
					writes: vec![Write::Execution(Box::new(exec))],
					..Default::default()
				})
				.await?;
			return Ok(None);
		}
	};
	let steps = store.steps(exec.id).await?;
	// Which attempts were still running when the engine stopped (a step re-opened by a retry
	// also shows `running` with the number of its last, finished attempt).
	let running: Vec<(String, u32)> = store
		.attempts(exec.id)
		.await?
		.into_iter()
		.filter(|a| a.status == ComponentStatus::Running)
		.map(|a| (a.component_id, a.attempt))
		.collect();
	let mut st = rebuild(exec, compiled, steps);
	let mut fx = Effects::default();
	fx.writes.push(Write::Log(LogRecord {
		execution_id: st.exec.id,
		at: now,
		level: LogLevel::Info,
		component_id: None,
		message: "resumed from checkpoints after a restart".to_owned(),
	}));
	for node in 0..st.steps.len() {
		let s = st.steps[node].clone();
		match s.status {
			// A wait whose timer was stored; one held at a breakpoint has none yet and is run
			// (paused again, or armed when it is no longer held).
			ComponentStatus::Running if st.wf.nodes[node].timer && s.run_at.is_some() => {
				let at = s.run_at.unwrap_or(now);
				fx.actions.push(Action::Timer { node, at });
			}
			ComponentStatus::Running => {
				if running.contains(&(s.component_id.clone(), s.attempt)) {
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
			ComponentStatus::Retrying => {
				fx.actions.push(Action::Timer {
					node,
					at: s.run_at.unwrap_or(now),
				});
			}
			// A consistent store never has a pending component whose connections are all
			// decided; settling one costs nothing and repairs it if it happens.
			ComponentStatus::Pending => machine::settle_cascade(&mut st, node, now, &mut fx),
			_ => {}
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
	machine::check_done(&mut st, now, &mut fx);
	Ok(Some((st, fx)))
}

/// An execution's in-memory state from its stored record and checkpoints: step records in place,
/// and every connection whose source has ended decided again.
pub(crate) fn rebuild(
	exec: Execution,
	compiled: Arc<Compiled>,
	steps: Vec<StepRecord>,
) -> ExecutionState {
	let mut st = ExecutionState::new(exec, compiled);
	for rec in steps {
		if let Some(&i) = st.wf.index.get(&rec.component_id) {
			st.steps[i] = rec;
		}
	}
	st.open = st.steps.iter().filter(|s| !s.status.is_terminal()).count();
	for e in 0..st.edges.len() {
		let source = st.wf.edges[e].source;
		if st.steps[source].status.is_terminal() {
			let taken = machine::decide(&st, e).unwrap_or(false);
			st.edges[e] = if taken {
				EdgeState::Taken
			} else {
				EdgeState::Skipped
			};
		}
	}
	st
}
