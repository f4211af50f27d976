//! An in-memory [`Store`]: the reference behaviour the contract suite pins down, and the store of
//! `apg-workflow run` when no data dir is given. Its [`apg_core::AuthStore`] half is in
//! `memory/accounts.rs`.

mod accounts;

use std::collections::HashMap;
use std::sync::Mutex;

use apg_core::Millis;
use apg_core::store::StoreResult;
use apg_core::{
	AttemptRecord, Batch, Decision, EventRecord, Execution, ExecutionFilter, ExecutionId,
	ExecutionStatus, LogRecord, SignalRecord, StepRecord, Store, WaitKind, Workflow,
	WorkflowFilter, WorkflowId, WorkflowStats, WorkflowVersion, Write, store::StoreError,
};
use async_trait::async_trait;

/// Everything in memory; lost when the process ends.
#[derive(Default)]
pub struct MemoryStore {
	state: Mutex<State>,
}

#[derive(Default)]
struct State {
	workflows: HashMap<WorkflowId, Workflow>,
	versions: HashMap<(WorkflowId, i64), WorkflowVersion>,
	executions: HashMap<ExecutionId, Execution>,
	/// Per execution, steps in first-write order.
	steps: HashMap<ExecutionId, Vec<StepRecord>>,
	attempts: HashMap<ExecutionId, Vec<AttemptRecord>>,
	events: HashMap<ExecutionId, Vec<EventRecord>>,
	logs: HashMap<ExecutionId, Vec<LogRecord>>,
	signals: HashMap<ExecutionId, Vec<SignalRecord>>,
	decisions: HashMap<ExecutionId, Vec<Decision>>,
	next_seq: i64,
	accounts: accounts::Accounts,
}

impl MemoryStore {
	/// An empty store.
	pub fn new() -> Self {
		Self::default()
	}

	fn lock(&self) -> std::sync::MutexGuard<'_, State> {
		// A panic while holding the lock cannot leave a half-applied batch behind (batches are
		// checked before they are applied), so a poisoned lock is still consistent.
		self.state.lock().unwrap_or_else(|e| e.into_inner())
	}
}

fn version_of(w: &Workflow) -> WorkflowVersion {
	WorkflowVersion {
		workflow_id: w.id,
		version: w.version,
		definition: w.definition.clone(),
		saved_by: w.saved_by.clone(),
		created_at: w.updated_at,
	}
}

#[async_trait]
impl Store for MemoryStore {
	async fn migrate(&self) -> StoreResult<()> {
		Ok(())
	}

	async fn create_workflow(&self, workflow: &Workflow) -> StoreResult<()> {
		let mut s = self.lock();
		if s.workflows
			.values()
			.any(|w| w.name == workflow.name && w.created_by == workflow.created_by)
		{
			return Err(StoreError::Conflict(format!(
				"a workflow named '{}' already exists",
				workflow.name
			)));
		}
		if s.workflows.contains_key(&workflow.id) {
			return Err(StoreError::Conflict(format!(
				"workflow {} already exists",
				workflow.id
			)));
		}
		s.versions
			.insert((workflow.id, workflow.version), version_of(workflow));
		s.workflows.insert(workflow.id, workflow.clone());
		Ok(())
	}

	async fn get_workflow(&self, id: WorkflowId) -> StoreResult<Option<Workflow>> {
		Ok(self.lock().workflows.get(&id).cloned())
	}

	async fn list_workflows(&self, f: &WorkflowFilter) -> StoreResult<Vec<Workflow>> {
		let s = self.lock();
		let search = f.search.as_ref().map(|t| t.to_lowercase());
		let mut rows: Vec<Workflow> = s
			.workflows
			.values()
			.filter(|w| f.status.is_none_or(|st| w.status == st))
			.filter(|w| {
				f.category
					.as_ref()
					.is_none_or(|c| w.category.as_ref() == Some(c))
			})
			.filter(|w| f.tag.as_ref().is_none_or(|t| w.tags.contains(t)))
			.filter(|w| {
				f.visible_to
					.as_ref()
					.is_none_or(|u| s.accounts.visible(w, u))
			})
			.filter(|w| {
				search.as_ref().is_none_or(|t| {
					w.name.to_lowercase().contains(t)
						|| w.description
							.as_ref()
							.is_some_and(|d| d.to_lowercase().contains(t))
				})
			})
			.cloned()
			.collect();
		rows.sort_by(|a, b| b.updated_at.cmp(&a.updated_at).then(b.id.cmp(&a.id)));
		Ok(page(rows, f.limit, f.offset))
	}

