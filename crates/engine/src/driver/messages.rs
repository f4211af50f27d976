//! How the coordinator handles each message from the engine's handles and its attempt tasks:
//! [`Coordinator::handle`] routes each to one method, which turns it into a machine
//! [`Command`] (applied through [`Coordinator::command`]) or answers a question about the
//! executions in flight. Nothing here changes an execution's state but the machine.

use apg_core::{ExecutionId, Millis, WorkflowId};
use tokio::sync::oneshot;

use super::Msg;
use super::config::EngineStats;
use super::coordinator::Coordinator;
use crate::error::{EngineError, Result};
use crate::machine::{self, Command, Refusal};
use crate::state::ExecutionState;

type Reply<T> = oneshot::Sender<Result<T>>;

impl Coordinator {
	pub(super) fn handle(
		&mut self,
		msg: Msg,
		shutdown: &mut Option<(Millis, oneshot::Sender<()>)>,
	) {
		let now = crate::clock::now();
		match msg {
			Msg::Start(state, reply) => self.start(*state, reply, now),
			Msg::Finished {
				exec,
				node,
				attempt,
				result,
				started,
			} => {
				self.running.remove(&(exec, node));
				let finish = Command::Finish {
					node,
					attempt,
					result: *result,
					started,
				};
				// A result for an execution no longer here (cancelled, taken over) is dropped.
				let _ = self.command(exec, finish, now);
			}
			Msg::Cancel(exec, reply) => {
				let _ = reply.send(self.cancel(exec, now));
			}
			Msg::CancelClaimed {
				state,
				resumed,
				token,
				reply,
			} => {
				let _ = reply.send(self.cancel_claimed(*state, resumed, token, now));
			}
			Msg::Resume(exec, step, reply) => {
				let result = self
					.command(exec, Command::Resume { step }, now)
					.map_err(|e| e.conflict(exec));
				let _ = reply.send(result);
			}
			Msg::Breakpoints(exec, breakpoints, reply) => {
				let result = self
					.command(exec, Command::SetBreakpoints(breakpoints), now)
					.map_err(|e| e.invalid_breakpoints(exec));
				let _ = reply.send(result);
			}
			Msg::Reopen(state, command, reply) => self.reopen(*state, command, reply, now),
			Msg::Wait(exec, reply) => {
				if self.states.contains_key(&exec) {
					// Callers that gave up (a closed request) are forgotten, so a long pause
					// polled by many clients does not pile up waiters.
					let waiters = self.waiters.entry(exec).or_default();
					waiters.retain(|w| !w.is_closed());
					waiters.push(reply);
				}
			}
			Msg::Idle(reply) => self.idle.push(reply),
			Msg::Stats(reply) => {
				let _ = reply.send(self.stats());
			}
			Msg::Held(exec, reply) => {
				let held = self
					.states
					.get(&exec)
					.map(|st| st.held.iter().map(|&n| st.wf.nodes[n].id.clone()).collect());
				let _ = reply.send(held);
			}
			Msg::Delete(workflow, reply) => self.delete(workflow, reply),
			Msg::Wake => self.cluster.claim_due = true,
			Msg::Deliver(exec, delivery, reply) => {
				let here = !matches!(
					self.command(exec, delivery.command(), now),
					Err(NotApplied::NotHere)
				);
				let _ = reply.send(here);
			}
			Msg::Shutdown(drain, reply) => {
				self.draining = true;
				*shutdown = Some((now + drain.as_millis() as Millis, reply));
			}
		}
	}

	/// Applies `command` to the execution `exec` held here and takes in its effects.
	fn command(
		&mut self,
		exec: ExecutionId,
		command: Command,
		now: Millis,
	) -> std::result::Result<(), NotApplied> {
		let st = self.states.get_mut(&exec).ok_or(NotApplied::NotHere)?;
		let fx = machine::apply(st, command, now).map_err(NotApplied::Refused)?;
		self.absorb(exec, fx);
		Ok(())
	}

	fn start(&mut self, mut state: ExecutionState, reply: Reply<apg_core::Execution>, now: Millis) {
		if self.deleted.contains(&state.exec.workflow_id) {
			let workflow = state.exec.workflow_id;
			let _ = reply.send(Err(EngineError::NotFound(format!("workflow {workflow}"))));
			return;
		}
		if let Some(key) = state.exec.idempotency_key.clone()
			&& let Some(existing) = self.keys.claim(state.exec.workflow_id, key, &state.exec)
		{
			let _ = reply.send(Ok(existing));
			return;
		}
		// Starting a new execution is never refused.
		let fx = machine::apply(&mut state, Command::Start, now).unwrap_or_default();
		let id = state.exec.id;
		self.started.push((reply, state.exec.clone()));
		// (In a cluster, `Engine::execute` stores new executions itself.)
		self.states.insert(id, state);
		self.absorb(id, fx);
	}

