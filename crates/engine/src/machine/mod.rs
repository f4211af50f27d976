//! The pure transitions of one execution (DESIGN §3). Each takes `now` and returns, through
//! [`Effects`], the writes of its checkpoint and the actions the driver performs after the commit.
//!
//! Rules, in one place:
//! - A component becomes ready when its incoming connections allow it: `join: all` waits until
//!   every incoming connection is decided and needs one taken; `join: any` runs on the first taken.
//!   A component whose incoming connections are all skipped is skipped, and so are the connections
//!   it leaves (dead-path elimination), iteratively, so long chains cannot overflow the stack.
//! - Its input is its predecessor's output, or an object keyed by predecessor id when several
//!   connections into it were taken; a component with no incoming connection gets the parameters.
//! - A retryable failure is retried after the configured back-off while attempts remain; the last
//!   failure follows `failure`/`always` connections when there are any, and otherwise fails the
//!   execution and cancels whatever else is open.
//! - The execution completes when no component is open; an `end` with `status: failure` that ran
//!   makes it fail. Its results are the outputs of the completed components with no outgoing
//!   connection.

use std::sync::Arc;

use apg_core::{
	AttemptRecord, ComponentError, ComponentStatus, ConnectionType, Event, EventKind,
	ExecutionStatus, Join, LogLevel, LogRecord, Millis, Outcome, Write,
};
use serde_json::{Map, Value};

use crate::context;
use crate::phase::{Phase, Wait};
use crate::state::{EdgeState, ExecutionState};

/// What the driver must do once the writes are committed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
	/// Dispatch the next attempt of a component.
	Run {
		/// The component's index.
		node: usize,
	},
	/// Arm a durable timer (a `delay` or a retry back-off).
	Timer {
		/// The component's index.
		node: usize,
		/// When it fires.
		at: Millis,
	},
	/// The execution reached an end state.
	Finished,
	/// Create the children of a waiting `sub_workflow` or `for_each` (the driver answers with
	/// [`Command::Spawned`]).
	Spawn {
		/// The component's index.
		node: usize,
	},
	/// Release a pending child execution: queue it to run.
	Launch {
		/// The child.
		child: apg_core::ExecutionId,
	},
	/// Cancel a released child execution (wherever it runs).
	CancelChild {
		/// The child.
		child: apg_core::ExecutionId,
	},
}

/// The output of a transition.
#[derive(Debug, Default)]
pub struct Effects {
	/// The checkpoint: to be committed before any action.
	pub writes: Vec<Write>,
	/// What to do after the commit.
	pub actions: Vec<Action>,
}

impl Effects {
	pub(super) fn step(&mut self, st: &ExecutionState, node: usize) {
		self.writes
			.push(Write::Step(Box::new(st.steps[node].clone())));
	}

	/// Appends `other`: its writes after these, its actions after these.
	pub(crate) fn extend(&mut self, other: Effects) {
		self.writes.extend(other.writes);
		self.actions.extend(other.actions);
	}

	pub(super) fn exec(&mut self, st: &ExecutionState) {
		self.writes
			.push(Write::Execution(Box::new(st.exec.clone())));
	}

	pub(super) fn event(&mut self, st: &ExecutionState, kind: EventKind, now: Millis) {
		self.writes.push(Write::Event(Event {
			execution_id: st.exec.id,
			workflow_id: st.exec.workflow_id,
			at: now,
			kind,
		}));
	}

	pub(super) fn component_event(&mut self, st: &ExecutionState, node: usize, now: Millis) {
		let s = &st.steps[node];
		let kind = EventKind::Component {
			component_id: s.component_id.clone(),
			status: s.status,
			attempt: s.attempt,
			error: s.error_message.clone(),
			output: if s.status == ComponentStatus::Completed {
				s.output.clone()
			} else {
				None
			},
			duration_ms: if s.status.is_terminal() {
				s.duration_ms
			} else {
				None
			},
		};
		self.event(st, kind, now);
	}

