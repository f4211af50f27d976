//! The driver: one coordinator task that owns every in-flight execution of this process.
//!
//! Each turn it takes every message waiting (attempt results, new executions, cancels), applies
//! the transitions of [`machine`], fires due timers, commits all resulting writes as one batch,
//! and only after that commit performs the actions: it publishes the events, answers callers, arms
//! timers and dispatches ready attempts, most urgent first, up to `max_concurrent_tasks`.
//!
//! Ready attempts are ordered by `enqueued_at − priority × aging`: priority 10 goes first, but an
//! attempt that has waited `aging` per level of difference overtakes a fresher, more urgent one,
//! so low priority never starves under sustained load.
//!
//! The write that records an attempt's start is not awaited before the component runs (it joins
//! the next batch): waiting would double the commits per step. After a crash, an attempt whose
//! start was committed runs again with its attempt count raised; one whose start was not yet
//! committed runs again under the same number.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use apg_core::{
	ComponentError, Event, Execution, ExecutionId, ExecutionStatus, Millis, Outcome, Registry,
	Store, WorkflowId, WorkflowStatus, params,
};
use serde_json::Map;
use tokio::sync::{broadcast, mpsc, oneshot};
use tokio::task::JoinHandle;

use crate::error::{EngineError, Result};
use crate::graph::Compiled;
use crate::machine;
use crate::recovery;
use crate::state::ExecutionState;

mod children;
mod cluster;
mod config;
mod coordinator;
mod idempotency;
mod messages;
mod ready;
mod timers;
mod waits;

pub use config::{ClusterMode, EngineConfig, EngineStats, ExecuteRequest, RerunRequest, RunCheck};
use coordinator::Coordinator;
use idempotency::RememberedKeys;
use ready::ReadyQueue;
use timers::Timers;
pub(crate) use waits::load as load_waits;
pub use waits::{DecisionRefused, PendingApproval};

/// What handles send the coordinator.
enum Msg {
	Start(Box<ExecutionState>, oneshot::Sender<Result<Execution>>),
	Finished {
		exec: ExecutionId,
		node: usize,
		attempt: u32,
		result: Box<Result<Outcome, ComponentError>>,
		started: Millis,
	},
	Cancel(ExecutionId, oneshot::Sender<Result<()>>),
	/// An execution this node claimed only to cancel it (nobody held it): rebuilt, with the
	/// effects of resuming it and its lease's token.
	CancelClaimed {
		state: Box<ExecutionState>,
		resumed: machine::Effects,
		token: i64,
		reply: oneshot::Sender<Result<()>>,
	},
	Resume(ExecutionId, bool, oneshot::Sender<Result<()>>),
	Wait(ExecutionId, oneshot::Sender<Execution>),
	Idle(oneshot::Sender<()>),
	/// A retry or a rerun: an execution rebuilt from records, re-opened by the command.
	Reopen(
		Box<ExecutionState>,
		machine::Command,
		oneshot::Sender<Result<Execution>>,
	),
	Breakpoints(ExecutionId, Vec<String>, oneshot::Sender<Result<()>>),
	Stats(oneshot::Sender<EngineStats>),
	Held(ExecutionId, oneshot::Sender<Option<Vec<String>>>),
	Delete(WorkflowId, oneshot::Sender<Result<bool>>),
	Shutdown(Duration, oneshot::Sender<()>),
	/// Another node signalled claimable work.
	Wake,
	/// A decision or signal stored for an execution; the answer says whether it is held here.
	Deliver(ExecutionId, waits::Delivery, oneshot::Sender<bool>),
}

/// A running engine. Cloning is cheap; all clones drive the same coordinator.
#[derive(Clone)]
pub struct Engine {
	inner: Arc<Inner>,
}

struct Inner {
	tx: mpsc::UnboundedSender<Msg>,
	events: broadcast::Sender<Arc<Event>>,
	store: Arc<dyn Store>,
	registry: Arc<Registry>,
	compiled: Mutex<HashMap<(WorkflowId, i64), Arc<Compiled>>>,
	/// Compiled inline bodies of for_each steps, by workflow version and step.
	bodies: Mutex<HashMap<(WorkflowId, i64, String), Arc<Compiled>>>,
	run_check: Option<config::RunCheck>,
	task: Mutex<Option<JoinHandle<()>>>,
	cluster: Option<ClusterMode>,
	cache: Option<Arc<dyn apg_core::Cache>>,
	max_output_bytes: usize,
}