	async fn update_workflow(&self, workflow: &Workflow) -> StoreResult<bool> {
		let mut s = self.lock();
		if !s.workflows.contains_key(&workflow.id) {
			return Ok(false);
		}
		if s.workflows.values().any(|w| {
			w.id != workflow.id && w.name == workflow.name && w.created_by == workflow.created_by
		}) {
			return Err(StoreError::Conflict(format!(
				"a workflow named '{}' already exists",
				workflow.name
			)));
		}
		s.versions
			.entry((workflow.id, workflow.version))
			.or_insert_with(|| version_of(workflow));
		s.workflows.insert(workflow.id, workflow.clone());
		Ok(true)
	}

	async fn delete_workflow(&self, id: WorkflowId) -> StoreResult<bool> {
		let mut s = self.lock();
		if s.workflows.remove(&id).is_none() {
			return Ok(false);
		}
		s.versions.retain(|(w, _), _| *w != id);
		s.accounts.forget_workflow(id);
		let gone: Vec<ExecutionId> = s
			.executions
			.values()
			.filter(|e| e.workflow_id == id)
			.map(|e| e.id)
			.collect();
		for e in gone {
			s.executions.remove(&e);
			s.steps.remove(&e);
			s.attempts.remove(&e);
			s.events.remove(&e);
			s.logs.remove(&e);
			s.signals.remove(&e);
			s.decisions.remove(&e);
		}
		Ok(true)
	}

	async fn get_version(
		&self,
		id: WorkflowId,
		version: i64,
	) -> StoreResult<Option<WorkflowVersion>> {
		Ok(self.lock().versions.get(&(id, version)).cloned())
	}

	async fn list_versions(&self, id: WorkflowId) -> StoreResult<Vec<WorkflowVersion>> {
		let s = self.lock();
		let mut v: Vec<WorkflowVersion> = s
			.versions
			.values()
			.filter(|v| v.workflow_id == id)
			.cloned()
			.collect();
		v.sort_by_key(|v| v.version);
		Ok(v)
	}

	async fn commit(&self, batch: &Batch) -> StoreResult<()> {
		let mut s = self.lock();
		// Check first, apply second: a batch is all or nothing.
		for w in &batch.writes {
			let exec = match w {
				Write::Execution(e) | Write::Child(e) => {
					if !s.workflows.contains_key(&e.workflow_id) {
						return Err(StoreError::Dangling(format!(
							"unknown workflow {}",
							e.workflow_id
						)));
					}
					continue;
				}
				Write::Step(r) => r.execution_id,
				Write::Attempt(a) => a.execution_id,
				Write::Event(e) => e.execution_id,
				Write::Log(l) => l.execution_id,
				Write::TakeSignal { execution_id, .. } => *execution_id,
			};
			let inserted_here = batch
				.writes
				.iter()
				.any(|w| matches!(w, Write::Execution(e) | Write::Child(e) if e.id == exec));
			if !s.executions.contains_key(&exec) && !inserted_here {
				return Err(StoreError::Dangling(format!("unknown execution {exec}")));
			}
		}
		for w in &batch.writes {
			match w {
				Write::Execution(e) | Write::Child(e) => {
					s.executions.insert(e.id, (**e).clone());
				}
				Write::Step(r) => {
					let steps = s.steps.entry(r.execution_id).or_default();
					match steps.iter_mut().find(|x| x.component_id == r.component_id) {
						Some(x) => *x = (**r).clone(),
						None => steps.push((**r).clone()),
					}
				}
				Write::Attempt(a) => {
					let list = s.attempts.entry(a.execution_id).or_default();
					match list
						.iter_mut()
						.find(|x| x.component_id == a.component_id && x.attempt == a.attempt)
					{
						Some(x) => *x = a.clone(),
						None => list.push(a.clone()),
					}
				}
				Write::Event(e) => {
					s.next_seq += 1;
					let seq = s.next_seq;
					s.events
						.entry(e.execution_id)
						.or_default()
						.push(EventRecord {
							seq,
							event: e.clone(),
						});
				}
				Write::Log(l) => s.logs.entry(l.execution_id).or_default().push(l.clone()),
				Write::TakeSignal {
					execution_id,
					signal,
					component_id,
				} => {
					let kept = s.signals.entry(*execution_id).or_default();
					if let Some(x) = kept.iter_mut().find(|x| x.id == *signal) {
						x.taken_by = Some(component_id.clone());
					}
				}
			}
		}
		Ok(())
	}

