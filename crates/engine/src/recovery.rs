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

use apg_core::{ComponentStatus, Execution, ExecutionStatus, StepRecord, Write};

use crate::driver::Engine;
use crate::error::{EngineError, Result};
use crate::graph::Compiled;
use crate::machine::{self, Command, Effects};
use crate::phase::Phase;
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
	let now = crate::clock::now();
	let compiled = match engine.compiled_for(&exec).await {
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
					writes: vec![Write::Execution(Box::new(exec.clone()))],
					..Default::default()
				})
				.await?;
			// A child's parent waits for its end, this one included.
			if exec.parent.is_some() {
				let engine = engine.clone();
				tokio::spawn(async move {
					let _ = engine.tell_parent(exec).await;
				});
			}
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
	crate::driver::load_waits(store.as_ref(), &mut st).await?;
	// Resuming from checkpoints is never refused.
	let mut fx = machine::apply(
		&mut st,
		Command::Recover {
			interrupted: running,
		},
		now,
	)
	.unwrap_or_default();
	// A child whose parent ended meanwhile (its cancel was not sent before a crash) is
	// cancelled now rather than run for nobody.
	if let Some(link) = &st.exec.parent
		&& let Some(parent) = store.get_execution(link.execution_id).await?
		&& parent.status.is_terminal()
		&& let Ok(cancelled) = machine::apply(&mut st, Command::Cancel, now)
	{
		fx.actions.clear();
		fx.extend(cancelled);
	}
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
			st.phases[i] = Phase::of_record(&rec, st.wf.nodes[i].durable);
			st.steps[i] = rec;
		}
	}
	st.open = st.phases.iter().filter(|p| p.is_open()).count();
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
