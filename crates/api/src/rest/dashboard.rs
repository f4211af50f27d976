//! `/dashboard`: the figures of the UI's dashboard, computed on the server from the executions the
//! caller may see, so the page no longer downloads hundreds of executions to count them.
//!
//! Visibility is exactly `GET /executions`' (the guard's `visible_to`: admins see every
//! execution, everyone else those of workflows they own or have a share of). Over a window of
//! `hours` (1–720, default 24) it gives counts per status per time bucket (the bucket size grows
//! with the window so there are at most 48), the success rate (completed over completed and
//! failed), p50/p95 duration of the completed ones, and how many visible executions run now.
//!
//! It pages through the store's ordinary list (no store method of its own), newest first, and
//! stops at the window's start or after [`MAX_SCANNED`] executions of the window, whichever comes
//! first: a busy server answers in bounded time and memory, and `truncated` says the figures
//! cover only the newest of them. The running count is capped the same way.
//!
//! Queue depth per priority comes from the engine (`ready_by_priority`): it is the whole node's
//! load, everyone's work, not the caller's. Like `/metrics` (whose `metrics.read` permission
//! exists because queue depths tell an outsider how the system is used), it is given only to
//! callers holding `metrics.read` (admins); for everyone else `queue_depth` is null.

use std::collections::BTreeMap;

use apg_core::{
	Execution, ExecutionFilter, ExecutionStatus, Millis, Permission, Principal, now_millis,
};
use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::ApiQuery;
use crate::state::AppState;
use crate::views::{Envelope, iso};

/// At most this many executions of the window are read per request (and as many running ones).
pub(crate) const MAX_SCANNED: usize = 20_000;

/// Rows per store page while scanning.
const PAGE: i64 = 500;

/// Bucket sizes to choose from, in minutes: the smallest giving at most [`MAX_BUCKETS`].
const BUCKET_MINUTES: [i64; 7] = [5, 15, 60, 180, 360, 720, 1440];
const MAX_BUCKETS: i64 = 48;

/// Every status, in the order the buckets list them.
const STATUSES: [ExecutionStatus; 7] = [
	ExecutionStatus::Pending,
	ExecutionStatus::Queued,
	ExecutionStatus::Running,
	ExecutionStatus::Paused,
	ExecutionStatus::Completed,
	ExecutionStatus::Failed,
	ExecutionStatus::Cancelled,
];

pub(crate) fn router() -> Router<AppState> {
	Router::new().route("/dashboard", get(dashboard))
}

/// The window of the dashboard.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct DashboardQuery {
	/// The last this many hours, 1–720 (default 24).
	#[param(minimum = 1, maximum = 720)]
	hours: Option<i64>,
}

/// Executions created within one bucket, by status.
#[derive(Serialize, ToSchema, Debug, PartialEq)]
pub(crate) struct BucketView {
	/// The bucket's start (buckets are aligned to multiples of their size since the epoch).
	#[schema(format = DateTime)]
	start: String,
	/// Every status with its count (zeros included).
	counts: BTreeMap<String, u64>,
}

/// The dashboard's figures.
#[derive(Serialize, ToSchema, Debug, PartialEq)]
pub(crate) struct DashboardView {
	/// The window, in hours.
	hours: i64,
	#[schema(format = DateTime)]
	from: String,
	#[schema(format = DateTime)]
	to: String,
	/// The size of each bucket.
	bucket_seconds: i64,
	/// Oldest first, covering the window.
	buckets: Vec<BucketView>,
	/// Executions created in the window, by status.
	totals: BTreeMap<String, u64>,
	/// Executions created in the window.
	total: u64,
	/// Completed over completed and failed, 0–1; null when none ended so.
	success_rate: Option<f64>,
	/// Median duration of the completed ones, in milliseconds.
	p50_ms: Option<i64>,
	/// 95th percentile duration of the completed ones, in milliseconds.
	p95_ms: Option<i64>,
	/// Visible executions running now (whenever created).
	running_now: u64,
	/// Ready attempts waiting for a worker on this node, by priority ("1"–"10"); null unless the
	/// caller holds `metrics.read` (it is everyone's load).
	queue_depth: Option<BTreeMap<String, usize>>,
	/// Whether the scan stopped at its cap before the window's start (or before the last
	/// running execution): the figures then cover only the newest executions.
	truncated: bool,
}

