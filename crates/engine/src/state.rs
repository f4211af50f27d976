//! The in-memory mirror of one in-flight execution: its record, one step record per component
//! (untouched components stay `pending` and are not stored), and the state of every connection.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use apg_core::{
	ChildSpec, ComponentStatus, Decision, Execution, ExecutionId, ExecutionStatus, SignalRecord,
	StepRecord,
};
use serde_json::Value;

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
	/// Signals taken since it was built: a copy delivered again (by the bus and a sweep that
	/// read the row before the take was committed) is not taken twice.
	pub(crate) taken: HashSet<apg_core::SignalId>,
	/// Per waiting `sub_workflow` / `for_each` step, its children (of its current round) in
	/// item order.
	pub(crate) children: HashMap<usize, Brood>,
	/// Per step whose children are being created, its rendered spec (until the driver
	/// answers; a rebuilt step renders it again).
	pub(crate) spawning: HashMap<usize, ChildSpec>,
}

/// The children of a waiting step, with the counts its rules need (so a child's end costs
/// O(1), not a scan of ten thousand siblings). Children are released in item order.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Brood {
	pub(crate) slots: Vec<Child>,
	/// Released and not ended.
	pub(crate) running: usize,
	pub(crate) ended: usize,
	/// The first child not released yet.
	pub(crate) next: usize,
	/// The first child that ended without completing: its position and why.
	pub(crate) failure: Option<(usize, String)>,
}

impl Brood {
	/// Children as created (all pending) or as read back.
	pub(crate) fn new(slots: Vec<Child>) -> Self {
		let mut b = Brood {
			next: slots.len(),
			..Brood::default()
		};
		for (i, c) in slots.iter().enumerate() {
			match &c.state {
				ChildState::Pending(_) => b.next = b.next.min(i),
				ChildState::Released => b.running += 1,
				ChildState::Ended { status, error, .. } => {
					b.ended += 1;
					if *status != ExecutionStatus::Completed && b.failure.is_none() {
						b.failure = Some((i, crate::machine::describe(*status, error.as_deref())));
					}
				}
			}
		}
		b.slots = slots;
		b
	}
}

/// One child execution of a waiting step.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Child {
	pub(crate) id: ExecutionId,
	pub(crate) state: ChildState,
}

/// Where a child is, as its parent sees it.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum ChildState {
	/// Created, not released yet (its record, to cancel it without a read).
	Pending(Box<Execution>),
	/// Released: queued or running, here or on another node.
	Released,
	/// Ended.
	Ended {
		status: ExecutionStatus,
		results: Option<Value>,
		error: Option<String>,
	},
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
			taken: HashSet::new(),
			children: HashMap::new(),
			spawning: HashMap::new(),
		}
	}
}

impl ExecutionState {
	/// Takes in the children read back for a rebuilt execution: each waiting step gets those of
	/// its current round, in item order, as they are stored.
	pub(crate) fn adopt(&mut self, mut children: Vec<Execution>) {
		children.sort_by_key(|c| c.parent.as_ref().and_then(|p| p.item));
		for node in 0..self.steps.len() {
			let Some(apg_core::Waiting::Children(w)) = &self.steps[node].waiting else {
				continue;
			};
			let (round, id) = (w.round, self.steps[node].component_id.clone());
			let mine: Vec<Child> = children
				.iter()
				.filter(|c| {
					c.parent
						.as_ref()
						.is_some_and(|p| p.component_id == id && p.round == round)
				})
				.map(|c| Child {
					id: c.id,
					state: match c.status {
						ExecutionStatus::Pending => ChildState::Pending(Box::new(c.clone())),
						s if s.is_terminal() => ChildState::Ended {
							status: s,
							results: c.results.clone(),
							error: c.error_message.clone(),
						},
						_ => ChildState::Released,
					},
				})
				.collect();
			self.children.insert(node, Brood::new(mine));
		}
	}

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
