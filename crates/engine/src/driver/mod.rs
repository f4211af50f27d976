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

use std::cmp::Reverse;
use std::collections::{BTreeSet, BinaryHeap, HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use apg_core::{
	Batch, ComponentError, Event, Execution, ExecutionId, ExecutionStatus, Millis, Outcome,
	Priority, Registry, Store, WorkflowId, WorkflowStatus, Write, now_millis, params,
};
use serde_json::{Map, Value};
use tokio::sync::{broadcast, mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::attempt::{self, Job};
use crate::error::{EngineError, Result};
use crate::graph::Compiled;
use crate::machine::{self, Action, Effects};
use crate::state::ExecutionState;
use crate::{context, recovery};

mod cluster;

use cluster::write_execution;

/// Tuning of the engine.
#[derive(Clone)]
pub struct EngineConfig {
	/// Component attempts running at once in this process (the seed's default: 100).
	pub max_concurrent_tasks: usize,
	/// Waiting time worth one level of priority (aging).
	pub aging: Duration,
	/// Events buffered per subscriber before a slow one starts missing them.
	pub event_buffer: usize,
	/// Run pure, instant components (see `Component::is_inline`) inside the coordinator.
	pub inline: bool,
	/// Many nodes on one database (see [`ClusterMode`]); `None` for a process that owns its store.
	pub cluster: Option<ClusterMode>,
	/// Where workflows are cached (Redis shared by the nodes, or memory); `None`: no cache.
	pub cache: Option<Arc<dyn apg_core::Cache>>,
}

/// How this node takes part in a cluster (DESIGN §1, `--role`).
#[derive(Clone)]
pub struct ClusterMode {
	/// The coordination backend.
	pub cluster: Arc<dyn apg_core::Cluster>,
	/// Whether this node claims and runs executions (`worker` and `all`); an `api` node only
	/// creates them.
	pub runs_work: bool,
	/// How long a claim lasts without renewal.
	pub lease: Duration,
	/// Executions this node holds at most.
	pub max_executions: usize,
}

impl std::fmt::Debug for EngineConfig {
	fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
		f.debug_struct("EngineConfig")
			.field("max_concurrent_tasks", &self.max_concurrent_tasks)
			.field("aging", &self.aging)
			.field("inline", &self.inline)
			.field("cluster", &self.cluster)
			.field("cache", &self.cache.is_some())
			.finish()
	}
}

impl std::fmt::Debug for ClusterMode {
	fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
		f.debug_struct("ClusterMode")
			.field("node", &self.cluster.node())
			.field("runs_work", &self.runs_work)
			.field("lease", &self.lease)
			.finish()
	}
}

impl Default for EngineConfig {
	fn default() -> Self {
		Self {
			max_concurrent_tasks: 100,
			aging: Duration::from_secs(2),
			event_buffer: 65_536,
			inline: true,
			cluster: None,
			cache: None,
		}
	}
}

/// A request to execute a workflow.
#[derive(Clone, Debug, Default)]
pub struct ExecuteRequest {
	/// The workflow.
	pub workflow_id: WorkflowId,
	/// Its parameters (checked against the declared ones).
	pub parameters: Map<String, Value>,
	/// Overrides the workflow's priority.
	pub priority: Option<Priority>,
	/// Components to pause before (debugging).
	pub breakpoints: Vec<String>,
	/// A version other than the current one.
	pub version: Option<i64>,
	/// The client's idempotency key: repeating a request with the same key (for the same
	/// workflow) returns the execution the first one created.
	pub idempotency_key: Option<String>,
}

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
	Resume(ExecutionId, bool, oneshot::Sender<Result<()>>),
	Wait(ExecutionId, oneshot::Sender<Execution>),
	Idle(oneshot::Sender<()>),
	Retry(Box<ExecutionState>, oneshot::Sender<Result<Execution>>),
	Breakpoints(ExecutionId, Vec<String>, oneshot::Sender<Result<()>>),
	Stats(oneshot::Sender<EngineStats>),
	Held(ExecutionId, oneshot::Sender<Option<Vec<String>>>),
	Delete(WorkflowId, oneshot::Sender<Result<bool>>),
	Shutdown(Duration, oneshot::Sender<()>),
	/// Another node signalled claimable work.
	Wake,
}