	pub(super) fn execution_event(&mut self, st: &ExecutionState, now: Millis) {
		let kind = EventKind::Execution {
			status: st.exec.status,
			error: st.exec.error_message.clone(),
		};
		self.event(st, kind, now);
	}

	pub(super) fn log(
		&mut self,
		st: &ExecutionState,
		level: LogLevel,
		node: Option<usize>,
		message: String,
		now: Millis,
	) {
		self.writes.push(Write::Log(LogRecord {
			execution_id: st.exec.id,
			at: now,
			level,
			component_id: node.map(|n| st.steps[n].component_id.clone()),
			message,
		}));
	}

	pub(super) fn attempt(
		&mut self,
		st: &ExecutionState,
		node: usize,
		status: ComponentStatus,
		started: Millis,
		finished: Option<Millis>,
	) {
		let s = &st.steps[node];
		self.writes.push(Write::Attempt(AttemptRecord {
			execution_id: st.exec.id,
			component_id: s.component_id.clone(),
			attempt: s.attempt,
			status,
			error_message: if status == ComponentStatus::Failed {
				s.error_message.clone()
			} else {
				None
			},
			started_at: started,
			finished_at: finished,
		}));
	}
}

/// Starts a new execution: its record, and every component without incoming connections ready.
fn start(st: &mut ExecutionState, now: Millis, fx: &mut Effects) {
	st.exec.status = ExecutionStatus::Queued;
	fx.exec(st);
	fx.execution_event(st, now);
	fx.log(
		st,
		LogLevel::Info,
		None,
		format!(
			"execution queued (workflow version {})",
			st.exec.workflow_version
		),
		now,
	);
	let roots: Vec<usize> = (0..st.steps.len())
		.filter(|&n| st.wf.nodes[n].incoming.is_empty())
		.collect();
	let params = Value::Object(st.exec.parameters.clone());
	for node in roots {
		make_ready(st, node, params.clone(), now, fx);
	}
	check_done(st, now, fx);
}

/// Marks a component ready with its input; durable waits arm their timer instead, unless a
/// breakpoint holds them first (the timer is armed when the debugger releases them).
pub(crate) fn make_ready(
	st: &mut ExecutionState,
	node: usize,
	input: Value,
	now: Millis,
	fx: &mut Effects,
) {
	st.enter(node, Phase::Ready);
	st.steps[node].input = Some(input);
	if st.wf.nodes[node].durable && !control::at_breakpoint(st, node) {
		waits::begin(st, node, now, fx);
		return;
	}
	fx.step(st, node);
	fx.actions.push(Action::Run { node });
}

/// Where a retry's delay falls in its jitter range (0–1): a hash (FNV-1a) of the execution,
/// the component and the attempt, so the rules stay a function of their inputs and a rebuilt
/// execution computes the same delay.
fn spread(st: &ExecutionState, node: usize, attempt: u32) -> f64 {
	let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
	let id = st.exec.id.0;
	let attempt = attempt.to_le_bytes();
	let bytes = id
		.as_bytes()
		.iter()
		.chain(st.wf.nodes[node].id.as_bytes())
		.chain(&attempt);
	for b in bytes {
		hash ^= u64::from(*b);
		hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
	}
	(hash >> 11) as f64 / (1u64 << 53) as f64
}

/// Records the start of the next attempt of a ready component and returns its number.
fn begin_attempt(st: &mut ExecutionState, node: usize, now: Millis, fx: &mut Effects) -> u32 {
	st.enter(node, Phase::Running);
	let s = &mut st.steps[node];
	s.attempt += 1;
	s.started_at.get_or_insert(now);
	s.error_message = None;
	let attempt = s.attempt;
	fx.step(st, node);
	fx.attempt(st, node, ComponentStatus::Running, now, None);
	fx.component_event(st, node, now);
	mark_running(st, now, fx);
	attempt
}

