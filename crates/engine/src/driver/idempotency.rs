//! [`RememberedKeys`]: the idempotency keys of executions this process created, so concurrent
//! duplicates of one request start one execution. Bounded: the oldest are forgotten first, and
//! `Engine::execute` finds those in the store.

use std::collections::{HashMap, VecDeque};

use apg_core::{Execution, WorkflowId};

/// Keys remembered in memory (the store remembers all of them).
const MAX_REMEMBERED_KEYS: usize = 100_000;

/// The keys, per workflow.
#[derive(Default)]
pub(super) struct RememberedKeys {
	keys: HashMap<(WorkflowId, String), Execution>,
	order: VecDeque<(WorkflowId, String)>,
}

impl RememberedKeys {
	/// The execution `key` of `workflow` created, or remembers `exec` as the one it creates.
	pub(super) fn claim(
		&mut self,
		workflow: WorkflowId,
		key: String,
		exec: &Execution,
	) -> Option<Execution> {
		let key = (workflow, key);
		if let Some(existing) = self.keys.get(&key) {
			return Some(existing.clone());
		}
		self.keys.insert(key.clone(), exec.clone());
		self.order.push_back(key);
		if self.order.len() > MAX_REMEMBERED_KEYS
			&& let Some(old) = self.order.pop_front()
		{
			self.keys.remove(&old);
		}
		None
	}
}
