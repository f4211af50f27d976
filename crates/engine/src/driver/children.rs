//! The engine's side of child executions (see `machine::children`): creating the children of
//! a waiting step (resolving its target, checking the starter may run it and how deep it
//! nests), releasing one to run, and compiling a child's definition (another workflow's
//! version, or the inline body of its parent's step).

use std::sync::Arc;

use apg_core::child::{MAX_DEPTH, inline_body};
use apg_core::{
	ChildSpec, ChildTarget, Definition, Execution, ExecutionId, ExecutionStatus, ParentLink,
	WorkflowId, WorkflowStatus, Write,
};
use serde_json::{Map, Value, json};
use tokio::sync::oneshot;

use super::waits::Delivery;
use super::{Engine, Msg};
use crate::error::{EngineError, Result};
use crate::graph::Compiled;
use crate::state::ExecutionState;

/// What the coordinator hands over to create a step's children.
pub(super) struct SpawnJob {
	pub(super) parent: Execution,
	pub(super) node: usize,
	pub(super) component_id: String,
	pub(super) round: u32,
	pub(super) spec: ChildSpec,
}

impl Engine {
	/// The compiled definition an execution runs: its version's, or for an inline child the body
	/// of its parent's step.
	pub(crate) async fn compiled_for(&self, exec: &Execution) -> Result<Arc<Compiled>> {
		match &exec.parent {
			Some(link) if link.inline => {
				self.compiled_body(exec.workflow_id, exec.workflow_version, &link.component_id)
					.await
			}
			_ => self.compiled(exec.workflow_id, exec.workflow_version).await,
		}
	}

	/// The inline body of step `component` of a workflow version, compiled (cached).
	async fn compiled_body(
		&self,
		workflow: WorkflowId,
		version: i64,
		component: &str,
	) -> Result<Arc<Compiled>> {
		let key = (workflow, version, component.to_owned());
		if let Some(c) = self.bodies().get(&key) {
			return Ok(Arc::clone(c));
		}
		let parent = self.compiled(workflow, version).await?;
		let body = parent
			.definition
			.components
			.iter()
			.find(|c| c.id == component)
			.and_then(|c| inline_body(&c.config))
			.ok_or_else(|| EngineError::NotFound(format!("the inline body of '{component}'")))?;
		let (definition, issues) = Definition::parse(&body);
		if !issues.is_empty() {
			return Err(EngineError::Invalid(issues));
		}
		let mut compiled = Compiled::new(&definition, &self.inner.registry)?;
		compiled.secrets_refused = parent.secrets_refused.clone();
		compiled.max_output_bytes = parent.max_output_bytes;
		let compiled = Arc::new(compiled);
		self.bodies().insert(key, Arc::clone(&compiled));
		Ok(compiled)
	}

	fn bodies(
		&self,
	) -> std::sync::MutexGuard<
		'_,
		std::collections::HashMap<(WorkflowId, i64, String), Arc<Compiled>>,
	> {
		self.inner.bodies.lock().unwrap_or_else(|e| e.into_inner())
	}

	/// Creates the children of a waiting step and hands them to the coordinator (or why there
	/// can be none).
	pub(super) fn spawn_children(&self, job: SpawnJob) {
		let engine = self.clone();
		tokio::spawn(async move {
			let parent = job.parent.id;
			let (node, round) = (job.node, job.round);
			let mut delay = std::time::Duration::from_millis(200);
			let children = loop {
				match engine.children_of(&job).await {
					Ok(c) => break Ok(c),
					Err(EngineError::Stopped) => return,
					// The store is briefly unavailable: try again, longer each time.
					Err(e @ EngineError::Store(_)) => {
						tracing::warn!(execution = %parent, error = %e, "cannot create children yet");
						tokio::time::sleep(delay).await;
						delay = (delay * 2).min(std::time::Duration::from_secs(10));
					}
					Err(e) => break Err(e.to_string()),
				}
			};
			let delivery = Delivery::Spawned {
				node,
				round,
				children,
			};
			let (reply, _) = oneshot::channel();
			let _ = engine.send(Msg::Deliver(parent, delivery, reply));
		});
	}

