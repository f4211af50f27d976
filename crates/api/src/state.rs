//! The state every handler receives: the engine, security, the per-user file store, the
//! metrics and the API's own settings.

use std::sync::Arc;
use std::sync::atomic::AtomicUsize;

use apg_auth::Security;
use apg_connectors::UserFiles;
use apg_core::{HookStore, ScheduleStore};
use apg_engine::Engine;

use crate::metrics::Metrics;

/// Settings of the HTTP edge.
#[derive(Clone, Debug)]
pub struct ApiConfig {
	/// Largest request body accepted (bytes); larger ones get 413.
	pub max_body_bytes: usize,
	/// Open `/ws` connections at most; more get 429.
	pub max_ws_connections: usize,
	/// Messages a WebSocket subscriber may fall behind before it is dropped.
	pub ws_buffer: usize,
}

impl Default for ApiConfig {
	fn default() -> Self {
		Self {
			max_body_bytes: 10 * 1024 * 1024,
			max_ws_connections: 1024,
			ws_buffer: 1024,
		}
	}
}

/// Shared by every handler; cheap to clone.
#[derive(Clone)]
pub struct AppState {
	/// The engine (and through it the store and the component registry).
	pub engine: Engine,
	/// Prometheus metrics.
	pub metrics: Arc<Metrics>,
	/// Settings.
	pub config: Arc<ApiConfig>,
	/// Authentication, authorization, audit and keys.
	pub security: Security,
	/// Each user's files (`/files`; `apg_file_management` works on the same store).
	pub files: UserFiles,
	/// Cron schedules and their fires.
	pub schedules: Arc<dyn ScheduleStore>,
	/// Webhook triggers.
	pub hooks: Arc<dyn HookStore>,
	/// Each hook's requests this minute (`rest::hooks`).
	pub(crate) hook_limits: Arc<crate::rest::hooks::HookLimits>,
	/// Open WebSocket connections.
	pub(crate) ws_open: Arc<AtomicUsize>,
}

impl AppState {
	/// State for `engine`; starts the task that turns engine events into metrics.
	pub fn new(
		engine: Engine,
		security: Security,
		files: UserFiles,
		schedules: Arc<dyn ScheduleStore>,
		hooks: Arc<dyn HookStore>,
		config: ApiConfig,
	) -> Self {
		let metrics = Metrics::start(&engine);
		Self {
			engine,
			metrics,
			config: Arc::new(config),
			security,
			files,
			schedules,
			hooks,
			hook_limits: Arc::default(),
			ws_open: Arc::new(AtomicUsize::new(0)),
		}
	}

	/// Records a mutation by `caller` in the audit log.
	pub(crate) async fn audit(
		&self,
		caller: &apg_core::Principal,
		action: &str,
		resource: String,
		details: serde_json::Value,
	) {
		self.security
			.audit
			.record(Some(caller), action, &resource, true, details)
			.await;
	}
}