/// A queued execution whose first component begins is running.
pub(super) fn mark_running(st: &mut ExecutionState, now: Millis, fx: &mut Effects) {
	if st.exec.status == ExecutionStatus::Queued {
		st.exec.status = ExecutionStatus::Running;
		st.exec.started_at.get_or_insert(now);
		fx.exec(st);
		fx.execution_event(st, now);
	}
}

/// Applies the result of an attempt. Results of attempts that are no longer current (the
/// execution was cancelled, or recovery already re-dispatched the component) are ignored.
fn finished(
	st: &mut ExecutionState,
	node: usize,
	attempt: u32,
	result: Result<Outcome, ComponentError>,
	started: Millis,
	now: Millis,
	fx: &mut Effects,
) {
	if st.exec.status.is_terminal()
		|| st.phases[node] != Phase::Running
		|| st.steps[node].attempt != attempt
	{
		return;
	}
	let s = &mut st.steps[node];
	s.duration_ms = Some(s.duration_ms.unwrap_or(0) + (now - started).max(0));
	match result {
		Ok(outcome) => {
			fx.attempt(st, node, ComponentStatus::Completed, started, Some(now));
			if !outcome.vars.is_empty() {
				st.exec.vars.extend(outcome.vars);
				fx.exec(st);
			}
			for (level, message) in outcome.logs {
				fx.log(st, level, Some(node), message, now);
			}
			complete_node(st, node, outcome.output, outcome.branch, now, fx);
		}
		Err(error) => {
			st.steps[node].error_message = Some(error.to_string());
			fx.attempt(st, node, ComponentStatus::Failed, started, Some(now));
			let options = &st.wf.nodes[node].options;
			let used = attempt.saturating_sub(st.attempts_before_retry[node]);
			if error.is_retryable() && used <= options.retry_attempts {
				let delay = options.retry_delay_before(attempt + 1, spread(st, node, attempt));
				let at = now + delay.as_millis() as Millis;
				st.enter(node, Phase::Waiting(Wait::Backoff { at }));
				fx.step(st, node);
				fx.component_event(st, node, now);
				let message = format!(
					"attempt {attempt} failed: {error}; retrying in {} s",
					delay.as_secs_f64()
				);
				fx.log(st, LogLevel::Warning, Some(node), message, now);
				fx.actions.push(Action::Timer { node, at });
			} else {
				let message = if attempt > 1 {
					format!("failed after {attempt} attempts: {error}")
				} else {
					error.to_string()
				};
				fail_node(st, node, message, now, fx);
			}
		}
	}
	check_done(st, now, fx);
}

/// A durable timer fired: a retry becomes ready again, a delay completes with its input, an
/// approval or a signal's wait times out.
fn timer_fired(st: &mut ExecutionState, node: usize, now: Millis, fx: &mut Effects) {
	if st.exec.status.is_terminal() {
		return;
	}
	match st.phases[node] {
		Phase::Waiting(Wait::Backoff { .. }) => {
			st.enter(node, Phase::Ready);
			fx.actions.push(Action::Run { node });
		}
		Phase::Waiting(Wait::Until { .. }) => {
			let s = &mut st.steps[node];
			let started = s.started_at.unwrap_or(now);
			s.attempt += 1;
			s.duration_ms = Some((now - started).max(0));
			let input = s.input.clone().unwrap_or(Value::Null);
			fx.attempt(st, node, ComponentStatus::Completed, started, Some(now));
			complete_node(st, node, input, None, now, fx);
			check_done(st, now, fx);
		}
		// A deadline is armed at the wait's begin; a timer left from an earlier round fires
		// before its deadline and does nothing.
		Phase::Waiting(wait @ (Wait::Approval { .. } | Wait::Signal { .. }))
			if wait.deadline().is_some_and(|at| at <= now) =>
		{
			waits::timed_out(st, node, now, fx);
		}
		_ => {}
	}
}