impl Engine {
	/// Starts the engine on a migrated store and resumes every unfinished execution in it.
	pub async fn start(
		store: Arc<dyn Store>,
		registry: Arc<Registry>,
		config: EngineConfig,
	) -> Result<Self> {
		let (tx, rx) = mpsc::unbounded_channel();
		let (events, _) = broadcast::channel(config.event_buffer.max(16));
		let engine = Engine {
			inner: Arc::new(Inner {
				tx: tx.clone(),
				events: events.clone(),
				store: Arc::clone(&store),
				registry,
				compiled: Mutex::new(HashMap::new()),
				bodies: Mutex::new(HashMap::new()),
				run_check: config.run_check.clone(),
				task: Mutex::new(None),
				cluster: config.cluster.clone(),
				cache: config.cache.clone(),
				max_output_bytes: config.max_output_bytes,
			}),
		};
		// In a cluster, unfinished executions are taken over through their leases instead.
		let recovered = if config.cluster.is_none() {
			recovery::load(&engine).await?
		} else {
			Vec::new()
		};
		let tail_wake = config
			.cluster
			.as_ref()
			.map(|_| Arc::new(tokio::sync::Notify::new()));
		if let (Some(mode), Some(wake)) = (&config.cluster, &tail_wake) {
			cluster::listen(
				Arc::clone(&mode.bus),
				Arc::clone(&store),
				tx.clone(),
				Arc::clone(wake),
			);
			// Subscribers see what is committed from now on (history is in the store).
			let from = engine.inner.store.last_event_seq().await?;
			cluster::tail(
				Arc::downgrade(&engine.inner),
				events.clone(),
				Arc::clone(wake),
				from,
			);
		}
		let mut coordinator = Coordinator {
			store,
			config,
			rx,
			tx,
			events,
			states: HashMap::new(),
			ready: ReadyQueue::default(),
			timers: Timers::default(),
			running: HashMap::new(),
			batch: Vec::new(),
			lazy: Vec::new(),
			actions: Vec::new(),
			started: Vec::new(),
			waiters: HashMap::new(),
			idle: Vec::new(),
			draining: false,
			keys: RememberedKeys::default(),
			deleted: std::collections::HashSet::new(),
			deletions: Vec::new(),
			engine: Arc::downgrade(&engine.inner),
			cluster: cluster::ClusterState::new(tail_wake),
			commits: Default::default(),
		};
		for (state, fx) in recovered {
			let id = state.exec.id;
			coordinator.states.insert(id, state);
			coordinator.absorb(id, fx);
		}
		let task = tokio::spawn(coordinator.run());
		*engine.inner.task.lock().unwrap_or_else(|e| e.into_inner()) = Some(task);
		Ok(engine)
	}

	/// The store the engine writes to.
	pub fn store(&self) -> &Arc<dyn Store> {
		&self.inner.store
	}

	/// The component registry.
	pub fn registry(&self) -> &Arc<Registry> {
		&self.inner.registry
	}

	/// Every event committed from now on. A subscriber that falls more than the configured buffer
	/// behind misses events (`RecvError::Lagged`); the store keeps them all.
	pub fn subscribe(&self) -> broadcast::Receiver<Arc<Event>> {
		self.inner.events.subscribe()
	}

	/// The compiled form of one workflow version (cached; versions are immutable).
	pub async fn compiled(&self, workflow_id: WorkflowId, version: i64) -> Result<Arc<Compiled>> {
		if let Some(c) = self.cache().get(&(workflow_id, version)) {
			return Ok(Arc::clone(c));
		}
		let stored = self
			.inner
			.store
			.get_version(workflow_id, version)
			.await?
			.ok_or_else(|| {
				EngineError::NotFound(format!("version {version} of workflow {workflow_id}"))
			})?;
		let mut compiled = Compiled::new(&stored.definition, &self.inner.registry)?;
		let owner = self
			.workflow(workflow_id)
			.await?
			.map(|w| w.created_by)
			.unwrap_or_default();
		if !apg_core::secrets_allowed(&owner, &stored.saved_by) {
			compiled.secrets_refused = Some(apg_core::secrets_refused(version, &stored.saved_by));
		}
		compiled.max_output_bytes = self.inner.max_output_bytes;
		let compiled = Arc::new(compiled);
		self.cache()
			.insert((workflow_id, version), Arc::clone(&compiled));
		Ok(compiled)
	}

