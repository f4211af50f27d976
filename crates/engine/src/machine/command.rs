//! [`apply`]: the one entry point of the execution rules.
//!
//! The driver turns every message into a [`Command`] (a start, a worker taking a component, an
//! attempt's result, a timer, a breakpoint reached, an operator's cancel, resume or retry, the
//! debugger's breakpoints), applies it to the execution's state at `now`, commits the
//! [`Effects`]' writes and then performs its actions. Nothing else changes an execution's
//! state, so the rules can be tested with neither a runtime nor a clock (`tests.rs`).
//!
//! Each kind of waiting is a variant here (an approval decided, a signal received, children
//! spawned, a child ended; next a slot granted), not a new code path in the driver.

use apg_core::{
	ComponentError, Decision, ExecutionId, ExecutionStatus, Millis, Outcome, SignalRecord,
};

use super::{Effects, begin_attempt, control, finished, recover, start, timer_fired, waits};
use crate::phase::Phase;
use crate::state::ExecutionState;

/// Something that happens to an execution.
#[derive(Debug)]
pub enum Command {
	/// Queue a new execution and make its roots ready.
	Start,
	/// A worker (or the coordinator, for an inline component) takes a ready component: its next
	/// attempt begins.
	Begin {
		/// The component's index.
		node: usize,
	},
	/// An attempt ended.
	Finish {
		/// The component's index.
		node: usize,
		/// The attempt's number ([`Command::Begin`] assigned it); a stale one is ignored.
		attempt: u32,
		/// What the component returned.
		result: Result<Outcome, ComponentError>,
		/// When the attempt began.
		started: Millis,
	},
	/// A durable timer fired: a retry's back-off ended, or a delay is over.
	TimerFired {
		/// The component's index.
		node: usize,
	},
	/// A ready component reached a breakpoint (or the debugger is stepping): hold it and pause.
	Hold {
		/// The component's index.
		node: usize,
	},
	/// A durable wait no longer held by a breakpoint: start its wait.
	Arm {
		/// The component's index.
		node: usize,
	},
	/// Cancel the execution and whatever is open in it.
	Cancel,
	/// Release the held components; with `step`, pause again before the next one starts.
	Resume {
		/// Stop before the next component (the debugger's step).
		step: bool,
	},
	/// Re-open a failed or cancelled execution from its failed components.
	Retry,
	/// Queue a new execution that carries over the ended components it was built with (the
	/// upstream of a rerun's starting component, recorded by the original) and runs the rest.
	Rerun {
		/// The execution it reruns.
		of: ExecutionId,
		/// The component it runs from.
		from: String,
	},
	/// Replace the components to pause before.
	SetBreakpoints(Vec<String>),
	/// A user decided an approval (the decision is stored already).
	Decided(Decision),
	/// A signal was sent to the execution (it is stored already).
	Signalled(SignalRecord),
	/// The driver's answer to [`super::Action::Spawn`]: the children to create, or why none.
	Spawned {
		/// The component's index.
		node: usize,
		/// Its round when the spawn was asked for.
		round: u32,
		/// The children (pending), or why there can be none.
		children: Result<Vec<apg_core::Execution>, String>,
	},
	/// A child execution ended.
	ChildEnded(Box<apg_core::Execution>),
	/// Continue an execution rebuilt from its checkpoints (a restart, or a takeover).
	Recover {
		/// The attempts (component id, number) stored as still running: they were interrupted.
		interrupted: Vec<(String, u32)>,
	},
}

/// Why a command does not apply to the execution as it is.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
	/// The execution has ended.
	#[error("the execution has ended")]
	Ended,
	/// The component is not ready to start an attempt (already running, waiting, or ended).
	#[error("the component is not ready")]
	NotReady,
	/// Resume of an execution that is not paused.
	#[error("the execution is not paused")]
	NotPaused,
	/// Retry of an execution that neither failed nor was cancelled.
	#[error("the execution is {0}")]
	NotRetryable(ExecutionStatus),
	/// A breakpoint names no component of the workflow.
	#[error("unknown component '{0}'")]
	UnknownComponent(String),
}

/// Applies `command` to `st` at `now`: the checkpoint to commit and what to do after it, or why
/// the command does not apply (the state is then unchanged).
pub fn apply(st: &mut ExecutionState, command: Command, now: Millis) -> Result<Effects, Refusal> {
	let mut fx = Effects::default();
	match command {
		Command::Start => start(st, now, &mut fx),
		Command::Begin { node } => {
			if st.exec.status.is_terminal() {
				return Err(Refusal::Ended);
			}
			if st.phases[node] != Phase::Ready {
				return Err(Refusal::NotReady);
			}
			begin_attempt(st, node, now, &mut fx);
		}
		Command::Finish {
			node,
			attempt,
			result,
			started,
		} => finished(st, node, attempt, result, started, now, &mut fx),
		Command::TimerFired { node } => timer_fired(st, node, now, &mut fx),
		Command::Hold { node } => control::pause(st, node, now, &mut fx),
		Command::Arm { node } => {
			if st.phases[node] != Phase::Ready {
				return Err(Refusal::NotReady);
			}
			waits::begin(st, node, now, &mut fx);
		}
		Command::Cancel => {
			if !control::cancel(st, now, &mut fx) {
				return Err(Refusal::Ended);
			}
		}
		Command::Resume { step } => {
			if !control::resume(st, step, now, &mut fx) {
				return Err(Refusal::NotPaused);
			}
		}
		Command::Retry => {
			if !control::retry(st, now, &mut fx) {
				return Err(Refusal::NotRetryable(st.exec.status));
			}
		}
		Command::Rerun { of, from } => {
			if st.exec.status != ExecutionStatus::Queued || st.exec.started_at.is_some() {
				return Err(Refusal::NotRetryable(st.exec.status));
			}
			control::rerun(st, now, &mut fx, format!("rerun of {of} from '{from}'"));
		}
		Command::SetBreakpoints(breakpoints) => {
			if let Some(unknown) = breakpoints
				.iter()
				.find(|b| !st.wf.index.contains_key(b.as_str()))
			{
				return Err(Refusal::UnknownComponent(unknown.clone()));
			}
			st.exec.breakpoints = breakpoints;
			st.released.clear();
			fx.exec(st);
		}
		Command::Recover { interrupted } => recover::recover(st, &interrupted, now, &mut fx),
		Command::Decided(decision) => {
			if st.exec.status.is_terminal() {
				return Err(Refusal::Ended);
			}
			waits::decided(st, decision, now, &mut fx);
		}
		Command::Signalled(signal) => {
			if st.exec.status.is_terminal() {
				return Err(Refusal::Ended);
			}
			waits::signalled(st, signal, now, &mut fx);
		}
		Command::Spawned {
			node,
			round,
			children,
		} => {
			if st.exec.status.is_terminal() {
				return Err(Refusal::Ended);
			}
			super::children::spawned(st, node, round, children, now, &mut fx);
		}
		Command::ChildEnded(child) => {
			if st.exec.status.is_terminal() {
				return Err(Refusal::Ended);
			}
			super::children::child_ended(st, *child, now, &mut fx);
		}
	}
	Ok(fx)
}