/// A snapshot of the engine's load, for metrics.
#[derive(Clone, Debug, Default)]
pub struct EngineStats {
	/// Executions in flight in this process.
	pub executions: usize,
	/// Ready attempts waiting for a worker, per priority (index 0 is priority 1).
	pub ready_by_priority: [usize; 10],
	/// Attempts running now.
	pub running: usize,
	/// The concurrency limit.
	pub max_running: usize,
	/// Armed durable timers.
	pub timers: usize,
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
	task: Mutex<Option<JoinHandle<()>>>,
	cluster: Option<ClusterMode>,
	cache: Option<Arc<dyn apg_core::Cache>>,
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
				task: Mutex::new(None),
				cluster: config.cluster.clone(),
				cache: config.cache.clone(),
			}),
		};
		// In a cluster, unfinished executions are taken over through their leases instead.
		let recovered = if config.cluster.is_none() {
			recovery::load(&engine).await?
		} else {
			Vec::new()
		};
		if let Some(mode) = &config.cluster {
			cluster::listen(Arc::clone(&mode.cluster), tx.clone(), events.clone());
		}
		let mut coordinator = Coordinator {
			store,
			config,
			rx,
			tx,
			events,
			states: HashMap::new(),
			ready: BinaryHeap::new(),
			timers: BTreeSet::new(),
			running: HashMap::new(),
			batch: Vec::new(),
			lazy: Vec::new(),
			actions: Vec::new(),
			started: Vec::new(),
			waiters: HashMap::new(),
			idle: Vec::new(),
			seq: 0,
			draining: false,
			keys: HashMap::new(),
			key_order: VecDeque::new(),
			deleted: std::collections::HashSet::new(),
			deletions: Vec::new(),
			engine: Arc::downgrade(&engine.inner),
			leases: HashMap::new(),
			claim_due: true,
			next_claim: 0,
			next_renewal: 0,
			created: false,
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
		let compiled = Arc::new(Compiled::new(&stored.definition, &self.inner.registry)?);
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
		let key = apg_core::cache::workflow_key(id);
		if let Some(cache) = &self.inner.cache
			&& let Some(text) = cache.get(&key).await
			&& let Ok(workflow) = serde_json::from_str(&text)
		{
			return Ok(Some(workflow));
		}
		let workflow = self.inner.store.get_workflow(id).await?;
		if let (Some(cache), Some(w)) = (&self.inner.cache, &workflow)
			&& let Ok(text) = serde_json::to_string(w)
		{
			cache.set(&key, &text, apg_core::cache::WORKFLOW_TTL).await;
		}
		Ok(workflow)
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
		let parameters = params::resolve(&compiled.definition.parameters, request.parameters)
			.map_err(EngineError::Invalid)?;
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
			created_at: now_millis(),
			started_at: None,
			completed_at: None,
		};
		let id = exec.id;
		let state = ExecutionState::new(exec, compiled);
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

	/// Waits until the execution has ended and returns it.
	pub async fn wait(&self, id: ExecutionId) -> Result<Execution> {
		let (reply, done) = oneshot::channel();
		self.send(Msg::Wait(id, reply))?;
		if let Ok(exec) = done.await {
			return Ok(exec);
		}
		// Not in flight here: it ended before, never existed, or runs on another node.
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
			tokio::time::sleep(Duration::from_millis(50)).await;
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
			(Some(mode), Err(EngineError::Conflict(_))) => {
				if mode.cluster.request_cancel(id).await? {
					Ok(())
				} else {
					Err(EngineError::Conflict(format!("execution {id} has ended")))
				}
			}
			(_, result) => result,
		}
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
		let compiled = self
			.compiled(exec.workflow_id, exec.workflow_version)
			.await?;
		let steps = store.steps(id).await?;
		let state = recovery::rebuild(exec, compiled, steps);
		let (reply, done) = oneshot::channel();
		self.send(Msg::Retry(Box::new(state), reply))?;
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

