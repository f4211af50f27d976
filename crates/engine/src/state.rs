//! The in-memory mirror of one in-flight execution: its record, one step record per component
//! (untouched components stay `pending` and are not stored), and the state of every connection.

use std::collections::HashSet;
use std::sync::Arc;

use apg_core::{ComponentStatus, Decision, Execution, SignalRecord, StepRecord};

use crate::graph::Compiled;
use crate::phase::Phase;

/// Whether a connection has been decided.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum EdgeState {
	/// Its source has not finished.
	Pending,
	/// Its source's outcome matched: the target may run.
	Taken,
	/// Its source's outcome did not match (or the source was skipped).
	Skipped,
}

/// One execution being driven: what [`crate::machine::apply`] changes. Public so the machine can
/// be measured on its own (`benches/machine.rs`); its parts stay the engine's.
pub struct ExecutionState {
	pub(crate) exec: Execution,
	pub(crate) wf: Arc<Compiled>,
	/// Per component, its stored record: what a checkpoint writes.
	pub(crate) steps: Vec<StepRecord>,
	/// Per component, where it is (the record's `status` and `run_at` are derived from it).
	pub(crate) phases: Vec<Phase>,
	pub(crate) edges: Vec<EdgeState>,
	/// Components whose phase is open, kept by [`ExecutionState::enter`] and
	/// [`ExecutionState::end`] (counted rather than scanned: the execution ends when it is 0).
	pub(crate) open: usize,
	/// Pause before every component (the debugger's `step`).
	pub(crate) step_mode: bool,
	/// Components let past their breakpoint.
	pub(crate) released: HashSet<usize>,
	/// Components held at a breakpoint, in the order they arrived.
	pub(crate) held: Vec<usize>,
	/// Per component, the attempts made before the last manual retry, so its automatic retry
	/// budget starts again (not persisted: after a restart the budget counts every attempt).
	pub(crate) attempts_before_retry: Vec<u32>,
	/// The decisions on its approvals (every round), as stored.
	pub(crate) decisions: Vec<Decision>,
	/// Signals sent to it that no step has taken yet, oldest first.
	pub(crate) signals: Vec<SignalRecord>,
}

impl ExecutionState {
	/// A fresh state with every component pending.
	pub fn new(exec: Execution, wf: Arc<Compiled>) -> Self {
		let steps = wf
			.nodes
			.iter()
			.map(|n| StepRecord {
				execution_id: exec.id,
				component_id: n.id.clone(),
				component_type: n.kind.clone(),
				status: ComponentStatus::Pending,
				attempt: 0,
				input: None,
				output: None,
				branch: None,
				error_message: None,
				run_at: None,
				started_at: None,
				completed_at: None,
				duration_ms: None,
				waiting: None,
			})
			.collect();
		let open = wf.nodes.len();
		let n = wf.nodes.len();
		let edges = vec![EdgeState::Pending; wf.edges.len()];
		Self {
			exec,
			wf,
			steps,
			phases: vec![Phase::Pending; n],
			edges,
			open,
			step_mode: false,
			released: HashSet::new(),
			held: Vec::new(),
			attempts_before_retry: vec![0; n],
			decisions: Vec::new(),
			signals: Vec::new(),
		}
	}
}

impl ExecutionState {
	/// The execution record as the machine left it.
	pub fn execution(&self) -> &Execution {
		&self.exec
	}

	/// The step record of the component `id`, if the workflow has one.
	pub fn step(&self, id: &str) -> Option<&StepRecord> {
		self.wf.index.get(id).map(|&i| &self.steps[i])
	}

	/// Where the component `id` is, if the workflow has one.
	pub fn phase(&self, id: &str) -> Option<Phase> {
		self.wf.index.get(id).map(|&i| self.phases[i])
	}

	/// Moves component `node` to `phase`, deriving its record's `status` and `run_at` (an
	/// ended phase leaves them to the caller, which knows how it ended).
	pub(crate) fn enter(&mut self, node: usize, phase: Phase) {
		if !self.phases[node].is_open() && phase.is_open() {
			self.open += 1;
		}
		self.phases[node] = phase;
		if let Some((status, run_at)) = phase.stored() {
			let s = &mut self.steps[node];
			s.status = status;
			s.run_at = run_at;
			if !matches!(phase, Phase::Waiting(w) if w.is_outside()) {
				s.waiting = None;
			}
		}
	}

	/// Ends component `node` with `status` (completed, failed, skipped or cancelled).
	pub(crate) fn end(&mut self, node: usize, status: apg_core::ComponentStatus) {
		if self.phases[node].is_open() {
			self.open -= 1;
		}
		self.phases[node] = Phase::Ended;
		let s = &mut self.steps[node];
		s.status = status;
		s.run_at = None;
		s.waiting = None;
	}
}