pub(super) fn complete_node(
	st: &mut ExecutionState,
	node: usize,
	output: Value,
	branch: Option<String>,
	now: Millis,
	fx: &mut Effects,
) {
	st.end(node, ComponentStatus::Completed);
	let s = &mut st.steps[node];
	s.output = Some(output);
	s.branch = branch;
	s.error_message = None;
	s.completed_at = Some(now);
	fx.step(st, node);
	fx.component_event(st, node, now);
	let message = format!(
		"component '{}' completed (attempt {})",
		st.steps[node].component_id, st.steps[node].attempt
	);
	fx.log(st, LogLevel::Info, Some(node), message, now);
	resolve_outgoing(st, node, now, fx);
}

pub(super) fn fail_node(
	st: &mut ExecutionState,
	node: usize,
	message: String,
	now: Millis,
	fx: &mut Effects,
) {
	st.end(node, ComponentStatus::Failed);
	let s = &mut st.steps[node];
	s.error_message = Some(message.clone());
	s.completed_at = Some(now);
	fx.step(st, node);
	fx.component_event(st, node, now);
	let id = st.steps[node].component_id.clone();
	fx.log(
		st,
		LogLevel::Error,
		Some(node),
		format!("component '{id}' failed: {message}"),
		now,
	);
	if st.wf.handles_failure(node) {
		resolve_outgoing(st, node, now, fx);
	} else {
		finish(
			st,
			ExecutionStatus::Failed,
			Some(format!("component '{id}' failed: {message}")),
			now,
			fx,
		);
	}
}

fn skip_node(st: &mut ExecutionState, node: usize, now: Millis, fx: &mut Effects) {
	st.end(node, ComponentStatus::Skipped);
	st.steps[node].completed_at = Some(now);
	fx.step(st, node);
	fx.component_event(st, node, now);
}

/// Decides the connections leaving `node` and readies or skips their targets.
pub(super) fn resolve_outgoing(
	st: &mut ExecutionState,
	node: usize,
	now: Millis,
	fx: &mut Effects,
) {
	let wf = Arc::clone(&st.wf);
	let mut work = vec![node];
	while let Some(n) = work.pop() {
		for &e in &wf.nodes[n].outgoing {
			if st.exec.status.is_terminal() {
				return;
			}
			let edge = &wf.edges[e];
			match decide(st, e) {
				Ok(taken) => {
					st.edges[e] = if taken {
						EdgeState::Taken
					} else {
						EdgeState::Skipped
					}
				}
				Err(message) => {
					let msg = format!(
						"condition of the connection {} → {} failed: {message}",
						wf.nodes[n].id, wf.nodes[edge.target].id
					);
					finish(st, ExecutionStatus::Failed, Some(msg), now, fx);
					return;
				}
			}
			if settle(st, edge.target, now, fx) {
				work.push(edge.target);
			}
		}
	}
}

/// Whether connection `e` is taken, given its source's end state.
pub(crate) fn decide(st: &ExecutionState, e: usize) -> Result<bool, String> {
	let edge = &st.wf.edges[e];
	let source = &st.steps[edge.source];
	Ok(match (edge.kind, source.status) {
		(ConnectionType::Success, ComponentStatus::Completed) => {
			edge.branch.is_none() || edge.branch == source.branch
		}
		(ConnectionType::Failure, ComponentStatus::Failed) => true,
		(ConnectionType::Always, ComponentStatus::Completed | ComponentStatus::Failed) => true,
		(ConnectionType::Condition, ComponentStatus::Completed) => context::condition(
			st,
			edge.source,
			edge.condition.as_deref().unwrap_or("false"),
		)?,
		_ => false,
	})
}

/// Readies or skips a pending component whose incoming connections allow it. Returns true when
/// it was skipped, so the caller goes on to decide the connections it leaves.
pub(crate) fn settle(st: &mut ExecutionState, t: usize, now: Millis, fx: &mut Effects) -> bool {
	if st.phases[t] != Phase::Pending {
		return false;
	}
	let wf = Arc::clone(&st.wf);
	let incoming = &wf.nodes[t].incoming;
	let resolved = incoming.iter().all(|&i| st.edges[i] != EdgeState::Pending);
	let any_taken = incoming.iter().any(|&i| st.edges[i] == EdgeState::Taken);
	let ready = match wf.nodes[t].options.join {
		Join::All => resolved && any_taken,
		Join::Any => any_taken,
	};
	if ready {
		let input = input_for(st, t);
		make_ready(st, t, input, now, fx);
		false
	} else if resolved {
		skip_node(st, t, now, fx);
		true
	} else {
		false
	}
}

