//! The scheduler: every node ticks, claims the schedules that are due and that no other node
//! holds (a lease in the store), handles each fire time, and moves the schedule on.
//!
//! A fire happens once across nodes and restarts: the lease gives a schedule to one node at a
//! time; its execution carries the fire's idempotency key, so a fire handled again (the node
//! died before moving the schedule on, and another took it over when the lease ran out)
//! returns the execution it already started; and its row (unique per schedule and time) keeps
//! the first decision. A fire starts an execution as the schedule's creator, with the same
//! check a request of theirs would meet (`execute` on the workflow, an active account); a
//! refusal is recorded on the fire and audited, and the schedule goes on.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use apg_auth::{AuthError, Delegation, Security};
use apg_core::store::StoreError;
use apg_core::{
	Fire, FireStatus, Millis, Overlap, Principal, Schedule, ScheduleStore, WorkflowAction,
	now_millis,
};
use apg_engine::{Engine, EngineError, ExecuteRequest};

use crate::cron::CronSpec;

/// How often a node looks for due schedules: fires are at most this late.
const TICK: Duration = Duration::from_millis(500);
/// How long a claimed schedule is this node's: a node that dies holding one delays its fires
/// by at most this.
const LEASE_MS: Millis = 30_000;
/// Schedules handled per tick.
const BATCH: i64 = 64;

/// Why a schedule could not be handled now (it is handled again when its lease runs out).
#[derive(Debug, thiserror::Error)]
pub enum SchedulerError {
	/// The store failed.
	#[error(transparent)]
	Store(#[from] StoreError),
	/// The engine could not take the execution.
	#[error(transparent)]
	Engine(EngineError),
	/// The permission check could not be made.
	#[error(transparent)]
	Auth(AuthError),
}

/// Starts the executions of due schedules.
#[derive(Clone)]
pub struct Scheduler {
	engine: Engine,
	schedules: Arc<dyn ScheduleStore>,
	security: Security,
	node: String,
}

impl Scheduler {
	/// A scheduler of `schedules` on the node `node`, starting executions on `engine`.
	pub fn new(
		engine: Engine,
		schedules: Arc<dyn ScheduleStore>,
		security: Security,
		node: String,
	) -> Self {
		Self {
			engine,
			schedules,
			security,
			node,
		}
	}

	/// Ticks until the process ends.
	pub fn start(self) -> tokio::task::JoinHandle<()> {
		tokio::spawn(async move {
			loop {
				self.tick(now_millis()).await;
				tokio::time::sleep(TICK).await;
			}
		})
	}

	/// Handles the schedules due at `now`; returns how many were handled.
	pub async fn tick(&self, now: Millis) -> usize {
		let claimed = match self
			.schedules
			.claim_due_schedules(&self.node, now, now + LEASE_MS, BATCH)
			.await
		{
			Ok(claimed) => claimed,
			Err(e) => {
				tracing::warn!(error = %e, "cannot look for due schedules");
				return 0;
			}
		};
		let mut handled = 0;
		for schedule in claimed {
			match self.handle(&schedule, now).await {
				Ok(()) => handled += 1,
				Err(e) => tracing::warn!(
					schedule = %schedule.id,
					error = %e,
					"a schedule could not fire; it is tried again when its lease ends"
				),
			}
		}
		handled
	}

