//! The coordinator: the one task that owns this node's in-flight executions. Its loop and what
//! it does after each commit; the handling of messages is in `messages`, its part in a cluster in
//! `cluster`.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use apg_core::{
	Batch, ComponentError, Event, Execution, ExecutionId, Millis, Store, WorkflowId, Write,
};
use serde_json::Value;
use tokio::sync::{broadcast, mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use super::cluster::ClusterState;
use super::cluster::write_execution;
use super::{EngineConfig, Inner, Msg, ReadyQueue, RememberedKeys, Timers};
use crate::attempt::{self, Job, SecretAccess};
use crate::context;
use crate::error::{EngineError, Result};
use crate::machine::{self, Action, Command, Effects};
use crate::output_cap;
use crate::state::ExecutionState;

/// How long attempt starts may wait for a batch to join before they are committed alone.
const LAZY_COMMIT_MS: Millis = 20;

/// Messages taken per turn before committing. It bounds a turn's batch, and with it the
/// memory of a burst. On the bench (10,000 simultaneous executions, 2 cores, 2026-12-03):
/// 512 peaked at 138–146 MB in 2.76–2.85 s; 1,024 at 146–154 MB in 2.68–2.81 s; 2,048 at
/// 141–185 MB in 2.86–3.75 s. Smaller turns also commit sooner; throughput did not change.
const MAX_MESSAGES_PER_TURN: usize = 512;

pub(super) struct Coordinator {
	pub(super) store: Arc<dyn Store>,
	pub(super) config: EngineConfig,
	pub(super) rx: mpsc::UnboundedReceiver<Msg>,
	pub(super) tx: mpsc::UnboundedSender<Msg>,
	pub(super) events: broadcast::Sender<Arc<Event>>,
	pub(super) states: HashMap<ExecutionId, ExecutionState>,
	/// Components ready for a worker.
	pub(super) ready: ReadyQueue,
	/// Armed durable timers.
	pub(super) timers: Timers,
	/// Attempts in flight and how to cancel them.
	pub(super) running: HashMap<(ExecutionId, usize), CancellationToken>,
	/// Writes not yet committed.
	pub(super) batch: Vec<Write>,
	/// Attempt starts, committed with the next batch rather than on their own (see the module
	/// documentation).
	pub(super) lazy: Vec<Write>,
	/// Actions waiting for the commit of `batch`.
	pub(super) actions: Vec<(ExecutionId, Action)>,
	/// New executions to acknowledge once committed.
	pub(super) started: Vec<(oneshot::Sender<Result<Execution>>, Execution)>,
	pub(super) waiters: HashMap<ExecutionId, Vec<oneshot::Sender<Execution>>>,
	pub(super) idle: Vec<oneshot::Sender<()>>,
	/// Set once a shutdown began: nothing new is dispatched.
	pub(super) draining: bool,
	/// Idempotency keys of executions created by this process.
	pub(super) keys: RememberedKeys,
	/// Workflows deleted by this process: executions of them can no longer start.
	pub(super) deleted: std::collections::HashSet<WorkflowId>,
	/// Deletions to perform after the next commit.
	pub(super) deletions: Vec<(WorkflowId, oneshot::Sender<Result<bool>>)>,
	/// The engine, for compiling the versions of claimed executions.
	pub(super) engine: std::sync::Weak<Inner>,
	/// This node's part in a cluster: leases, claiming and renewal times, wake-ups.
	pub(super) cluster: ClusterState,
	/// What committing has cost so far (for metrics and the bench).
	pub(super) commits: CommitTally,
}

/// Commits made, their writes, and the time spent waiting for them.
#[derive(Default)]
pub(super) struct CommitTally {
	pub(super) commits: u64,
	pub(super) writes: u64,
	pub(super) time: Duration,
}

impl Coordinator {
	/// A handle on the engine, for the actions that run as tasks of their own.
	fn engine_handle(&self) -> Option<super::Engine> {
		self.engine.upgrade().map(|inner| super::Engine { inner })
	}

	pub(super) fn absorb(&mut self, id: ExecutionId, fx: Effects) {
		self.batch.extend(fx.writes);
		self.actions.extend(fx.actions.into_iter().map(|a| (id, a)));
	}

	pub(super) async fn run(mut self) {
		let mut shutdown: Option<(Millis, oneshot::Sender<()>)> = None;
		loop {
			if self.batch.is_empty() && self.actions.is_empty() {
				let lazy_deadline =
					(!self.lazy.is_empty()).then(|| crate::clock::now() + LAZY_COMMIT_MS);
				let deadline = [
					self.timers.next_deadline(),
					lazy_deadline,
					self.maintenance_due(),
				]
				.into_iter()
				.flatten()
				.min();
				let sleep = async {
					match deadline {
						Some(at) => {
							let wait = (at - crate::clock::now()).max(0) as u64;
							tokio::time::sleep(Duration::from_millis(wait)).await;
						}
						None => std::future::pending::<()>().await,
					}
				};
				tokio::select! {
					msg = self.rx.recv() => match msg {
						Some(msg) => self.handle(msg, &mut shutdown),
						None => break,
					},
					() = sleep => {}
				}
			}
			let mut taken = 0;
			while taken < MAX_MESSAGES_PER_TURN {
				match self.rx.try_recv() {
					Ok(msg) => self.handle(msg, &mut shutdown),
					Err(_) => break,
				}
				taken += 1;
			}
			self.fire_timers();
			self.run_inline();
			self.commit().await;
			for (workflow, reply) in std::mem::take(&mut self.deletions) {
				let result = self
					.store
					.delete_workflow(workflow)
					.await
					.map_err(EngineError::from);
				let _ = reply.send(result);
			}
			self.perform();
			self.dispatch();
			// Leases are renewed while draining too (claiming stops).
			self.maintain().await;
			if let Some((deadline, _)) = &shutdown
				&& (self.running.is_empty() || crate::clock::now() >= *deadline)
			{
				self.commit().await;
				if let Some((_, reply)) = shutdown.take() {
					let _ = reply.send(());
				}
				break;
			}
			if shutdown.is_some() && self.batch.is_empty() && self.actions.is_empty() {
				// Draining: wait for running attempts without spinning.
				if let Some(msg) = tokio::select! {
					msg = self.rx.recv() => msg,
					() = tokio::time::sleep(Duration::from_millis(50)) => None,
				} {
					self.handle(msg, &mut shutdown);
				}
			}
		}
		for (_, token) in self.running.drain() {
			token.cancel();
		}
	}

	pub(super) fn fire_timers(&mut self) {
		let now = crate::clock::now();
		for (exec, node) in self.timers.take_due(now) {
			if let Some(st) = self.states.get_mut(&exec)
				&& let Ok(fx) = machine::apply(st, Command::TimerFired { node }, now)
			{
				self.absorb(exec, fx);
			}
		}
	}

	/// Commits the pending writes, retrying until the store takes them: nothing is acknowledged,
	/// published or scheduled before its checkpoint is durable.
	pub(super) async fn commit(&mut self) {
		if self.batch.is_empty() && self.lazy.is_empty() {
			return;
		}
		// Attempt starts are older than anything in `batch`: they go first so the last write of
		// each step wins.
		let mut writes = std::mem::take(&mut self.lazy);
		writes.append(&mut self.batch);
		let fences = self.fences_for(&writes);
		let mut batch = Batch { writes, fences };
		let mut delay = Duration::from_millis(50);
		let began = std::time::Instant::now();
		loop {
			match self.store.commit(&batch).await {
				Ok(()) => break,
				Err(apg_core::store::StoreError::LeaseLost(lost)) => {
					tracing::warn!(
						executions = lost.len(),
						"lost leases: another node took these executions over"
					);
					self.drop_executions(&lost);
					batch.writes.retain(|w| !lost.contains(&write_execution(w)));
					batch.fences.retain(|f| !lost.contains(&f.execution_id));
				}
				Err(apg_core::store::StoreError::Dangling(cause)) => {
					// Retrying cannot help: find the executions whose writes cannot go in (their
					// workflow was deleted meanwhile) and give them up; commit the rest.
					tracing::error!(%cause, "a checkpoint refers to a deleted workflow");
					let doomed = self.dangling(&batch).await;
					self.drop_executions(&doomed);
					batch
						.writes
						.retain(|w| !doomed.contains(&write_execution(w)));
					batch.fences.retain(|f| !doomed.contains(&f.execution_id));
					// `dangling` committed every other execution's writes on their own.
					break;
				}
				Err(e) => {
					tracing::error!(error = %e, writes = batch.writes.len(), "commit failed; retrying");
					tokio::time::sleep(delay).await;
					delay = (delay * 2).min(Duration::from_secs(5));
				}
			}
		}
		self.commits.commits += 1;
		self.commits.writes += batch.writes.len() as u64;
		self.commits.time += began.elapsed();
		self.after_commit(&batch).await;
		if let Some(wake) = &self.cluster.tail_wake {
			// In a cluster every node delivers events from the database (see `cluster::tail`).
			wake.notify_one();
			return;
		}
		for w in batch.writes {
			if let Write::Event(e) = w {
				let _ = self.events.send(Arc::new(e));
			}
		}
	}

	/// Commits each execution's writes of a batch alone and returns the executions whose writes
	/// cannot go in (their workflow is gone). Transient failures are retried here.
	async fn dangling(&self, batch: &Batch) -> Vec<ExecutionId> {
		let mut ids: Vec<ExecutionId> = batch.writes.iter().map(write_execution).collect();
		ids.sort();
		ids.dedup();
		let mut doomed = Vec::new();
		for id in ids {
			let writes: Vec<Write> = batch
				.writes
				.iter()
				.filter(|w| write_execution(w) == id)
				.cloned()
				.collect();
			let fences = batch
				.fences
				.iter()
				.filter(|f| f.execution_id == id)
				.cloned()
				.collect();
			let alone = Batch { writes, fences };
			loop {
				match self.store.commit(&alone).await {
					Ok(()) => break,
					Err(
						apg_core::store::StoreError::Dangling(_)
						| apg_core::store::StoreError::LeaseLost(_),
					) => {
						doomed.push(id);
						break;
					}
					Err(e) => {
						tracing::error!(error = %e, "commit failed; retrying");
						tokio::time::sleep(Duration::from_millis(200)).await;
					}
				}
			}
		}
		doomed
	}

	/// Performs the actions whose writes are now committed.
	pub(super) fn perform(&mut self) {
		for (reply, exec) in self.started.drain(..) {
			let _ = reply.send(Ok(exec));
		}
		let now = crate::clock::now();
		for (exec, action) in std::mem::take(&mut self.actions) {
			match action {
				Action::Run { node } => {
					let Some(st) = self.states.get_mut(&exec) else {
						continue;
					};
					let held = machine::at_breakpoint(st, node);
					if held || st.wf.nodes[node].durable {
						// Held at a breakpoint, or a durable wait released by the debugger (or
						// rebuilt before its timer was stored) that now arms its timer: the
						// writes join the next commit and its actions follow that commit.
						let command = if held {
							Command::Hold { node }
						} else {
							Command::Arm { node }
						};
						if let Ok(fx) = machine::apply(st, command, now) {
							self.batch.extend(fx.writes);
							self.actions
								.extend(fx.actions.into_iter().map(|a| (exec, a)));
						}
						continue;
					}
					self.ready
						.push(exec, node, st.exec.priority, now, self.config.aging);
				}
				Action::Timer { node, at } => {
					self.timers.arm(exec, node, at);
				}
				Action::Finished => {
					self.cluster.leases.remove(&exec);
					if let Some(st) = self.states.remove(&exec) {
						for waiter in self.waiters.remove(&exec).unwrap_or_default() {
							let _ = waiter.send(st.exec.clone());
						}
						if st.exec.parent.is_some()
							&& let Some(engine) = self.engine_handle()
						{
							let child = st.exec.clone();
							tokio::spawn(async move {
								let _ = engine.tell_parent(child).await;
							});
						}
					}
				}
				Action::Spawn { node } => {
					let engine = self.engine_handle();
					let Some(st) = self.states.get_mut(&exec) else {
						continue;
					};
					let (Some(spec), Some(engine)) = (st.spawning.remove(&node), engine) else {
						continue;
					};
					let round = st.steps[node].attempt;
					engine.spawn_children(super::children::SpawnJob {
						parent: st.exec.clone(),
						node,
						component_id: st.wf.nodes[node].id.clone(),
						round,
						spec,
					});
				}
				Action::Launch { child } => {
					if let Some(engine) = self.engine_handle() {
						engine.launch_child(child);
					}
				}
				Action::CancelChild { child } => {
					if let Some(engine) = self.engine_handle() {
						engine.cancel_child(child);
					}
				}
			}
		}
		if self.states.is_empty() {
			for reply in self.idle.drain(..) {
				let _ = reply.send(());
			}
		}
	}

	/// Runs the inline components among the pending `Run` actions (and those they make ready) in
	/// place, before the commit: their checkpoints join the batch of the step that readied them.
	pub(super) fn run_inline(&mut self) {
		if !self.config.inline {
			return;
		}
		let now = crate::clock::now();
		let mut queue: VecDeque<(ExecutionId, Action)> = std::mem::take(&mut self.actions).into();
		let mut keep = Vec::with_capacity(queue.len());
		while let Some((exec, action)) = queue.pop_front() {
			let Action::Run { node } = action else {
				keep.push((exec, action));
				continue;
			};
			let Some(st) = self.states.get_mut(&exec) else {
				continue;
			};
			let component = Arc::clone(&st.wf.nodes[node].component);
			if !component.is_inline()
				|| st.wf.needs_secrets(node)
				|| machine::at_breakpoint(st, node)
			{
				keep.push((exec, action));
				continue;
			}
			let prepared = context::prepare(st, node);
			// Refused when the component is no longer ready (ended, or already taken).
			let Ok(mut fx) = machine::apply(st, Command::Begin { node }, now) else {
				continue;
			};
			let attempt = st.steps[node].attempt;
			let result = match prepared {
				Ok(config) => {
					let ctx = attempt::context(st, node, attempt, CancellationToken::new());
					let input = st.steps[node].input.clone().unwrap_or(Value::Null);
					let result = attempt::poll_once(component.run(&ctx, &config, input))
						.unwrap_or_else(|| {
							Err(ComponentError::Fatal(
								"an inline component did not complete synchronously".to_owned(),
							))
						});
					output_cap::check(result, self.config.max_output_bytes)
				}
				Err(message) => Err(ComponentError::Fatal(message)),
			};
			let finish = Command::Finish {
				node,
				attempt,
				result,
				started: now,
			};
			if let Ok(done) = machine::apply(st, finish, now) {
				fx.extend(done);
			}
			self.batch.append(&mut fx.writes);
			queue.extend(fx.actions.into_iter().map(|a| (exec, a)));
		}
		self.actions = keep;
	}

	/// Starts ready attempts while there is capacity.
	pub(super) fn dispatch(&mut self) {
		if self.draining {
			return;
		}
		let now = crate::clock::now();
		while self.running.len() < self.config.max_concurrent_tasks {
			let Some((exec, node)) = self.ready.pop() else {
				break;
			};
			let Some(st) = self.states.get_mut(&exec) else {
				continue;
			};
			// Rendering first: an `input` override is part of what the attempt's start records.
			let prepared = context::prepare(st, node);
			// Refused when the component is no longer ready (ended, or already taken).
			let Ok(mut fx) = machine::apply(st, Command::Begin { node }, now) else {
				continue;
			};
			let attempt = st.steps[node].attempt;
			self.lazy.append(&mut fx.writes);
			match prepared {
				Ok(config) => {
					let n = &st.wf.nodes[node];
					let token = CancellationToken::new();
					let job = Job {
						component: Arc::clone(&n.component),
						timeout: n.options.timeout,
						ctx: attempt::context(st, node, attempt, token.clone()),
						config,
						input: st.steps[node].input.clone().unwrap_or(Value::Null),
						secrets: st.wf.needs_secrets(node).then(|| {
							let access = SecretAccess::of(&st.wf, self.config.secrets.as_ref());
							(access, Arc::clone(&n.secrets))
						}),
					};
					self.running.insert((exec, node), token);
					let tx = self.tx.clone();
					let limit = self.config.max_output_bytes;
					tokio::spawn(async move {
						let (attempt, result) = (job.ctx.attempt, job.run().await);
						let result = Box::new(output_cap::check(result, limit));
						let _ = tx.send(Msg::Finished {
							exec,
							node,
							attempt,
							result,
							started: now,
						});
					});
				}
				Err(message) => {
					let finish = Command::Finish {
						node,
						attempt,
						result: Err(ComponentError::Fatal(message)),
						started: now,
					};
					if let Ok(done) = machine::apply(st, finish, now) {
						fx.extend(done);
					}
				}
			}
			self.absorb(exec, fx);
		}
	}
}