	async fn children_of(&self, job: &SpawnJob) -> Result<Vec<Execution>> {
		let SpawnJob {
			parent,
			component_id,
			round,
			spec,
			..
		} = job;
		let (round, spec) = (*round, spec.clone());
		let depth = parent.parent.as_ref().map_or(0, |p| p.depth) + 1;
		if depth > MAX_DEPTH {
			return Err(EngineError::Conflict(format!(
				"children nest deeper than {MAX_DEPTH} levels (do workflows call each other in a \
				 cycle?)"
			)));
		}
		let (workflow_id, version, compiled, inline) = match spec.target {
			ChildTarget::Inline => {
				let compiled = self
					.compiled_body(parent.workflow_id, parent.workflow_version, component_id)
					.await?;
				(parent.workflow_id, parent.workflow_version, compiled, true)
			}
			ChildTarget::Workflow {
				workflow_id,
				version,
			} => {
				let workflow = self
					.workflow(workflow_id)
					.await?
					.ok_or_else(|| EngineError::NotFound(format!("workflow {workflow_id}")))?;
				if matches!(
					workflow.status,
					WorkflowStatus::Inactive | WorkflowStatus::Archived
				) {
					return Err(EngineError::Conflict(format!(
						"workflow '{}' is {}",
						workflow.name, workflow.status
					)));
				}
				if let (Some(user), Some(check)) = (parent.started_by, &self.inner.run_check) {
					check(user, workflow_id)
						.await
						.map_err(EngineError::Conflict)?;
				}
				let version = version.unwrap_or(workflow.version);
				let compiled = self.compiled(workflow_id, version).await?;
				(workflow_id, version, compiled, false)
			}
		};
		let declared: Vec<&str> = compiled
			.definition
			.parameters
			.iter()
			.map(|p| p.name.as_str())
			.collect();
		let inputs: Vec<(Option<u32>, Map<String, Value>)> = match spec.items {
			None => vec![(None, spec.parameters)],
			Some(items) => items
				.into_iter()
				.enumerate()
				.map(|(i, item)| {
					let mut p = Map::new();
					p.insert("item".to_owned(), item);
					p.insert("index".to_owned(), json!(i));
					// A workflow that declares its parameters gets only those it declares.
					if !declared.is_empty() {
						p.retain(|k, _| declared.contains(&k.as_str()));
					}
					(Some(i as u32), p)
				})
				.collect(),
		};
		let now = crate::clock::now();
		let mut children = Vec::with_capacity(inputs.len());
		for (item, given) in inputs {
			let parameters = self.parameters(&compiled, given)?;
			children.push(Execution {
				id: ExecutionId::new(),
				workflow_id,
				workflow_version: version,
				status: ExecutionStatus::Pending,
				priority: parent.priority,
				parameters,
				vars: Map::new(),
				results: None,
				error_message: None,
				breakpoints: Vec::new(),
				idempotency_key: None,
				started_by: parent.started_by,
				rerun_of: None,
				parent: Some(ParentLink {
					execution_id: parent.id,
					component_id: component_id.clone(),
					round,
					item,
					inline,
					depth,
				}),
				created_at: now,
				started_at: None,
				completed_at: None,
			});
		}
		Ok(children)
	}

	/// Queues a pending child to run (here, or for any node in a cluster). One that cannot be
	/// started is failed, and its parent told.
	pub(super) fn launch_child(&self, id: ExecutionId) {
		let engine = self.clone();
		tokio::spawn(async move {
			let mut delay = std::time::Duration::from_millis(200);
			loop {
				match engine.launch(id).await {
					Ok(()) | Err(EngineError::Stopped) => return,
					// Left pending, its parent would wait for it forever: try again.
					Err(e) => {
						tracing::warn!(execution = %id, error = %e, "cannot start a child yet");
						tokio::time::sleep(delay).await;
						delay = (delay * 2).min(std::time::Duration::from_secs(10));
					}
				}
			}
		});
	}

