//! [`Timers`]: the durable timers this node has armed (a `delay`, a retry's back-off), by
//! deadline. The deadlines are also in the store (`run_at` of each step), which is what
//! survives a restart; this is only the in-memory schedule of them.

use std::collections::BTreeSet;

use apg_core::{ExecutionId, Millis};

/// The schedule.
#[derive(Default)]
pub(super) struct Timers {
	/// (deadline, tie-breaker in arming order, execution, node).
	set: BTreeSet<(Millis, u64, ExecutionId, usize)>,
	seq: u64,
}

impl Timers {
	/// Arms a timer for `node` of `exec` at `at`.
	pub(super) fn arm(&mut self, exec: ExecutionId, node: usize, at: Millis) {
		self.seq += 1;
		self.set.insert((at, self.seq, exec, node));
	}

	/// The earliest deadline, to sleep until.
	pub(super) fn next_deadline(&self) -> Option<Millis> {
		self.set.first().map(|t| t.0)
	}

	/// Removes and returns the timers due at `now`, earliest first.
	pub(super) fn take_due(&mut self, now: Millis) -> Vec<(ExecutionId, usize)> {
		let mut due = Vec::new();
		while let Some(&(at, _, exec, node)) = self.set.first() {
			if at > now {
				break;
			}
			self.set.pop_first();
			due.push((exec, node));
		}
		due
	}

	/// How many are armed.
	pub(super) fn len(&self) -> usize {
		self.set.len()
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn due_timers_come_out_earliest_first_and_later_ones_stay() {
		let mut t = Timers::default();
		let (a, b) = (ExecutionId::new(), ExecutionId::new());
		t.arm(a, 1, 300);
		t.arm(b, 2, 100);
		t.arm(a, 3, 100);
		assert_eq!(t.next_deadline(), Some(100));
		assert_eq!(t.take_due(200), vec![(b, 2), (a, 3)]);
		assert_eq!(t.len(), 1);
		assert_eq!(t.take_due(299), vec![]);
		assert_eq!(t.take_due(300), vec![(a, 1)]);
		assert_eq!(t.next_deadline(), None);
	}
}
