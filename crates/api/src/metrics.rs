//! Prometheus metrics at `/metrics`: queue depth per priority, executions by end status,
//! component latency, workers busy, and the checkpoint commits (how many, their writes, the time
//! spent waiting for them: with the first, how much of a step is the store). Counters and the histogram are fed by a task that follows the
//! engine's events (a task that falls behind skips events rather than buffering them, so a
//! counter can under-count under extreme load but memory stays bounded); gauges are read from
//! the engine when scraped.
//!
//! Reading them needs `metrics.read` (admins): queue depths, throughput and worker counts tell
//! an outsider how the system is used. A scraper uses an admin's API key made with the `metrics`
//! scope, which the authentication middleware requires of keys here (and such a key can do
//! nothing else).

use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};

use apg_core::{EventKind, Permission};
use apg_engine::Engine;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use tokio::sync::broadcast::error::RecvError;

use crate::auth::Caller;
use crate::state::AppState;

type Labels = Vec<(String, String)>;

/// The process's metrics.
pub struct Metrics {
	registry: Registry,
	executions: Family<Labels, Counter>,
	components: Family<Labels, Counter>,
	latency: Histogram,
	queue: Family<Labels, Gauge>,
	busy: Gauge,
	capacity: Gauge,
	in_flight: Gauge,
	timers: Gauge,
	commits: Counter,
	writes: Counter,
	commit_seconds: Counter<f64, AtomicU64>,
	/// Held while the commit counters catch up with the engine's totals, so that two scrapes at
	/// once do not both add the same difference.
	catch_up: Mutex<()>,
}

impl Metrics {
	/// Registers the metrics and starts following `engine`'s events.
	pub fn start(engine: &Engine) -> Arc<Self> {
		let mut registry = Registry::with_prefix("apg");
		let executions = Family::<Labels, Counter>::default();
		registry.register(
			"executions_finished",
			"Executions that reached an end state, by status",
			executions.clone(),
		);
		let components = Family::<Labels, Counter>::default();
		registry.register(
			"components_finished",
			"Components that reached an end state, by status",
			components.clone(),
		);
		let latency = Histogram::new(exponential_buckets(0.0005, 4.0, 12));
		registry.register(
			"component_duration_seconds",
			"Time components spent in their attempts",
			latency.clone(),
		);
		let queue = Family::<Labels, Gauge>::default();
		registry.register(
			"queue_depth",
			"Ready attempts waiting for a worker, by priority",
			queue.clone(),
		);
		let busy = Gauge::default();
		registry.register("workers_busy", "Component attempts running", busy.clone());
		let capacity = Gauge::default();
		registry.register("workers_max", "The concurrency limit", capacity.clone());
		let in_flight = Gauge::default();
		registry.register(
			"executions_in_flight",
			"Executions not yet ended on this node",
			in_flight.clone(),
		);
		let timers = Gauge::default();
		registry.register(
			"timers_armed",
			"Durable timers armed (delays, retry back-offs)",
			timers.clone(),
		);
		let commits = Counter::default();
		registry.register(
			"checkpoint_commits",
			"Checkpoint commits (each one transaction) since the engine started",
			commits.clone(),
		);
		let writes = Counter::default();
		registry.register(
			"checkpoint_writes",
			"Rows written by those commits",
			writes.clone(),
		);
		let commit_seconds = Counter::<f64, AtomicU64>::default();
		registry.register(
			"checkpoint_commit_seconds",
			"Time the engine spent waiting for its commits",
			commit_seconds.clone(),
		);
		let metrics = Arc::new(Self {
			registry,
			executions,
			components,
			latency,
			queue,
			busy,
			capacity,
			in_flight,
			timers,
			commits,
			writes,
			commit_seconds,
			catch_up: Mutex::new(()),
		});
		let mut events = engine.subscribe();
		let weak = Arc::downgrade(&metrics);
		tokio::spawn(async move {
			loop {
				let event = match events.recv().await {
					Ok(e) => e,
					Err(RecvError::Lagged(_)) => continue,
					Err(RecvError::Closed) => return,
				};
				let Some(m) = weak.upgrade() else { return };
				match &event.kind {
					EventKind::Execution { status, .. } if status.is_terminal() => {
						m.executions
							.get_or_create(&vec![("status".into(), status.to_string())])
							.inc();
					}
					EventKind::Component {
						status,
						duration_ms,
						..
					} if status.is_terminal() => {
						m.components
							.get_or_create(&vec![("status".into(), status.to_string())])
							.inc();
						if let Some(ms) = duration_ms {
							m.latency.observe(*ms as f64 / 1000.0);
						}
					}
					_ => {}
				}
			}
		});
		metrics
	}
}

/// The Prometheus text exposition (`metrics.read`; 403 in the envelope otherwise).
pub(crate) async fn serve(State(state): State<AppState>, Caller(caller): Caller) -> Response {
	let allowed = state
		.security
		.guard
		.require(&caller, Permission::MetricsRead)
		.await;
	if let Err(e) = allowed {
		return crate::error::ApiError::from(e).into_response();
	}
	let m = &state.metrics;
	if let Ok(stats) = state.engine.stats().await {
		for (i, depth) in stats.ready_by_priority.iter().enumerate() {
			m.queue
				.get_or_create(&vec![("priority".into(), (i + 1).to_string())])
				.set(*depth as i64);
		}
		m.busy.set(stats.running as i64);
		m.capacity.set(stats.max_running as i64);
		m.in_flight.set(stats.executions as i64);
		m.timers.set(stats.timers as i64);
		// The engine keeps totals; counters only go up, so they take the difference.
		let _held = m.catch_up.lock().unwrap_or_else(|e| e.into_inner());
		m.commits
			.inc_by(stats.commits.saturating_sub(m.commits.get()));
		m.writes.inc_by(stats.writes.saturating_sub(m.writes.get()));
		let seconds = stats.commit_time.as_secs_f64() - m.commit_seconds.get();
		if seconds > 0.0 {
			m.commit_seconds.inc_by(seconds);
		}
	}
	let mut text = String::new();
	if encode(&mut text, &m.registry).is_err() {
		return crate::error::ApiError::Internal("cannot encode metrics".to_owned())
			.into_response();
	}
	(
		[(
			header::CONTENT_TYPE,
			"application/openmetrics-text; version=1.0.0; charset=utf-8",
		)],
		text,
	)
		.into_response()
}