	async fn handle(&self, s: &Schedule, now: Millis) -> Result<(), SchedulerError> {
		let spec = match CronSpec::parse(&s.cron, &s.timezone) {
			Ok(spec) => spec,
			Err(e) => {
				// Checked when it was saved: only a change of the rules can get here.
				tracing::error!(schedule = %s.id, error = %e, "a schedule no longer parses");
				self.schedules
					.advance_schedule(s.id, &self.node, None)
					.await?;
				return Ok(());
			}
		};
		let (due, next) = match s.next_fire_at {
			Some(at) if at <= now => (spec.due(at, now, s.catch_up), spec.next_after(now)),
			// Claimed for its queued fires only.
			other => (Vec::new(), other),
		};
		let open = self.schedules.open_fires(s.id).await?;
		let mut running = open.iter().any(|f| f.status == FireStatus::Started);
		let mut queued: VecDeque<Millis> = open
			.iter()
			.filter(|f| f.status == FireStatus::Queued)
			.map(|f| f.fire_at)
			.collect();
		for at in due {
			match s.overlap {
				Overlap::Allow => {
					self.fire(s, at).await?;
				}
				Overlap::Skip if running => {
					self.record(s, at, FireStatus::Skipped, None, None).await?;
				}
				Overlap::Skip => running = self.fire(s, at).await?,
				Overlap::Queue => {
					if !queued.contains(&at) {
						self.record(s, at, FireStatus::Queued, None, None).await?;
						queued.push_back(at);
					}
				}
			}
		}
		if s.overlap == Overlap::Queue
			&& !running
			&& let Some(at) = queued.pop_front()
		{
			self.fire(s, at).await?;
		}
		self.schedules
			.advance_schedule(s.id, &self.node, next)
			.await?;
		Ok(())
	}

	/// Starts the execution of the fire at `at`, or records why not; true when it started.
	async fn fire(&self, s: &Schedule, at: Millis) -> Result<bool, SchedulerError> {
		let guard = &self.security.guard;
		let delegation = guard
			.delegate(s.created_by, s.workflow_id, WorkflowAction::Execute)
			.await
			.map_err(SchedulerError::Auth)?;
		let principal = match delegation {
			Delegation::Allowed(principal) => principal,
			Delegation::Refused(principal, why) => {
				let why = format!("the schedule's owner may not run it: {why}");
				self.refuse(s, at, principal.as_ref(), why).await?;
				return Ok(false);
			}
		};
		let request = ExecuteRequest {
			workflow_id: s.workflow_id,
			parameters: s.parameters.clone(),
			idempotency_key: Some(Fire::idempotency_key(s.id, at)),
			started_by: Some(s.created_by),
			..Default::default()
		};
		match self.engine.execute(request).await {
			Ok(execution) => {
				self.record(s, at, FireStatus::Started, Some(execution.id), None)
					.await?;
				let details = serde_json::json!({
					"execution_id": execution.id.to_string(),
					"fire_at": at,
				});
				self.security
					.audit
					.record(
						Some(&principal),
						"schedule.fire",
						&resource(s),
						true,
						details,
					)
					.await;
				Ok(true)
			}
			Err(
				e @ (EngineError::Invalid(_) | EngineError::NotFound(_) | EngineError::Conflict(_)),
			) => {
				self.refuse(s, at, Some(&principal), e.to_string()).await?;
				Ok(false)
			}
			Err(e) => Err(SchedulerError::Engine(e)),
		}
	}

	async fn refuse(
		&self,
		s: &Schedule,
		at: Millis,
		principal: Option<&Principal>,
		why: String,
	) -> Result<(), SchedulerError> {
		tracing::warn!(schedule = %s.id, reason = %why, "a scheduled fire was refused");
		let details = serde_json::json!({"fire_at": at, "reason": why});
		self.security
			.audit
			.record(principal, "schedule.fire", &resource(s), false, details)
			.await;
		self.record(s, at, FireStatus::Refused, None, Some(why))
			.await
	}

	async fn record(
		&self,
		s: &Schedule,
		at: Millis,
		status: FireStatus,
		execution_id: Option<apg_core::ExecutionId>,
		detail: Option<String>,
	) -> Result<(), SchedulerError> {
		let fire = Fire {
			schedule_id: s.id,
			fire_at: at,
			status,
			execution_id,
			detail,
			recorded_at: now_millis(),
		};
		self.schedules.record_fire(&fire).await?;
		Ok(())
	}
}

fn resource(s: &Schedule) -> String {
	format!("schedule/{}", s.id)
}