/// Whether `node` must pause before it runs (a breakpoint, or the debugger stepping).
fn at_breakpoint(st: &ExecutionState, node: usize) -> bool {
	let wanted = st.step_mode
		|| st
			.exec
			.breakpoints
			.iter()
			.any(|b| *b == st.wf.nodes[node].id);
	wanted && !st.released.contains(&node)
}

/// Idempotency keys remembered in memory (the store remembers all of them).
const MAX_REMEMBERED_KEYS: usize = 100_000;

/// How long attempt starts may wait for a batch to join before they are committed alone.
const LAZY_COMMIT_MS: Millis = 20;

/// Messages taken per turn before committing, so one turn's batch stays bounded.
const MAX_MESSAGES_PER_TURN: usize = 4_096;

struct Coordinator {
	store: Arc<dyn Store>,
	config: EngineConfig,
	rx: mpsc::UnboundedReceiver<Msg>,
	tx: mpsc::UnboundedSender<Msg>,
	events: broadcast::Sender<Arc<Event>>,
	states: HashMap<ExecutionId, ExecutionState>,
	/// Ready attempts: (ordering key, tie-breaker, execution, node).
	ready: BinaryHeap<Reverse<(i64, u64, ExecutionId, usize)>>,
	/// Armed timers: (deadline, tie-breaker, execution, node).
	timers: BTreeSet<(Millis, u64, ExecutionId, usize)>,
	/// Attempts in flight and how to cancel them.
	running: HashMap<(ExecutionId, usize), CancellationToken>,
	/// Writes not yet committed.
	batch: Vec<Write>,
	/// Attempt starts, committed with the next batch rather than on their own (see the module
	/// documentation).
	lazy: Vec<Write>,
	/// Actions waiting for the commit of `batch`.
	actions: Vec<(ExecutionId, Action)>,
	/// New executions to acknowledge once committed.
	started: Vec<(oneshot::Sender<Result<Execution>>, Execution)>,
	waiters: HashMap<ExecutionId, Vec<oneshot::Sender<Execution>>>,
	idle: Vec<oneshot::Sender<()>>,
	seq: u64,
	/// Set once a shutdown began: nothing new is dispatched.
	draining: bool,
	/// Idempotency keys of executions created by this process (older ones are found in the
	/// store by `Engine::execute`), so concurrent duplicates start one execution.
	keys: HashMap<(WorkflowId, String), Execution>,
	key_order: VecDeque<(WorkflowId, String)>,
	/// Workflows deleted by this process: executions of them can no longer start.
	deleted: std::collections::HashSet<WorkflowId>,
	/// Deletions to perform after the next commit.
	deletions: Vec<(WorkflowId, oneshot::Sender<Result<bool>>)>,
	/// The engine, for compiling the versions of claimed executions.
	engine: std::sync::Weak<Inner>,
	/// Fencing tokens of the executions this node holds (cluster mode).
	leases: HashMap<ExecutionId, i64>,
	/// Another node signalled work.
	claim_due: bool,
	next_claim: Millis,
	next_renewal: Millis,
	/// A commit included new executions (other nodes are told after it).
	created: bool,
}

impl Coordinator {
	fn absorb(&mut self, id: ExecutionId, fx: Effects) {
		self.batch.extend(fx.writes);
		self.actions.extend(fx.actions.into_iter().map(|a| (id, a)));
	}