	fn cache(&self) -> std::sync::MutexGuard<'_, HashMap<(WorkflowId, i64), Arc<Compiled>>> {
		self.inner
			.compiled
			.lock()
			.unwrap_or_else(|e| e.into_inner())
	}

	/// A workflow, through the cache when there is one (the seed's one-hour TTL; every change
	/// goes through [`Engine::invalidate_workflow`]).
	pub async fn workflow(&self, id: WorkflowId) -> Result<Option<apg_core::Workflow>> {
		let cache = self.inner.cache.as_deref();
		Ok(apg_core::cache::read_workflow(cache, &*self.inner.store, id).await?)
	}

	/// Drops a workflow from the cache after it changed (on every node, with a shared cache).
	pub async fn invalidate_workflow(&self, id: WorkflowId) {
		if let Some(cache) = &self.inner.cache {
			cache.delete(&apg_core::cache::workflow_key(id)).await;
		}
	}

	/// Creates an execution and returns it once it is durably queued.
	pub async fn execute(&self, request: ExecuteRequest) -> Result<Execution> {
		let store = &self.inner.store;
		let workflow = self
			.workflow(request.workflow_id)
			.await?
			.ok_or_else(|| EngineError::NotFound(format!("workflow {}", request.workflow_id)))?;
		if matches!(
			workflow.status,
			WorkflowStatus::Inactive | WorkflowStatus::Archived
		) {
			return Err(EngineError::Conflict(format!(
				"workflow '{}' is {}",
				workflow.name, workflow.status
			)));
		}
		if let Some(key) = &request.idempotency_key
			&& let Some(existing) = store.find_by_idempotency_key(workflow.id, key).await?
		{
			return Ok(existing);
		}
		let version = request.version.unwrap_or(workflow.version);
		let compiled = self.compiled(workflow.id, version).await?;
		let parameters = self.parameters(&compiled, request.parameters)?;
		let unknown: Vec<apg_core::Issue> = request
			.breakpoints
			.iter()
			.filter(|b| !compiled.index.contains_key(b.as_str()))
			.map(|b| apg_core::Issue::new("breakpoints", format!("unknown component '{b}'")))
			.collect();
		if !unknown.is_empty() {
			return Err(EngineError::Invalid(unknown));
		}
		let exec = Execution {
			id: ExecutionId::new(),
			workflow_id: workflow.id,
			workflow_version: version,
			status: ExecutionStatus::Queued,
			priority: request.priority.unwrap_or(workflow.priority),
			parameters,
			vars: Map::new(),
			results: None,
			error_message: None,
			breakpoints: request.breakpoints,
			idempotency_key: request.idempotency_key,
			started_by: request.started_by,
			rerun_of: None,
			parent: None,
			created_at: crate::clock::now(),
			started_at: None,
			completed_at: None,
		};
		let id = exec.id;
		let mut state = ExecutionState::new(exec, compiled);
		if let Some(mode) = &self.inner.cluster {
			return self.queue_in_cluster(mode, &mut state).await;
		}
		let (reply, done) = oneshot::channel();
		self.send(Msg::Start(Box::new(state), reply))?;
		let created = done.await.map_err(|_| EngineError::Stopped)??;
		if created.id != id {
			// A concurrent request with the same idempotency key won: return its execution as
			// it is now.
			return Ok(store.get_execution(created.id).await?.unwrap_or(created));
		}
		Ok(created)
	}

	/// In a cluster a new execution is only stored, queued, for whichever node claims it. It is
	/// written here rather than by the coordinator so that the unique index on idempotency keys
	/// decides between concurrent duplicates on any node: the loser's insert fails and it
	/// returns the winner's execution.
	async fn queue_in_cluster(
		&self,
		mode: &ClusterMode,
		state: &mut ExecutionState,
	) -> Result<Execution> {
		// Starting a new execution is never refused.
		let fx =
			machine::apply(state, machine::Command::Start, crate::clock::now()).unwrap_or_default();
		let batch = apg_core::Batch {
			writes: fx.writes,
			..Default::default()
		};
		match self.inner.store.commit(&batch).await {
			Ok(()) => {}
			Err(apg_core::store::StoreError::Conflict(_))
				if state.exec.idempotency_key.is_some() =>
			{
				let key = state.exec.idempotency_key.as_deref().unwrap_or_default();
				if let Some(existing) = self
					.inner
					.store
					.find_by_idempotency_key(state.exec.workflow_id, key)
					.await?
				{
					return Ok(existing);
				}
				return Err(EngineError::Conflict(
					"a duplicate execution was refused".to_owned(),
				));
			}
			Err(e) => return Err(e.into()),
		}
		if let Err(e) = mode.bus.notify_work().await {
			tracing::warn!(error = %e, "cannot wake the workers");
		}
		Ok(state.exec.clone())
	}

	/// Waits until the execution has ended and returns it.
	pub async fn wait(&self, id: ExecutionId) -> Result<Execution> {
		let (reply, done) = oneshot::channel();
		self.send(Msg::Wait(id, reply))?;
		if let Ok(exec) = done.await {
			return Ok(exec);
		}
		// Not in flight here: it ended before, never existed, or runs on another node, whose
		// events reach this node's subscribers too (the cluster's event tail). Subscribed
		// before the store is read, so an end committed after the read is heard; and only
		// here, because a receiver costs the broadcast its backlog when it is dropped, which
		// ten thousand waiters on local executions would pay for nothing.
		let mut events = self.subscribe();
		loop {
			let exec = self
				.inner
				.store
				.get_execution(id)
				.await?
				.ok_or_else(|| EngineError::NotFound(format!("execution {id}")))?;
			if exec.status.is_terminal() {
				return Ok(exec);
			}
			loop {
				match events.recv().await {
					Ok(event) if event.execution_id == id && ends(&event) => break,
					Ok(_) => {}
					// Events were dropped: read the store again rather than miss the end.
					Err(broadcast::error::RecvError::Lagged(_)) => break,
					Err(broadcast::error::RecvError::Closed) => return Err(EngineError::Stopped),
				}
			}
		}
	}

	/// Waits until no execution is in flight.
	pub async fn idle(&self) -> Result<()> {
		let (reply, done) = oneshot::channel();
		self.send(Msg::Idle(reply))?;
		done.await.map_err(|_| EngineError::Stopped)
	}

	/// Cancels an execution that has not ended.
	pub async fn cancel(&self, id: ExecutionId) -> Result<()> {
		let (reply, done) = oneshot::channel();
		self.send(Msg::Cancel(id, reply))?;
		let local = done.await.map_err(|_| EngineError::Stopped)?;
		match (&self.inner.cluster, local) {
			// Not here: in a cluster another node may hold it.
			(Some(mode), Err(EngineError::Conflict(_))) => self.cancel_elsewhere(mode, id).await,
			(_, result) => result,
		}
	}

	/// Cancels an execution this node does not hold. Held by a live node: asks that node, which
	/// cancels it through its machine. Held by nobody (queued, or its node died): claims it and
	/// cancels it here through this node's machine, so its steps end `cancelled` with it and
	/// every event is published as for any other change.
	async fn cancel_elsewhere(&self, mode: &ClusterMode, id: ExecutionId) -> Result<()> {
		let Some((exec, token)) = mode.queue.claim_one(id, mode.lease).await? else {
			return if mode.queue.request_cancel(id).await? {
				Ok(())
			} else {
				Err(EngineError::Conflict(format!("execution {id} has ended")))
			};
		};
		let Some((state, resumed)) = crate::recovery::resume_one(self, exec).await? else {
			// Its version cannot run any more: resuming it failed it, which ends it too.
			return Ok(());
		};
		let (reply, done) = oneshot::channel();
		self.send(Msg::CancelClaimed {
			state: Box::new(state),
			resumed,
			token,
			reply,
		})?;
		done.await.map_err(|_| EngineError::Stopped)?
	}

	/// Resumes an execution paused at a breakpoint; with `step`, it pauses again before the next
	/// component starts.
	pub async fn resume(&self, id: ExecutionId, step: bool) -> Result<()> {
		let (reply, done) = oneshot::channel();
		self.send(Msg::Resume(id, step, reply))?;
		done.await.map_err(|_| EngineError::Stopped)?
	}

	/// Re-opens a failed or cancelled execution from its failed components (completed components
	/// keep their results) and returns it queued again.
	pub async fn retry(&self, id: ExecutionId) -> Result<Execution> {
		let store = &self.inner.store;
		let exec = store
			.get_execution(id)
			.await?
			.ok_or_else(|| EngineError::NotFound(format!("execution {id}")))?;
		if !matches!(
			exec.status,
			ExecutionStatus::Failed | ExecutionStatus::Cancelled
		) {
			return Err(EngineError::Conflict(format!(
				"execution {id} is {}; only failed or cancelled executions can be retried",
				exec.status
			)));
		}
		let compiled = self.compiled_for(&exec).await?;
		let steps = store.steps(id).await?;
		let mut state = recovery::rebuild(exec, compiled, steps);
		waits::load(store.as_ref(), &mut state).await?;
		let (reply, done) = oneshot::channel();
		self.send(Msg::Reopen(Box::new(state), machine::Command::Retry, reply))?;
		done.await.map_err(|_| EngineError::Stopped)?
	}

	/// Parameters as a run of `compiled` takes them: checked against the declared ones, defaults
	/// filled, and no larger than the start component may output (it outputs them).
	fn parameters(
		&self,
		compiled: &Compiled,
		given: Map<String, serde_json::Value>,
	) -> Result<Map<String, serde_json::Value>> {
		let parameters = params::resolve(&compiled.definition.parameters, given)
			.map_err(EngineError::Invalid)?;
		if !apg_core::size::json_fits(&parameters, self.inner.max_output_bytes) {
			return Err(EngineError::Invalid(vec![apg_core::Issue::new(
				"parameters",
				format!(
					"the parameters are larger than {}, which the start's output may not pass",
					crate::output_cap::describe_limit(self.inner.max_output_bytes)
				),
			)]));
		}
		Ok(parameters)
	}

	/// Starts a new execution of an ended one's workflow version that reuses what the original
	/// recorded for every component upstream of `from` (their outputs, as they ended) and runs
	/// `from` and everything that is not upstream of it again. Refused when `from` is not a
	/// component of that version, or when a component upstream of it did not complete.
	pub async fn rerun(&self, request: RerunRequest) -> Result<Execution> {
		let store = &self.inner.store;
		let id = request.of;
		let original = store
			.get_execution(id)
			.await?
			.ok_or_else(|| EngineError::NotFound(format!("execution {id}")))?;
		if !original.status.is_terminal() {
			return Err(EngineError::Conflict(format!(
				"execution {id} is {}; only an ended execution can be rerun",
				original.status
			)));
		}
		if let Some(parent) = &original.parent {
			// A rerun would be a second child of the same item: rerun the parent instead.
			return Err(EngineError::Conflict(format!(
				"execution {id} is a child of execution {} ('{}'); rerun that one",
				parent.execution_id, parent.component_id
			)));
		}
		let compiled = self.compiled_for(&original).await?;
		let Some(&from) = compiled.index.get(request.from.as_str()) else {
			return Err(EngineError::Invalid(vec![apg_core::Issue::new(
				"from",
				format!(
					"'{}' is not a component of version {}",
					request.from, original.workflow_version
				),
			)]));
		};
		let upstream = compiled.upstream_of(from);
		let mut records = store.steps(id).await?;
		records.retain(|r| {
			compiled
				.index
				.get(r.component_id.as_str())
				.is_some_and(|i| upstream.contains(i))
		});
		for &node in &upstream {
			let name = &compiled.nodes[node].id;
			let done = records.iter().any(|r| {
				&r.component_id == name
					&& matches!(
						r.status,
						apg_core::ComponentStatus::Completed | apg_core::ComponentStatus::Skipped
					)
			});
			if !done {
				return Err(EngineError::Conflict(format!(
					"'{name}', upstream of '{}', did not complete in execution {id}",
					request.from
				)));
			}
		}
		let parameters = match request.parameters {
			Some(p) => self.parameters(&compiled, p)?,
			None => original.parameters.clone(),
		};
		let exec = Execution {
			id: ExecutionId::new(),
			status: ExecutionStatus::Queued,
			parameters,
			// What the carried-over components set; the rest set theirs again.
			vars: original.vars.clone(),
			results: None,
			error_message: None,
			breakpoints: Vec::new(),
			idempotency_key: None,
			started_by: request.started_by,
			rerun_of: Some(original.id),
			created_at: crate::clock::now(),
			started_at: None,
			completed_at: None,
			..original
		};
		for r in &mut records {
			r.execution_id = exec.id;
		}
		let state = recovery::rebuild(exec, compiled, records);
		let command = machine::Command::Rerun {
			of: id,
			from: request.from,
		};
		let (reply, done) = oneshot::channel();
		self.send(Msg::Reopen(Box::new(state), command, reply))?;
		done.await.map_err(|_| EngineError::Stopped)?
	}

	/// Replaces the breakpoints of an execution in flight.
	pub async fn set_breakpoints(&self, id: ExecutionId, breakpoints: Vec<String>) -> Result<()> {
		let (reply, done) = oneshot::channel();
		self.send(Msg::Breakpoints(id, breakpoints, reply))?;
		done.await.map_err(|_| EngineError::Stopped)?
	}

	/// The components an execution in flight holds at a breakpoint; `None` when it is not in
	/// flight here.
	pub async fn held(&self, id: ExecutionId) -> Result<Option<Vec<String>>> {
		let (reply, done) = oneshot::channel();
		self.send(Msg::Held(id, reply))?;
		done.await.map_err(|_| EngineError::Stopped)
	}

	/// Deletes a workflow with its versions and executions, refusing (409) while any execution
	/// of it is in flight. It goes through the coordinator so that no execution of the workflow
	/// can start, or commit a checkpoint, after its rows are gone.
	pub async fn delete_workflow(&self, id: WorkflowId) -> Result<bool> {
		let (reply, done) = oneshot::channel();
		self.send(Msg::Delete(id, reply))?;
		let deleted = done.await.map_err(|_| EngineError::Stopped)?;
		self.invalidate_workflow(id).await;
		deleted
	}

	/// The engine's current load.
	pub async fn stats(&self) -> Result<EngineStats> {
		let (reply, done) = oneshot::channel();
		self.send(Msg::Stats(reply))?;
		done.await.map_err(|_| EngineError::Stopped)
	}

	/// Stops after the attempts now running have finished (for at most `drain`), committing
	/// their results. Nothing new starts meanwhile; queued work and timers stay in the store and
	/// resume when an engine next starts on it. Attempts still running after `drain` are
	/// abandoned and run again then.
	pub async fn shutdown_within(&self, drain: Duration) {
		let (reply, done) = oneshot::channel();
		if self.send(Msg::Shutdown(drain, reply)).is_ok() {
			let _ = done.await;
		}
		let task = self
			.inner
			.task
			.lock()
			.unwrap_or_else(|e| e.into_inner())
			.take();
		if let Some(task) = task {
			let _ = task.await;
		}
	}

	/// Commits what is pending and stops at once (see [`Engine::shutdown_within`]).
	pub async fn shutdown(&self) {
		let (reply, done) = oneshot::channel();
		if self.send(Msg::Shutdown(Duration::ZERO, reply)).is_ok() {
			let _ = done.await;
		}
		let task = self
			.inner
			.task
			.lock()
			.unwrap_or_else(|e| e.into_inner())
			.take();
		if let Some(task) = task {
			let _ = task.await;
		}
	}

	fn send(&self, msg: Msg) -> Result<()> {
		self.inner.tx.send(msg).map_err(|_| EngineError::Stopped)
	}
}

/// Whether `event` says its execution reached an end state.
fn ends(event: &Event) -> bool {
	matches!(&event.kind, apg_core::EventKind::Execution { status, .. } if status.is_terminal())
}
