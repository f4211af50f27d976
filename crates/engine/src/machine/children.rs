//! Steps that wait for child executions (`sub_workflow`, `for_each`; see `apg_core::child`).
//!
//! Rules:
//! - The step's wait begins with its rendered spec kept in memory and a [`Action::Spawn`]: the
//!   driver resolves the target (its version, whether the starter may run it, the depth) and
//!   answers with the children's records, or why there can be none ([`spawned`]).
//! - The children are written `pending` in the step's next checkpoint and released
//!   `concurrency` at a time ([`Action::Launch`]); each that ends ([`child_ended`]) releases the
//!   next. Which children exist and how they ended is read back from their own rows when the
//!   parent is rebuilt, so only the step's shape is in its checkpoint.
//! - A child that did not complete fails the step (and cancels its siblings) unless the
//!   for_each continues on failure; the step completes when every child has ended: a
//!   sub_workflow with its child's results, a for_each with the list of them in input order.
//! - When the parent ends otherwise (cancelled, failed elsewhere), its children are cancelled.

use apg_core::{
	ChildSpec, ChildrenWait, ComponentStatus, Execution, ExecutionStatus, LogLevel, Millis,
	Waiting, Write,
};
use serde_json::{Value, json};

use super::waits::{end_failed, finish_attempt};
use super::{Action, Effects, check_done, complete_node, mark_running};
use crate::phase::{Phase, Wait};
use crate::state::{Brood, Child, ChildState, ExecutionState};

/// Begins the wait of a ready `sub_workflow` or `for_each`: asks the driver for its children.
pub(super) fn begin(
	st: &mut ExecutionState,
	node: usize,
	spec: ChildSpec,
	now: Millis,
	fx: &mut Effects,
) {
	st.enter(node, Phase::Waiting(Wait::Children));
	let s = &mut st.steps[node];
	s.attempt += 1;
	s.started_at = Some(now);
	s.waiting = Some(Waiting::Children(ChildrenWait {
		target: spec.target.clone(),
		total: 0,
		concurrency: spec.concurrency,
		continue_on_failure: spec.continue_on_failure,
		round: s.attempt,
		spawned: false,
		each: spec.items.is_some(),
	}));
	let message = match &spec.items {
		Some(items) => format!(
			"running {} item(s), {} at a time",
			items.len(),
			spec.concurrency
		),
		None => "running a sub-workflow".to_owned(),
	};
	st.spawning.insert(node, spec);
	st.children.remove(&node);
	mark_running(st, now, fx);
	fx.step(st, node);
	fx.component_event(st, node, now);
	fx.log(st, LogLevel::Info, Some(node), message, now);
	fx.actions.push(Action::Spawn { node });
}

fn wait_of(st: &ExecutionState, node: usize) -> Option<&ChildrenWait> {
	match (&st.phases[node], &st.steps[node].waiting) {
		(Phase::Waiting(Wait::Children), Some(Waiting::Children(w))) => Some(w),
		_ => None,
	}
}

fn wait_mut(st: &mut ExecutionState, node: usize) -> Option<&mut ChildrenWait> {
	match &mut st.steps[node].waiting {
		Some(Waiting::Children(w)) => Some(w),
		_ => None,
	}
}

/// The driver's answer to [`Action::Spawn`]: the children to create, or why there are none.
pub(super) fn spawned(
	st: &mut ExecutionState,
	node: usize,
	round: u32,
	children: Result<Vec<Execution>, String>,
	now: Millis,
	fx: &mut Effects,
) {
	if !wait_of(st, node).is_some_and(|w| w.round == round && !w.spawned) {
		return;
	}
	let children = match children {
		Ok(c) => c,
		Err(message) => {
			end_failed(st, node, message, now, fx);
			check_done(st, now, fx);
			return;
		}
	};
	for child in &children {
		fx.writes.push(Write::Child(Box::new(child.clone())));
	}
	let total = children.len() as u32;
	if let Some(w) = wait_mut(st, node) {
		w.total = total;
		w.spawned = true;
	}
	let slots = children
		.into_iter()
		.map(|c| Child {
			id: c.id,
			state: ChildState::Pending(Box::new(c)),
		})
		.collect();
	st.children.insert(node, Brood::new(slots));
	fx.step(st, node);
	settle(st, node, now, fx);
	check_done(st, now, fx);
}