	async fn run(mut self) {
		let mut shutdown: Option<(Millis, oneshot::Sender<()>)> = None;
		loop {
			if self.batch.is_empty() && self.actions.is_empty() {
				let lazy_deadline = (!self.lazy.is_empty()).then(|| now_millis() + LAZY_COMMIT_MS);
				let deadline = [
					self.timers.first().map(|t| t.0),
					lazy_deadline,
					self.maintenance_due(),
				]
				.into_iter()
				.flatten()
				.min();
				let sleep = async {
					match deadline {
						Some(at) => {
							let wait = (at - now_millis()).max(0) as u64;
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
			if shutdown.is_none() {
				self.maintain().await;
			}
			if let Some((deadline, _)) = &shutdown
				&& (self.running.is_empty() || now_millis() >= *deadline)
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

	fn handle(&mut self, msg: Msg, shutdown: &mut Option<(Millis, oneshot::Sender<()>)>) {
		let now = now_millis();
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
				if let Some(key) = state.exec.idempotency_key.clone() {
					let key = (state.exec.workflow_id, key);
					if let Some(existing) = self.keys.get(&key) {
						let _ = reply.send(Ok(existing.clone()));
						return;
					}
					self.keys.insert(key.clone(), state.exec.clone());
					self.key_order.push_back(key);
					if self.key_order.len() > MAX_REMEMBERED_KEYS
						&& let Some(old) = self.key_order.pop_front()
					{
						self.keys.remove(&old);
					}
				}
				let mut fx = Effects::default();
				machine::start(&mut state, now, &mut fx);
				let id = state.exec.id;
				self.started.push((reply, state.exec.clone()));
				if self.config.cluster.is_some() {
					// The execution is stored queued; whichever node claims it runs it.
					self.batch.extend(fx.writes);
					self.created = true;
				} else {
					self.states.insert(id, state);
					self.absorb(id, fx);
				}
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
					let mut fx = Effects::default();
					machine::finished(st, node, attempt, *result, started, now, &mut fx);
					self.absorb(exec, fx);
				}
			}
			Msg::Cancel(exec, reply) => {
				let result = match self.states.get_mut(&exec) {
					Some(st) => {
						let mut fx = Effects::default();
						machine::cancel(st, now, &mut fx);
						self.absorb(exec, fx);
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
			Msg::Resume(exec, step, reply) => {
				let result = match self.states.get_mut(&exec) {
					Some(st) => {
						let mut fx = Effects::default();
						if machine::resume(st, step, now, &mut fx) {
							self.absorb(exec, fx);
							Ok(())
						} else {
							Err(EngineError::Conflict(format!(
								"execution {exec} is not paused"
							)))
						}
					}
					None => Err(EngineError::Conflict(format!(
						"execution {exec} is not running"
					))),
				};
				let _ = reply.send(result);
			}
			Msg::Wait(exec, reply) => {
				if self.states.contains_key(&exec) {
					self.waiters.entry(exec).or_default().push(reply);
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
				let mut state = *state;
				let mut fx = Effects::default();
				if machine::retry(&mut state, now, &mut fx) {
					self.started.push((reply, state.exec.clone()));
					self.states.insert(id, state);
					self.absorb(id, fx);
				} else {
					let status = state.exec.status;
					let _ = reply.send(Err(EngineError::Conflict(format!(
						"execution {id} is {status}"
					))));
				}
			}
			Msg::Breakpoints(exec, breakpoints, reply) => {
				let result = match self.states.get_mut(&exec) {
					Some(st) => match breakpoints
						.iter()
						.find(|b| !st.wf.index.contains_key(b.as_str()))
					{
						Some(unknown) => Err(EngineError::Invalid(vec![apg_core::Issue::new(
							"breakpoints",
							format!("unknown component '{unknown}'"),
						)])),
						None => {
							st.exec.breakpoints = breakpoints;
							st.released.clear();
							self.batch.push(Write::Execution(Box::new(st.exec.clone())));
							Ok(())
						}
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
					..EngineStats::default()
				};
				for Reverse((_, _, exec, _)) in self.ready.iter() {
					if let Some(st) = self.states.get(exec) {
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
			Msg::Wake => self.claim_due = true,
			Msg::Shutdown(drain, reply) => {
				self.draining = true;
				*shutdown = Some((now + drain.as_millis() as Millis, reply));
			}
		}
	}

	fn fire_timers(&mut self) {
		let now = now_millis();
		while let Some(&first) = self.timers.first() {
			if first.0 > now {
				break;
			}
			self.timers.pop_first();
			let (_, _, exec, node) = first;
			if let Some(st) = self.states.get_mut(&exec) {
				let mut fx = Effects::default();
				machine::timer_fired(st, node, now, &mut fx);
				self.absorb(exec, fx);
			}
		}
	}

	/// Commits the pending writes, retrying until the store takes them: nothing is acknowledged,
	/// published or scheduled before its checkpoint is durable.
	async fn commit(&mut self) {
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
				Err(e) => {
					tracing::error!(error = %e, writes = batch.writes.len(), "commit failed; retrying");
					tokio::time::sleep(delay).await;
					delay = (delay * 2).min(Duration::from_secs(5));
				}
			}
		}
		self.after_commit(&batch).await;
		for w in batch.writes {
			if let Write::Event(e) = w {
				let _ = self.events.send(Arc::new(e));
			}
		}
	}

	/// Performs the actions whose writes are now committed.
	fn perform(&mut self) {
		for (reply, exec) in self.started.drain(..) {
			let _ = reply.send(Ok(exec));
		}
		let now = now_millis();
		for (exec, action) in std::mem::take(&mut self.actions) {
			match action {
				Action::Run { node } => {
					let Some(st) = self.states.get_mut(&exec) else {
						continue;
					};
					if at_breakpoint(st, node) {
						let mut fx = Effects::default();
						machine::pause(st, node, now, &mut fx);
						self.batch.extend(fx.writes);
						continue;
					}
					self.seq += 1;
					let key = now
						- i64::from(st.exec.priority.get()) * self.config.aging.as_millis() as i64;
					self.ready.push(Reverse((key, self.seq, exec, node)));
				}
				Action::Timer { node, at } => {
					self.seq += 1;
					self.timers.insert((at, self.seq, exec, node));
				}
				Action::Finished => {
					self.leases.remove(&exec);
					if let Some(st) = self.states.remove(&exec) {
						for waiter in self.waiters.remove(&exec).unwrap_or_default() {
							let _ = waiter.send(st.exec.clone());
						}
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
	fn run_inline(&mut self) {
		if !self.config.inline {
			return;
		}
		let now = now_millis();
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
			if !component.is_inline() || at_breakpoint(st, node) {
				keep.push((exec, action));
				continue;
			}
			let step = &st.steps[node];
			if st.exec.status.is_terminal()
				|| step.status != apg_core::ComponentStatus::Running
				|| step.run_at.is_some()
			{
				continue;
			}
			let mut fx = Effects::default();
			let prepared = context::prepare(st, node);
			let attempt = machine::begin_attempt(st, node, now, &mut fx);
			let result = match prepared {
				Ok(config) => {
					let ctx = attempt::context(st, node, attempt, CancellationToken::new());
					let input = st.steps[node].input.clone().unwrap_or(Value::Null);
					attempt::poll_once(component.run(&ctx, &config, input)).unwrap_or_else(|| {
						Err(ComponentError::Fatal(
							"an inline component did not complete synchronously".to_owned(),
						))
					})
				}
				Err(message) => Err(ComponentError::Fatal(message)),
			};
			machine::finished(st, node, attempt, result, now, now, &mut fx);
			self.batch.append(&mut fx.writes);
			queue.extend(fx.actions.into_iter().map(|a| (exec, a)));
		}
		self.actions = keep;
	}

	/// Starts ready attempts while there is capacity.
	fn dispatch(&mut self) {
		if self.draining {
			return;
		}
		let now = now_millis();
		while self.running.len() < self.config.max_concurrent_tasks {
			let Some(Reverse((_, _, exec, node))) = self.ready.pop() else {
				break;
			};
			let Some(st) = self.states.get_mut(&exec) else {
				continue;
			};
			let step = &st.steps[node];
			if st.exec.status.is_terminal()
				|| step.status != apg_core::ComponentStatus::Running
				|| step.run_at.is_some()
			{
				continue;
			}
			let mut fx = Effects::default();
			// Rendering first: an `input` override is part of what the attempt's start records.
			let prepared = context::prepare(st, node);
			let attempt = machine::begin_attempt(st, node, now, &mut fx);
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
					};
					self.running.insert((exec, node), token);
					let tx = self.tx.clone();
					tokio::spawn(async move {
						let (attempt, result) = (job.ctx.attempt, job.run().await);
						let result = Box::new(result);
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
					machine::finished(
						st,
						node,
						attempt,
						Err(ComponentError::Fatal(message)),
						now,
						now,
						&mut fx,
					);
				}
			}
			self.absorb(exec, fx);
		}
	}
}