/// Counts, rates and durations of the executions of the dashboard's window.
#[utoipa::path(get, path = "/api/v1/dashboard", tag = "executions", params(DashboardQuery),
	responses((status = 200, body = Envelope<DashboardView>), (status = 400, body = crate::views::ErrorBody)))]
pub(crate) async fn dashboard(
	State(state): State<AppState>,
	Caller(caller): Caller,
	ApiQuery(q): ApiQuery<DashboardQuery>,
) -> Result<Json<Envelope<DashboardView>>, ApiError> {
	let hours = q.hours.unwrap_or(24);
	if !(1..=720).contains(&hours) {
		return Err(ApiError::bad_request("hours", "must be between 1 and 720"));
	}
	state
		.security
		.guard
		.require(&caller, Permission::WorkflowRead)
		.await?;
	let now = now_millis();
	let window = Window::new(now, hours);
	let (recent, recent_cut) = scan(&state, &caller, None, Some(window.from)).await?;
	let (running, running_cut) =
		scan(&state, &caller, Some(ExecutionStatus::Running), None).await?;
	let queue_depth = if caller.can(Permission::MetricsRead) {
		state.engine.stats().await.ok().map(|s| {
			let depth = s.ready_by_priority.iter().enumerate();
			depth.map(|(i, n)| ((i + 1).to_string(), *n)).collect()
		})
	} else {
		None
	};
	let mut view = window.summarise(&recent);
	view.running_now = running.len() as u64;
	view.queue_depth = queue_depth;
	view.truncated = recent_cut || running_cut;
	Ok(Json(Envelope::new(view, None)))
}

/// Executions the caller may see, newest first, with `status`, created at or after `since`; at
/// most [`MAX_SCANNED`], and whether that cap cut the list short.
async fn scan(
	state: &AppState,
	caller: &Principal,
	status: Option<ExecutionStatus>,
	since: Option<Millis>,
) -> Result<(Vec<Execution>, bool), ApiError> {
	let store = state.engine.store();
	let mut out = Vec::new();
	let mut filter = ExecutionFilter {
		workflow_id: None,
		status,
		visible_to: state.security.guard.visible_to(caller),
		limit: PAGE,
		offset: 0,
	};
	loop {
		let rows = store.list_executions(&filter).await?;
		let full = rows.len() as i64 == PAGE;
		for row in rows {
			// Newest first (ids are time-ordered), so the first one too old ends the scan.
			if since.is_some_and(|s| row.created_at < s) {
				return Ok((out, false));
			}
			if out.len() == MAX_SCANNED {
				return Ok((out, true));
			}
			out.push(row);
		}
		if !full {
			return Ok((out, false));
		}
		filter.offset += PAGE;
	}
}

/// The window and its buckets.
struct Window {
	hours: i64,
	from: Millis,
	to: Millis,
	/// Bucket size in milliseconds.
	step: Millis,
	/// The first bucket's start (at or before `from`).
	first: Millis,
}

impl Window {
	fn new(now: Millis, hours: i64) -> Self {
		let span = hours * 3_600_000;
		let minutes = BUCKET_MINUTES
			.into_iter()
			.find(|m| hours * 60 / m <= MAX_BUCKETS)
			.unwrap_or(1440);
		let step = minutes * 60_000;
		let from = now - span;
		Self {
			hours,
			from,
			to: now,
			step,
			first: from.div_euclid(step) * step,
		}
	}