/// A child ended (delivered by the driver, or read back on a rebuild).
pub(super) fn child_ended(
	st: &mut ExecutionState,
	child: Execution,
	now: Millis,
	fx: &mut Effects,
) {
	let Some(link) = &child.parent else {
		return;
	};
	let Some(&node) = st.wf.index.get(link.component_id.as_str()) else {
		return;
	};
	if !child.status.is_terminal()
		|| !wait_of(st, node).is_some_and(|w| w.round == link.round && w.spawned)
	{
		return;
	}
	let i = link.item.unwrap_or(0) as usize;
	let Some(brood) = st.children.get_mut(&node) else {
		return;
	};
	let Some(slot) = brood.slots.get_mut(i).filter(|c| c.id == child.id) else {
		return;
	};
	match slot.state {
		ChildState::Ended { .. } => return,
		ChildState::Released => brood.running -= 1,
		// Ended before its parent saw it start (a parent rebuilt meanwhile).
		ChildState::Pending(_) => {}
	}
	slot.state = ChildState::Ended {
		status: child.status,
		results: child.results.clone(),
		error: child.error_message.clone(),
	};
	brood.ended += 1;
	if child.status != ExecutionStatus::Completed && brood.failure.is_none() {
		brood.failure = Some((i, describe(child.status, child.error_message.as_deref())));
	}
	settle(st, node, now, fx);
	check_done(st, now, fx);
}

/// Moves a waiting step on: fails it on a child that did not complete (unless it continues),
/// completes it when every child has ended, and otherwise releases children up to its
/// concurrency.
pub(super) fn settle(st: &mut ExecutionState, node: usize, now: Millis, fx: &mut Effects) {
	let Some(w) = wait_of(st, node).cloned() else {
		return;
	};
	if !w.spawned {
		return;
	}
	let Some(brood) = st.children.get_mut(&node) else {
		return;
	};
	if !w.continue_on_failure
		&& let Some((i, why)) = brood.failure.clone()
	{
		let message = if w.each {
			format!("item {i} {why}")
		} else {
			format!("the sub-workflow {why}")
		};
		abandon(st, node, now, fx);
		end_failed(st, node, message, now, fx);
		return;
	}
	if brood.ended == brood.slots.len() {
		let results: Vec<Value> = brood
			.slots
			.iter()
			.map(|c| match &c.state {
				ChildState::Ended {
					status: ExecutionStatus::Completed,
					results,
					..
				} => results.clone().unwrap_or(Value::Null),
				ChildState::Ended { status, error, .. } => {
					json!({"status": status, "error": describe(*status, error.as_deref())})
				}
				_ => Value::Null,
			})
			.collect();
		let output = if w.each {
			Value::Array(results)
		} else {
			results.into_iter().next().unwrap_or(Value::Null)
		};
		let limit = st.wf.max_output_bytes;
		if !apg_core::size::json_fits(&output, limit) {
			let message = format!(
				"the children's results are larger than {}: return less from each, or write \
				 them to files",
				crate::output_cap::describe_limit(limit)
			);
			end_failed(st, node, message, now, fx);
			return;
		}
		finish_attempt(st, node, ComponentStatus::Completed, now, fx);
		complete_node(st, node, output, None, now, fx);
		return;
	}
	while brood.running < w.concurrency as usize && brood.next < brood.slots.len() {
		let c = &mut brood.slots[brood.next];
		brood.next += 1;
		if matches!(c.state, ChildState::Pending(_)) {
			c.state = ChildState::Released;
			brood.running += 1;
			fx.actions.push(Action::Launch { child: c.id });
		}
	}
}

/// How a child that did not complete ended.
pub(crate) fn describe(status: ExecutionStatus, error: Option<&str>) -> String {
	match error {
		Some(e) => format!("{status}: {e}"),
		None => format!("{status}"),
	}
}

/// Cancels the children of a step that ends before they do: released ones through the engine
/// (they may run on any node), pending ones in this checkpoint (nobody else writes them).
pub(super) fn abandon(st: &mut ExecutionState, node: usize, now: Millis, fx: &mut Effects) {
	let Some(brood) = st.children.get_mut(&node) else {
		return;
	};
	let why = "its parent step ended".to_owned();
	for c in brood.slots.iter_mut() {
		let state = std::mem::replace(
			&mut c.state,
			ChildState::Ended {
				status: ExecutionStatus::Cancelled,
				results: None,
				error: Some(why.clone()),
			},
		);
		match state {
			ChildState::Released => fx.actions.push(Action::CancelChild { child: c.id }),
			ChildState::Pending(mut record) => {
				record.status = ExecutionStatus::Cancelled;
				record.error_message = Some(why.clone());
				record.completed_at = Some(now);
				fx.writes.push(Write::Child(record));
			}
			ended @ ChildState::Ended { .. } => c.state = ended,
		}
	}
	brood.running = 0;
	brood.ended = brood.slots.len();
	brood.next = brood.slots.len();
}