	fn cancel(&mut self, exec: ExecutionId, now: Millis) -> Result<()> {
		match self.command(exec, Command::Cancel, now) {
			Err(NotApplied::NotHere) => {
				return Err(EngineError::Conflict(format!(
					"execution {exec} is not running"
				)));
			}
			// An execution that has just ended has nothing left to cancel.
			Ok(()) | Err(NotApplied::Refused(_)) => {}
		}
		for (key, token) in &self.running {
			if key.0 == exec {
				token.cancel();
			}
		}
		Ok(())
	}

	/// Cancels an execution this node claimed only for that, with the effects of resuming it.
	fn cancel_claimed(
		&mut self,
		mut state: ExecutionState,
		resumed: machine::Effects,
		token: i64,
		now: Millis,
	) -> Result<()> {
		let id = state.exec.id;
		// The lease fences the commit; the end state releases it.
		self.cluster.leases.insert(id, token);
		match machine::apply(&mut state, Command::Cancel, now) {
			Ok(cancelled) => {
				let mut fx = resumed;
				// What resuming would have run never starts: the cancel ends it first.
				fx.actions.clear();
				fx.extend(cancelled);
				self.states.insert(id, state);
				self.absorb(id, fx);
				Ok(())
			}
			Err(refusal) => {
				// Resuming it ended it (nothing was left open): keep what resuming wrote, so
				// the end is committed and the lease released with it.
				self.states.insert(id, state);
				self.absorb(id, resumed);
				Err(EngineError::Conflict(format!("execution {id}: {refusal}")))
			}
		}
	}

	fn reopen(
		&mut self,
		mut state: ExecutionState,
		command: Command,
		reply: Reply<apg_core::Execution>,
		now: Millis,
	) {
		let id = state.exec.id;
		if self.states.contains_key(&id) {
			let _ = reply.send(Err(EngineError::Conflict(format!(
				"execution {id} is running"
			))));
			return;
		}
		if self.deleted.contains(&state.exec.workflow_id) {
			let workflow = state.exec.workflow_id;
			let _ = reply.send(Err(EngineError::NotFound(format!("workflow {workflow}"))));
			return;
		}
		let Ok(fx) = machine::apply(&mut state, command, now) else {
			let status = state.exec.status;
			let _ = reply.send(Err(EngineError::Conflict(format!(
				"execution {id} is {status}"
			))));
			return;
		};
		self.started.push((reply, state.exec.clone()));
		if self.config.cluster.is_some() {
			// Queued again in the database; whichever node claims it runs it.
			self.batch.extend(fx.writes);
			self.cluster.created = true;
		} else {
			self.states.insert(id, state);
			self.absorb(id, fx);
		}
	}

	fn stats(&self) -> EngineStats {
		let mut stats = EngineStats {
			executions: self.states.len(),
			running: self.running.len(),
			max_running: self.config.max_concurrent_tasks,
			timers: self.timers.len(),
			commits: self.commits.commits,
			writes: self.commits.writes,
			commit_time: self.commits.time,
			..EngineStats::default()
		};
		for exec in self.ready.executions() {
			if let Some(st) = self.states.get(&exec) {
				stats.ready_by_priority[usize::from(st.exec.priority.get()) - 1] += 1;
			}
		}
		stats
	}

	/// Refuses while an execution of the workflow is in flight here; otherwise no execution of
	/// it may start from now on, and its rows go after the next commit.
	fn delete(&mut self, workflow: WorkflowId, reply: Reply<bool>) {
		if self
			.states
			.values()
			.any(|st| st.exec.workflow_id == workflow)
		{
			let message =
				format!("workflow {workflow} has executions in flight; cancel them first");
			let _ = reply.send(Err(EngineError::Conflict(message)));
		} else {
			self.deleted.insert(workflow);
			self.deletions.push((workflow, reply));
		}
	}
}

/// Why [`Coordinator::command`] changed nothing.
enum NotApplied {
	/// The execution is not in flight on this node.
	NotHere,
	/// The machine refused the command.
	Refused(Refusal),
}

impl NotApplied {
	/// As an operator's request sees it: a conflict with the execution's state.
	fn conflict(self, exec: ExecutionId) -> EngineError {
		match self {
			NotApplied::NotHere => {
				EngineError::Conflict(format!("execution {exec} is not running"))
			}
			NotApplied::Refused(r) => EngineError::Conflict(format!("execution {exec}: {r}")),
		}
	}

	/// As a change of breakpoints sees it: a breakpoint the machine refused is invalid input.
	fn invalid_breakpoints(self, exec: ExecutionId) -> EngineError {
		match self {
			NotApplied::NotHere => self.conflict(exec),
			NotApplied::Refused(r) => {
				EngineError::Invalid(vec![apg_core::Issue::new("breakpoints", r.to_string())])
			}
		}
	}
}