	/// Cancels a released child, trying again while it is being started (its launch may not
	/// have reached the coordinator yet), until it has ended.
	pub(super) fn cancel_child(&self, id: ExecutionId) {
		let engine = self.clone();
		tokio::spawn(async move {
			for _ in 0..50 {
				match engine.cancel(id).await {
					Ok(()) | Err(EngineError::Stopped) => return,
					Err(_) => {}
				}
				match engine.inner.store.get_execution(id).await {
					Ok(Some(e)) if e.status.is_terminal() => return,
					Ok(None) => return,
					_ => tokio::time::sleep(std::time::Duration::from_millis(100)).await,
				}
			}
		});
	}

	async fn launch(&self, id: ExecutionId) -> Result<()> {
		let store = &self.inner.store;
		let Some(exec) = store.get_execution(id).await? else {
			return Ok(());
		};
		// Released already (a parent rebuilt before it saw the child start).
		if exec.status != ExecutionStatus::Pending {
			return Ok(());
		}
		let compiled = match self.compiled_for(&exec).await {
			Ok(c) => c,
			Err(e @ (EngineError::Store(_) | EngineError::Stopped)) => return Err(e),
			Err(e) => return self.fail_child(exec, e.to_string()).await,
		};
		let mut state = ExecutionState::new(exec, compiled);
		if let Some(mode) = &self.inner.cluster {
			self.queue_in_cluster(mode, &mut state).await?;
			return Ok(());
		}
		let (reply, done) = oneshot::channel();
		self.send(Msg::Start(Box::new(state), reply))?;
		done.await.map_err(|_| EngineError::Stopped)??;
		Ok(())
	}

	async fn fail_child(&self, mut exec: Execution, why: String) -> Result<()> {
		exec.status = ExecutionStatus::Failed;
		exec.error_message = Some(format!("cannot start: {why}"));
		exec.completed_at = Some(crate::clock::now());
		let batch = apg_core::Batch {
			writes: vec![Write::Execution(Box::new(exec.clone()))],
			..Default::default()
		};
		self.inner.store.commit(&batch).await?;
		self.tell_parent(exec).await
	}

	/// Tells a child's parent that it ended: this node's coordinator if it holds the parent,
	/// else (in a cluster) the holder, over the bus.
	pub(crate) async fn tell_parent(&self, child: Execution) -> Result<()> {
		let Some(parent) = child.parent.as_ref().map(|p| p.execution_id) else {
			return Ok(());
		};
		let id = child.id;
		let (reply, here) = oneshot::channel();
		self.send(Msg::Deliver(
			parent,
			Delivery::Child(Box::new(child)),
			reply,
		))?;
		let here = here.await.unwrap_or(false);
		if !here && let Some(mode) = &self.inner.cluster {
			// The payload names the child; the holder of the parent reads it.
			if let Err(e) = mode.bus.notify_inbox(id).await {
				tracing::warn!(execution = %id, error = %e, "cannot tell a parent of its child");
			}
		}
		Ok(())
	}
}

/// Delivers the ended children of `parent` to this node's coordinator (the sweep that makes up
/// for a child's news the bus lost).
pub(super) async fn deliver_ended(
	store: &dyn apg_core::Store,
	tx: &tokio::sync::mpsc::UnboundedSender<Msg>,
	parent: ExecutionId,
) {
	let children = match store.children(parent).await {
		Ok(c) => c,
		Err(e) => {
			tracing::warn!(execution = %parent, error = %e, "cannot read children");
			return;
		}
	};
	for child in children.into_iter().filter(|c| c.status.is_terminal()) {
		let (reply, _) = oneshot::channel();
		if tx
			.send(Msg::Deliver(
				parent,
				Delivery::Child(Box::new(child)),
				reply,
			))
			.is_err()
		{
			return;
		}
	}
}
