//! [`Phase`]: where a component is in its life, as the machine sees it, and the one mapping
//! between it and the stored record's `status` and `run_at`.
//!
//! The stored and API statuses stay as they were (`running` covers ready, running and a delay's
//! wait; `retrying` a back-off), so the stored form is ambiguous on purpose; inside the engine
//! each case has its own variant and no rule has to tell them apart by `run_at`. Every kind of
//! wait (a time, people's decision, a signal, children; a slot next) is a [`Wait`]: it holds no
//! worker, and is left only by the command that ends it.

use apg_core::{ComponentStatus, Millis, StepRecord, Waiting};

/// Where one component is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
	/// Not reached yet: its incoming connections are not decided.
	Pending,
	/// Its connections allow it: it waits for a worker (or for the debugger, when held at a
	/// breakpoint).
	Ready,
	/// An attempt is in flight on a worker.
	Running,
	/// It holds no worker until its wait ends.
	Waiting(Wait),
	/// Completed, failed, skipped or cancelled (the record's status says which).
	Ended,
}

/// What a waiting component waits for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Wait {
	/// A retry's back-off: ready again at `at`.
	Backoff {
		/// When the back-off ends.
		at: Millis,
	},
	/// A `delay`: completes at `at`.
	Until {
		/// When the delay ends.
		at: Millis,
	},
	/// An `approval`: people's decisions (who and how many are on the step's `waiting`).
	Approval {
		/// When it times out.
		deadline: Option<Millis>,
	},
	/// A `wait_for_event`: a signal (its name and key are on the step's `waiting`).
	Signal {
		/// When it times out.
		deadline: Option<Millis>,
	},
	/// A `sub_workflow` or `for_each`: its child executions.
	Children,
}

impl Wait {
	/// When the wait ends by itself (a timer fires then), if it does.
	pub fn deadline(self) -> Option<Millis> {
		match self {
			Wait::Backoff { at } | Wait::Until { at } => Some(at),
			Wait::Approval { deadline } | Wait::Signal { deadline } => deadline,
			Wait::Children => None,
		}
	}

	/// Whether it waits on the outside world (a decision, a signal, child executions), which
	/// the step's `waiting` then describes.
	pub fn is_outside(self) -> bool {
		matches!(
			self,
			Wait::Approval { .. } | Wait::Signal { .. } | Wait::Children
		)
	}
}

impl Phase {
	/// Whether the component is still open (the execution cannot end before it is not).
	pub fn is_open(self) -> bool {
		self != Phase::Ended
	}

	/// The stored `status` and `run_at` of an open phase (an ended one keeps the record's own).
	pub(crate) fn stored(self) -> Option<(ComponentStatus, Option<Millis>)> {
		Some(match self {
			Phase::Pending => (ComponentStatus::Pending, None),
			Phase::Ready | Phase::Running => (ComponentStatus::Running, None),
			Phase::Waiting(Wait::Backoff { at }) => (ComponentStatus::Retrying, Some(at)),
			Phase::Waiting(Wait::Until { at }) => (ComponentStatus::Running, Some(at)),
			Phase::Waiting(Wait::Approval { deadline } | Wait::Signal { deadline }) => {
				(ComponentStatus::Running, deadline)
			}
			Phase::Waiting(Wait::Children) => (ComponentStatus::Running, None),
			Phase::Ended => return None,
		})
	}

	/// The phase a stored record stands for. A stored `running` without a deadline may have been
	/// ready or had an attempt in flight: either way it has to run again, so it is ready (the
	/// interrupted attempt is told apart by the attempts table, see `machine::recover`). A
	/// `running` record that says what it waits for (`waiting`) waits on the outside world. A
	/// durable component `running` without a deadline was held at a breakpoint before its wait
	/// began.
	pub(crate) fn of_record(step: &StepRecord, durable: bool) -> Phase {
		match (step.status, step.run_at) {
			(ComponentStatus::Pending, _) => Phase::Pending,
			(ComponentStatus::Running, deadline) if step.waiting.is_some() => {
				Phase::Waiting(match step.waiting {
					Some(Waiting::Approval(_)) => Wait::Approval { deadline },
					Some(Waiting::Children(_)) => Wait::Children,
					_ => Wait::Signal { deadline },
				})
			}
			(ComponentStatus::Retrying, at) => Phase::Waiting(Wait::Backoff {
				at: at.unwrap_or(0),
			}),
			(ComponentStatus::Running, Some(at)) if durable => Phase::Waiting(Wait::Until { at }),
			(ComponentStatus::Running, _) => Phase::Ready,
			(s, _) if s.is_terminal() => Phase::Ended,
			// Any other stored status is not one the engine writes: run it again.
			_ => Phase::Ready,
		}
	}
}