	/// The figures of `rows` (all created in the window); the running count, queue depth and
	/// truncation are the caller's to fill in.
	fn summarise(&self, rows: &[Execution]) -> DashboardView {
		let zero = || -> BTreeMap<String, u64> {
			STATUSES
				.iter()
				.map(|s| (s.as_str().to_owned(), 0))
				.collect()
		};
		let count = ((self.to - self.first) / self.step + 1) as usize;
		let mut buckets: Vec<BTreeMap<String, u64>> = (0..count).map(|_| zero()).collect();
		let mut totals = zero();
		let mut durations = Vec::new();
		for e in rows {
			let i = ((e.created_at - self.first) / self.step).clamp(0, count as i64 - 1);
			*buckets[i as usize]
				.entry(e.status.as_str().to_owned())
				.or_default() += 1;
			*totals.entry(e.status.as_str().to_owned()).or_default() += 1;
			if e.status == ExecutionStatus::Completed
				&& let Some(end) = e.completed_at
			{
				durations.push((end - e.started_at.unwrap_or(e.created_at)).max(0));
			}
		}
		durations.sort_unstable();
		let completed = totals["completed"];
		let ended = completed + totals["failed"];
		DashboardView {
			hours: self.hours,
			from: iso(self.from),
			to: iso(self.to),
			bucket_seconds: self.step / 1000,
			buckets: buckets
				.into_iter()
				.enumerate()
				.map(|(i, counts)| BucketView {
					start: iso(self.first + i as i64 * self.step),
					counts,
				})
				.collect(),
			total: rows.len() as u64,
			totals,
			success_rate: (ended > 0).then(|| completed as f64 / ended as f64),
			p50_ms: percentile(&durations, 50),
			p95_ms: percentile(&durations, 95),
			running_now: 0,
			queue_depth: None,
			truncated: false,
		}
	}
}

/// The nearest-rank percentile of sorted `values`.
fn percentile(values: &[i64], p: usize) -> Option<i64> {
	if values.is_empty() {
		return None;
	}
	let rank = (p * values.len()).div_ceil(100).max(1);
	values.get(rank - 1).copied()
}

#[cfg(test)]
mod tests {
	use super::*;

	fn exec(status: ExecutionStatus, created_at: Millis, took: Option<Millis>) -> Execution {
		Execution {
			id: Default::default(),
			workflow_id: Default::default(),
			workflow_version: 1,
			status,
			priority: apg_core::Priority::DEFAULT,
			parameters: Default::default(),
			vars: Default::default(),
			results: None,
			error_message: None,
			breakpoints: Vec::new(),
			idempotency_key: None,
			started_by: None,
			rerun_of: None,
			parent: None,
			created_at,
			started_at: Some(created_at),
			completed_at: took.map(|t| created_at + t),
		}
	}

	#[test]
	fn bucket_size_grows_with_the_window() {
		let minutes = |h| Window::new(0, h).step / 60_000;
		assert_eq!(minutes(1), 5);
		assert_eq!(minutes(24), 60);
		assert_eq!(minutes(168), 360);
		assert_eq!(minutes(720), 1440);
	}

	#[test]
	fn counts_rates_and_percentiles() {
		let now = 10 * 3_600_000;
		let w = Window::new(now, 2);
		let rows = [
			exec(ExecutionStatus::Completed, now - 10, Some(100)),
			exec(ExecutionStatus::Completed, now - 3_600_000, Some(300)),
			exec(ExecutionStatus::Failed, now - 3_600_000, Some(5)),
			exec(ExecutionStatus::Running, w.from, None),
		];
		let v = w.summarise(&rows);
		assert_eq!(v.total, 4);
		assert_eq!(v.totals["completed"], 2);
		assert_eq!(v.success_rate, Some(2.0 / 3.0));
		assert_eq!(v.p50_ms, Some(100));
		assert_eq!(v.p95_ms, Some(300));
		let sum: u64 = v
			.buckets
			.iter()
			.map(|b| b.counts.values().sum::<u64>())
			.sum();
		assert_eq!(sum, 4);
		assert!(v.buckets.iter().all(|b| b.counts.len() == STATUSES.len()));
		assert_eq!(v.buckets.first().unwrap().counts["running"], 1);
	}

	#[test]
	fn nothing_is_null_rates() {
		let v = Window::new(1_000_000_000, 24).summarise(&[]);
		assert_eq!((v.success_rate, v.p50_ms, v.total), (None, None, 0));
		assert_eq!(v.buckets.len(), 25);
	}
}
