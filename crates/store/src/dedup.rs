//! A batch grouped by table with the last write of each execution, step and attempt winning (in
//! first-seen order), which every SQL backend writes the same way: a step readied, started and
//! finished while one commit was in flight is written once.

use std::collections::HashMap;
use std::hash::Hash;

use apg_core::{AttemptRecord, Batch, Event, Execution, LogRecord, SignalId, StepRecord, Write};

/// The rows of a batch, per table.
#[derive(Default)]
pub(crate) struct Deduped<'a> {
	pub(crate) executions: Vec<&'a Execution>,
	pub(crate) steps: Vec<&'a StepRecord>,
	pub(crate) attempts: Vec<&'a AttemptRecord>,
	pub(crate) events: Vec<&'a Event>,
	pub(crate) logs: Vec<&'a LogRecord>,
	/// Signals taken: (signal, the step that took it).
	pub(crate) taken: Vec<(SignalId, &'a str)>,
}

/// Keeps the last write per key, in first-seen order.
struct LastWins<K, V> {
	index: HashMap<K, usize>,
	rows: Vec<V>,
}

impl<K: Hash + Eq, V> LastWins<K, V> {
	fn new() -> Self {
		Self {
			index: HashMap::new(),
			rows: Vec::new(),
		}
	}

	fn put(&mut self, key: K, value: V) {
		match self.index.get(&key) {
			Some(&i) => self.rows[i] = value,
			None => {
				self.index.insert(key, self.rows.len());
				self.rows.push(value);
			}
		}
	}
}

/// Groups `batch` by table.
pub(crate) fn dedup(batch: &Batch) -> Deduped<'_> {
	let mut executions = LastWins::new();
	let mut steps = LastWins::new();
	let mut attempts = LastWins::new();
	let mut out = Deduped::default();
	for w in &batch.writes {
		match w {
			Write::Execution(e) | Write::Child(e) => executions.put(e.id, &**e),
			Write::Step(s) => steps.put((s.execution_id, s.component_id.as_str()), &**s),
			Write::Attempt(a) => {
				attempts.put((a.execution_id, a.component_id.as_str(), a.attempt), a)
			}
			Write::Event(e) => out.events.push(e),
			Write::Log(l) => out.logs.push(l),
			Write::TakeSignal {
				signal,
				component_id,
				..
			} => out.taken.push((*signal, component_id.as_str())),
		}
	}
	out.executions = executions.rows;
	out.steps = steps.rows;
	out.attempts = attempts.rows;
	out
}