/// The input of `node`: the output of its one taken predecessor, or an object keyed by
/// predecessor id when several connections into it were taken.
pub(crate) fn input_for(st: &ExecutionState, node: usize) -> Value {
	let wf = &st.wf;
	let mut sources: Vec<usize> = wf.nodes[node]
		.incoming
		.iter()
		.filter(|&&e| st.edges[e] == EdgeState::Taken)
		.map(|&e| wf.edges[e].source)
		.collect();
	sources.dedup();
	match sources.as_slice() {
		[] => Value::Object(st.exec.parameters.clone()),
		[one] => st.steps[*one].output.clone().unwrap_or(Value::Null),
		many => {
			let mut map = Map::new();
			for &s in many {
				map.insert(
					st.steps[s].component_id.clone(),
					st.steps[s].output.clone().unwrap_or(Value::Null),
				);
			}
			Value::Object(map)
		}
	}
}

/// Ends the execution when no component is open.
pub(crate) fn check_done(st: &mut ExecutionState, now: Millis, fx: &mut Effects) {
	if st.open > 0 || st.exec.status.is_terminal() {
		return;
	}
	let failed_end = st
		.wf
		.nodes
		.iter()
		.enumerate()
		.find(|(i, n)| n.ends_in_failure && st.steps[*i].status == ComponentStatus::Completed)
		.map(|(_, n)| n.id.clone());
	match failed_end {
		Some(id) => {
			let message = format!("the workflow ended at '{id}' with status failure");
			finish(st, ExecutionStatus::Failed, Some(message), now, fx);
		}
		None => finish(st, ExecutionStatus::Completed, None, now, fx),
	}
}

/// Puts the execution in an end state, cancelling every open component.
pub(super) fn finish(
	st: &mut ExecutionState,
	status: ExecutionStatus,
	error: Option<String>,
	now: Millis,
	fx: &mut Effects,
) {
	for node in 0..st.steps.len() {
		if st.phases[node] == Phase::Waiting(Wait::Children) {
			children::abandon(st, node, now, fx);
		}
		let touched = match st.phases[node] {
			Phase::Ended => continue,
			phase => phase != Phase::Pending,
		};
		st.end(node, ComponentStatus::Cancelled);
		if touched {
			st.steps[node].completed_at = Some(now);
			fx.step(st, node);
			fx.component_event(st, node, now);
		}
	}
	st.held.clear();
	let mut results = Map::new();
	for (i, n) in st.wf.nodes.iter().enumerate() {
		if n.outgoing.is_empty() && st.steps[i].status == ComponentStatus::Completed {
			results.insert(
				n.id.clone(),
				st.steps[i].output.clone().unwrap_or(Value::Null),
			);
		}
	}
	st.exec.status = status;
	st.exec.error_message = error.clone();
	st.exec.results = Some(Value::Object(results));
	st.exec.completed_at = Some(now);
	fx.exec(st);
	fx.execution_event(st, now);
	let (level, message) = match &error {
		Some(e) if status == ExecutionStatus::Failed => {
			(LogLevel::Error, format!("execution failed: {e}"))
		}
		Some(e) => (LogLevel::Warning, format!("execution {status}: {e}")),
		None => (LogLevel::Info, format!("execution {status}")),
	};
	fx.log(st, level, None, message, now);
	fx.actions.push(Action::Finished);
}

mod children;
mod command;
mod control;
#[cfg(test)]
mod props;
mod recover;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod wait_tests;
mod waits;

pub(crate) use children::describe;
pub use command::{Command, Refusal, apply};
pub(crate) use control::at_breakpoint;
