//! [`ReadyQueue`]: components ready for a worker, most urgent first.
//!
//! Urgency is the time a component became ready, moved earlier by its execution's priority
//! (`aging` of waiting is worth one priority level), so a low priority waits but never starves.
//! Entries are not removed when an execution ends or is dropped: whoever pops one checks that
//! its component is still ready (`machine::Command::Begin` refuses otherwise).

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::Duration;

use apg_core::{ExecutionId, Millis, Priority};

/// The queue.
#[derive(Default)]
pub(super) struct ReadyQueue {
	/// (ordering key, tie-breaker in arrival order, execution, node).
	heap: BinaryHeap<Reverse<(i64, u64, ExecutionId, usize)>>,
	seq: u64,
}

impl ReadyQueue {
	/// Queues `node` of `exec`, ready since `now`.
	pub(super) fn push(
		&mut self,
		exec: ExecutionId,
		node: usize,
		priority: Priority,
		now: Millis,
		aging: Duration,
	) {
		self.seq += 1;
		let key = now - i64::from(priority.get()) * aging.as_millis() as i64;
		self.heap.push(Reverse((key, self.seq, exec, node)));
	}

	/// The most urgent entry.
	pub(super) fn pop(&mut self) -> Option<(ExecutionId, usize)> {
		self.heap
			.pop()
			.map(|Reverse((_, _, exec, node))| (exec, node))
	}

	/// Every queued entry's execution, in no order (for the load per priority).
	pub(super) fn executions(&self) -> impl Iterator<Item = ExecutionId> + '_ {
		self.heap.iter().map(|Reverse((_, _, exec, _))| *exec)
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn priority_moves_a_component_ahead_by_its_aging_and_ties_keep_arrival_order() {
		let mut q = ReadyQueue::default();
		let aging = Duration::from_millis(100);
		let (a, b, c) = (ExecutionId::new(), ExecutionId::new(), ExecutionId::new());
		let p = |n| Priority::new(n).unwrap();
		q.push(a, 0, p(1), 1_000, aging);
		q.push(b, 0, p(1), 1_000, aging);
		// Ready 150 ms later but 2 levels higher: 200 ms of aging ahead.
		q.push(c, 0, p(3), 1_150, aging);
		assert_eq!(q.pop(), Some((c, 0)));
		assert_eq!(q.pop(), Some((a, 0)));
		assert_eq!(q.pop(), Some((b, 0)));
		assert_eq!(q.pop(), None);
	}
}
