//! Cron schedules: a workflow started with fixed parameters at the times of a cron expression in
//! a time zone, and the [`ScheduleStore`] that keeps them and their fires.
//!
//! Each fire time of a schedule has at most one row ([`Fire`], unique per schedule and time),
//! and the execution it starts carries the idempotency key [`Fire::idempotency_key`], so a fire
//! replayed after a crash, or attempted by two nodes, starts one execution. Nodes take turns on
//! a schedule through a lease ([`ScheduleStore::claim_due_schedules`]), like on executions.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::Millis;
use crate::ids::{ExecutionId, ScheduleId, UserId, WorkflowId};
use crate::store::StoreResult;

/// What a fire does while an execution of an earlier fire still runs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Overlap {
	/// Nothing: the fire is recorded as skipped.
	#[default]
	Skip,
	/// It waits, and starts when nothing of the schedule runs (fires queue in order).
	Queue,
	/// It starts anyway.
	Allow,
}

/// What happens to the fires a schedule missed while no node was running.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CatchUp {
	/// They are dropped; the schedule goes on from the next time.
	None,
	/// The most recent one runs.
	#[default]
	Latest,
	/// Each runs, oldest first, up to [`CATCH_UP_LIMIT`] (the most recent ones).
	All,
}

/// The most missed fires `catch_up: all` starts after a downtime.
pub const CATCH_UP_LIMIT: usize = 100;

macro_rules! text_enum {
	($ty:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
		impl $ty {
			/// The lowercase name, as stored and in the API.
			pub fn as_str(self) -> &'static str {
				match self {
					$(Self::$variant => $text,)+
				}
			}

			/// The value named `text`.
			pub fn parse(text: &str) -> Option<Self> {
				match text {
					$($text => Some(Self::$variant),)+
					_ => None,
				}
			}
		}
	};
}

text_enum!(Overlap { Skip => "skip", Queue => "queue", Allow => "allow" });
text_enum!(CatchUp { None => "none", Latest => "latest", All => "all" });

/// A cron schedule of a workflow.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Schedule {
	/// Id.
	pub id: ScheduleId,
	/// What it starts.
	pub workflow_id: WorkflowId,
	/// Its name (unique per workflow is not required).
	pub name: String,
	/// A 5-field (minute first) or 6-field (second first) cron expression.
	pub cron: String,
	/// An IANA time zone (`Europe/Paris`), in which the expression is read.
	pub timezone: String,
	/// The parameters of every execution it starts.
	pub parameters: Map<String, Value>,
	/// See [`Overlap`].
	pub overlap: Overlap,
	/// See [`CatchUp`].
	pub catch_up: CatchUp,
	/// A paused schedule fires nothing (and catches nothing up when resumed).
	pub paused: bool,
	/// Who created it: its executions run as this user, while they may still run the workflow.
	pub created_by: UserId,
	/// Created.
	pub created_at: Millis,
	/// Last change.
	pub updated_at: Millis,
	/// The next fire time not yet handled; `None` when the expression has no future time.
	pub next_fire_at: Option<Millis>,
}

/// What became of one fire time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FireStatus {
	/// It started an execution.
	Started,
	/// An earlier execution still ran (`overlap: skip`).
	Skipped,
	/// It waits for an earlier execution to end (`overlap: queue`).
	Queued,
	/// Its creator may no longer run the workflow, or the workflow is not active.
	Refused,
}

text_enum!(FireStatus {
	Started => "started",
	Skipped => "skipped",
	Queued => "queued",
	Refused => "refused",
});

/// One fire time of a schedule.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Fire {
	/// The schedule.
	pub schedule_id: ScheduleId,
	/// The time it was due (not when it was handled).
	pub fire_at: Millis,
	/// What became of it.
	pub status: FireStatus,
	/// The execution it started.
	pub execution_id: Option<ExecutionId>,
	/// Why it was refused.
	pub detail: Option<String>,
	/// When it was handled.
	pub recorded_at: Millis,
}

impl Fire {
	/// The idempotency key of the execution a fire starts: one per schedule and time.
	pub fn idempotency_key(schedule: ScheduleId, fire_at: Millis) -> String {
		format!("schedule:{schedule}:{fire_at}")
	}
}

/// Persistence of schedules and their fires. Implementations: SQLite and PostgreSQL, held to
/// one contract suite.
#[async_trait]
pub trait ScheduleStore: Send + Sync {
	/// Adds a schedule.
	async fn create_schedule(&self, schedule: &Schedule) -> StoreResult<()>;
	/// One schedule.
	async fn get_schedule(&self, id: ScheduleId) -> StoreResult<Option<Schedule>>;
	/// Schedules of one workflow or of all, oldest first.
	async fn list_schedules(&self, workflow: Option<WorkflowId>) -> StoreResult<Vec<Schedule>>;
	/// Replaces a schedule's settings (name, cron, timezone, parameters, overlap, catch_up,
	/// paused, updated_at, next_fire_at); false when absent.
	async fn update_schedule(&self, schedule: &Schedule) -> StoreResult<bool>;
	/// Deletes a schedule and its fires; false when absent.
	async fn delete_schedule(&self, id: ScheduleId) -> StoreResult<bool>;
	/// Leases to `node` until `until`, and returns, up to `limit` unpaused schedules that are
	/// due at `now` (their next fire time has come, or they have queued fires) and that no
	/// other node holds.
	async fn claim_due_schedules(
		&self,
		node: &str,
		now: Millis,
		until: Millis,
		limit: i64,
	) -> StoreResult<Vec<Schedule>>;
	/// Moves a schedule held by `node` on to `next_fire_at` and gives up the lease; false when
	/// the lease was lost (another node took the schedule over).
	async fn advance_schedule(
		&self,
		id: ScheduleId,
		node: &str,
		next_fire_at: Option<Millis>,
	) -> StoreResult<bool>;
	/// Records a fire; a fire of that schedule and time already recorded is replaced only when
	/// it was queued (a queued fire that starts later), and otherwise kept: then false.
	async fn record_fire(&self, fire: &Fire) -> StoreResult<bool>;
	/// The fires of a schedule, newest first.
	async fn list_fires(&self, schedule: ScheduleId, limit: i64) -> StoreResult<Vec<Fire>>;
	/// The fires of a schedule whose execution has not ended, and its queued fires, oldest
	/// first: what `overlap` decides on.
	async fn open_fires(&self, schedule: ScheduleId) -> StoreResult<Vec<Fire>>;
}