	async fn get_execution(&self, id: ExecutionId) -> StoreResult<Option<Execution>> {
		Ok(self.lock().executions.get(&id).cloned())
	}

	async fn list_executions(&self, f: &ExecutionFilter) -> StoreResult<Vec<Execution>> {
		let s = self.lock();
		let mut rows: Vec<Execution> = s
			.executions
			.values()
			.filter(|e| f.workflow_id.is_none_or(|w| e.workflow_id == w))
			.filter(|e| f.status.is_none_or(|st| e.status == st))
			.filter(|e| {
				f.visible_to.as_ref().is_none_or(|u| {
					s.workflows
						.get(&e.workflow_id)
						.is_some_and(|w| s.accounts.visible(w, u))
				})
			})
			.map(|e| Execution {
				parameters: Default::default(),
				vars: Default::default(),
				results: None,
				..e.clone()
			})
			.collect();
		rows.sort_by_key(|e| std::cmp::Reverse(e.id));
		Ok(page(rows, f.limit, f.offset))
	}

	async fn find_by_idempotency_key(
		&self,
		workflow: WorkflowId,
		key: &str,
	) -> StoreResult<Option<Execution>> {
		let s = self.lock();
		Ok(s.executions
			.values()
			.find(|e| e.workflow_id == workflow && e.idempotency_key.as_deref() == Some(key))
			.cloned())
	}

	async fn unfinished_executions(&self) -> StoreResult<Vec<Execution>> {
		let s = self.lock();
		let mut rows: Vec<Execution> = s
			.executions
			.values()
			.filter(|e| !e.status.is_terminal() && e.status != ExecutionStatus::Pending)
			.cloned()
			.collect();
		rows.sort_by_key(|e| e.id);
		Ok(rows)
	}

	async fn children(&self, parent: ExecutionId) -> StoreResult<Vec<Execution>> {
		let s = self.lock();
		let mut rows: Vec<Execution> = s
			.executions
			.values()
			.filter(|e| e.parent.as_ref().is_some_and(|p| p.execution_id == parent))
			.cloned()
			.collect();
		rows.sort_by_key(|e| e.id);
		Ok(rows)
	}

	async fn count_executions(&self) -> StoreResult<i64> {
		Ok(self.lock().executions.len() as i64)
	}

	async fn delete_ended_before(&self, cutoff: Millis, limit: i64) -> StoreResult<u64> {
		let mut s = self.lock();
		let doomed: Vec<ExecutionId> = s
			.executions
			.values()
			.filter(|e| e.status.is_terminal() && e.completed_at.is_some_and(|c| c < cutoff))
			.map(|e| e.id)
			.take(limit.max(0) as usize)
			.collect();
		for id in &doomed {
			s.executions.remove(id);
			s.steps.remove(id);
			s.attempts.remove(id);
			s.events.remove(id);
			s.logs.remove(id);
			s.signals.remove(id);
			s.decisions.remove(id);
		}
		Ok(doomed.len() as u64)
	}

	async fn workflow_stats(
		&self,
		ids: &[WorkflowId],
	) -> StoreResult<HashMap<WorkflowId, WorkflowStats>> {
		let s = self.lock();
		let mut out: HashMap<WorkflowId, (WorkflowStats, f64, i64)> = HashMap::new();
		for e in s
			.executions
			.values()
			.filter(|e| ids.contains(&e.workflow_id))
		{
			let (stats, sum, n) = out.entry(e.workflow_id).or_default();
			stats.total_executions += 1;
			match e.status {
				ExecutionStatus::Completed => stats.successful_executions += 1,
				ExecutionStatus::Failed => stats.failed_executions += 1,
				_ => {}
			}
			if let (Some(start), Some(end)) = (e.started_at, e.completed_at) {
				*sum += (end - start) as f64 / 1000.0;
				*n += 1;
			}
			stats.last_execution_at = stats.last_execution_at.max(Some(e.created_at));
		}
		Ok(out
			.into_iter()
			.map(|(id, (mut stats, sum, n))| {
				stats.avg_duration_seconds = (n > 0).then(|| sum / n as f64);
				(id, stats)
			})
			.collect())
	}

