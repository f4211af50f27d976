//! How the coordinator handles each message from the engine's handles and its attempt tasks.

use apg_core::Millis;
use tokio::sync::oneshot;

use super::Msg;
use super::config::EngineStats;
use super::coordinator::Coordinator;
use crate::error::EngineError;
use crate::machine::{self, Command};

impl Coordinator {
	pub(super) fn handle(
		&mut self,
		msg: Msg,
		shutdown: &mut Option<(Millis, oneshot::Sender<()>)>,
	) {
		let now = crate::clock::now();
		match msg {
			Msg::Start(state, reply) => {
				let mut state = *state;
				if self.deleted.contains(&state.exec.workflow_id) {
					let _ = reply.send(Err(EngineError::NotFound(format!(
						"workflow {}",
						state.exec.workflow_id
					))));
					return;
				}
				if let Some(key) = state.exec.idempotency_key.clone()
					&& let Some(existing) =
						self.keys.claim(state.exec.workflow_id, key, &state.exec)
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
			Msg::Finished {
				exec,
				node,
				attempt,
				result,
				started,
			} => {
				self.running.remove(&(exec, node));
				if let Some(st) = self.states.get_mut(&exec) {
					let finish = Command::Finish {
						node,
						attempt,
						result: *result,
						started,
					};
					if let Ok(fx) = machine::apply(st, finish, now) {
						self.absorb(exec, fx);
					}
				}
			}
			Msg::Cancel(exec, reply) => {
				let result = match self.states.get_mut(&exec) {
					Some(st) => {
						// An execution that has just ended has nothing left to cancel.
						if let Ok(fx) = machine::apply(st, Command::Cancel, now) {
							self.absorb(exec, fx);
						}
						for (key, token) in &self.running {
							if key.0 == exec {
								token.cancel();
							}
						}
						Ok(())
					}
					None => Err(EngineError::Conflict(format!(
						"execution {exec} is not running"
					))),
				};
				let _ = reply.send(result);
			}
			Msg::CancelClaimed {
				state,
				resumed,
				token,
				reply,
			} => {
				let mut state = *state;
				let id = state.exec.id;
				// The lease fences the commit; the end state releases it.
				self.cluster.leases.insert(id, token);
				let result = match machine::apply(&mut state, Command::Cancel, now) {
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
						// Resuming it ended it (nothing was left open): keep what resuming
						// wrote, so the end is committed and the lease released with it.
						self.states.insert(id, state);
						self.absorb(id, resumed);
						Err(EngineError::Conflict(format!("execution {id}: {refusal}")))
					}
				};
				let _ = reply.send(result);
			}
			Msg::Resume(exec, step, reply) => {
				let result = match self.states.get_mut(&exec) {
					Some(st) => match machine::apply(st, Command::Resume { step }, now) {
						Ok(fx) => {
							self.absorb(exec, fx);
							Ok(())
						}
						Err(refusal) => Err(EngineError::Conflict(format!(
							"execution {exec}: {refusal}"
						))),
					},
					None => Err(EngineError::Conflict(format!(
						"execution {exec} is not running"
					))),
				};
				let _ = reply.send(result);
			}
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
			Msg::Retry(state, reply) => {
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
				let mut state = *state;
				if let Ok(fx) = machine::apply(&mut state, Command::Retry, now) {
					self.started.push((reply, state.exec.clone()));
					if self.config.cluster.is_some() {
						// Queued again in the database; whichever node claims it runs it.
						self.batch.extend(fx.writes);
						self.cluster.created = true;
					} else {
						self.states.insert(id, state);
						self.absorb(id, fx);
					}
				} else {
					let status = state.exec.status;
					let _ = reply.send(Err(EngineError::Conflict(format!(
						"execution {id} is {status}"
					))));
				}
			}
			Msg::Breakpoints(exec, breakpoints, reply) => {
				let result = match self.states.get_mut(&exec) {
					Some(st) => match machine::apply(st, Command::SetBreakpoints(breakpoints), now)
					{
						Ok(fx) => {
							self.absorb(exec, fx);
							Ok(())
						}
						Err(refusal) => Err(EngineError::Invalid(vec![apg_core::Issue::new(
							"breakpoints",
							refusal.to_string(),
						)])),
					},
					None => Err(EngineError::Conflict(format!(
						"execution {exec} is not running"
					))),
				};
				let _ = reply.send(result);
			}
			Msg::Stats(reply) => {
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
				let _ = reply.send(stats);
			}
			Msg::Delete(workflow, reply) => {
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
			Msg::Held(exec, reply) => {
				let held = self
					.states
					.get(&exec)
					.map(|st| st.held.iter().map(|&n| st.wf.nodes[n].id.clone()).collect());
				let _ = reply.send(held);
			}
			Msg::Wake => self.cluster.claim_due = true,
			Msg::Shutdown(drain, reply) => {
				self.draining = true;
				*shutdown = Some((now + drain.as_millis() as Millis, reply));
			}
		}
	}
}