	async fn steps(&self, id: ExecutionId) -> StoreResult<Vec<StepRecord>> {
		Ok(self.lock().steps.get(&id).cloned().unwrap_or_default())
	}

	async fn attempts(&self, id: ExecutionId) -> StoreResult<Vec<AttemptRecord>> {
		Ok(self.lock().attempts.get(&id).cloned().unwrap_or_default())
	}

	async fn events(&self, id: ExecutionId) -> StoreResult<Vec<EventRecord>> {
		Ok(self.lock().events.get(&id).cloned().unwrap_or_default())
	}

	async fn events_after(
		&self,
		after: i64,
		missing: &[i64],
		limit: i64,
	) -> StoreResult<Vec<EventRecord>> {
		let s = self.lock();
		let mut rows: Vec<EventRecord> = s
			.events
			.values()
			.flatten()
			.filter(|r| r.seq > after || missing.contains(&r.seq))
			.cloned()
			.collect();
		rows.sort_by_key(|r| r.seq);
		rows.truncate(limit.max(0) as usize);
		Ok(rows)
	}

	async fn last_event_seq(&self) -> StoreResult<i64> {
		Ok(self.lock().next_seq)
	}

	async fn logs(&self, id: ExecutionId) -> StoreResult<Vec<LogRecord>> {
		Ok(self.lock().logs.get(&id).cloned().unwrap_or_default())
	}

	async fn put_signal(&self, signal: &SignalRecord) -> StoreResult<()> {
		let mut s = self.lock();
		if !s.executions.contains_key(&signal.execution_id) {
			return Err(StoreError::Dangling(format!(
				"unknown execution {}",
				signal.execution_id
			)));
		}
		s.signals
			.entry(signal.execution_id)
			.or_default()
			.push(signal.clone());
		Ok(())
	}

	async fn pending_signals(&self, id: ExecutionId) -> StoreResult<Vec<SignalRecord>> {
		let s = self.lock();
		let mut out: Vec<SignalRecord> = s
			.signals
			.get(&id)
			.into_iter()
			.flatten()
			.filter(|x| x.taken_by.is_none())
			.cloned()
			.collect();
		out.sort_by_key(|x| x.created_at);
		Ok(out)
	}

	async fn put_decision(&self, decision: &Decision) -> StoreResult<()> {
		let mut s = self.lock();
		if !s.executions.contains_key(&decision.execution_id) {
			return Err(StoreError::Dangling(format!(
				"unknown execution {}",
				decision.execution_id
			)));
		}
		let list = s.decisions.entry(decision.execution_id).or_default();
		if list.iter().any(|d| {
			d.component_id == decision.component_id
				&& d.round == decision.round
				&& d.user_id == decision.user_id
		}) {
			return Err(StoreError::Conflict("already decided".to_owned()));
		}
		list.push(decision.clone());
		Ok(())
	}

	async fn decisions(&self, id: ExecutionId) -> StoreResult<Vec<Decision>> {
		Ok(self.lock().decisions.get(&id).cloned().unwrap_or_default())
	}

	async fn waiting_steps(&self, kind: WaitKind, limit: i64) -> StoreResult<Vec<StepRecord>> {
		let s = self.lock();
		let mut out: Vec<StepRecord> = s
			.steps
			.iter()
			.filter(|(id, _)| {
				s.executions
					.get(id)
					.is_some_and(|e| !e.status.is_terminal())
			})
			.flat_map(|(_, steps)| steps.iter())
			.filter(|r| r.waiting.as_ref().is_some_and(|w| w.kind() == Some(kind)))
			.cloned()
			.collect();
		out.sort_by_key(|r| (r.started_at, r.execution_id));
		out.truncate(limit.max(0) as usize);
		Ok(out)
	}
}

fn page<T>(rows: Vec<T>, limit: i64, offset: i64) -> Vec<T> {
	let limit = if limit <= 0 {
		usize::MAX
	} else {
		limit as usize
	};
	rows.into_iter()
		.skip(offset.max(0) as usize)
		.take(limit)
		.collect()
}
