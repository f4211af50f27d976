//! `apg-workflow serve`: the REST, GraphQL and WebSocket server with in-process workers on the
//! embedded store. Shutting down (Ctrl-C or SIGTERM) stops accepting requests, lets running
//! attempts finish for `shutdown_drain_seconds`, commits, and exits; everything queued or waiting
//! resumes at the next start.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use apg_api::{ApiConfig, AppState};
use apg_auth::Security;
use apg_core::{
	AuthStore, HookStore, NewWorkflow, NotificationStore, ScheduleStore, Store, WorkflowFilter,
};
use apg_engine::{Engine, EngineConfig, workflows};
use apg_store::{SqliteStore, Synchronous};
use clap::Args;
use serde::Serialize;

use crate::config::Config;

#[derive(Args, Debug, Serialize)]
pub(crate) struct ServeArgs {
	/// Address to listen on (default 127.0.0.1).
	#[arg(long)]
	#[serde(skip_serializing_if = "Option::is_none")]
	bind: Option<String>,
	/// Port (default 5000; 0 picks a free one).
	#[arg(long)]
	#[serde(skip_serializing_if = "Option::is_none")]
	port: Option<u16>,
	/// Directory of the embedded SQLite database (default ./data).
	#[arg(long)]
	#[serde(skip_serializing_if = "Option::is_none")]
	data_dir: Option<PathBuf>,
	/// PostgreSQL instead of the embedded SQLite (`postgres://user@host/db`; or DATABASE_URL).
	#[arg(long)]
	#[serde(skip_serializing_if = "Option::is_none")]
	database_url: Option<String>,
	/// Redis as the shared cache and cross-node event bus (`redis://host:6379`; or REDIS_URL).
	#[arg(long)]
	#[serde(skip_serializing_if = "Option::is_none")]
	redis_url: Option<String>,
	/// What this node does with a shared database: `api` (serve, queue work), `worker` (run work)
	/// or `all` (default).
	#[arg(long)]
	#[serde(skip_serializing_if = "Option::is_none")]
	role: Option<String>,
	/// This node's id in the cluster (default: host name and process id).
	#[arg(long)]
	#[serde(skip_serializing_if = "Option::is_none")]
	node_id: Option<String>,
	/// Seconds a claimed execution stays leased without renewal (default 30).
	#[arg(long)]
	#[serde(skip_serializing_if = "Option::is_none")]
	lease_seconds: Option<u64>,
	/// Configuration file (default config/config.yaml).
	#[arg(long)]
	#[serde(skip)]
	config: Option<PathBuf>,
	/// Development server: debug logs, a readable console, config.dev.yaml, sample workflows.
	#[arg(long)]
	#[serde(skip)]
	development: bool,
	/// Where log files go (default ./logs; "" for none).
	#[arg(long)]
	#[serde(skip_serializing_if = "Option::is_none")]
	log_dir: Option<PathBuf>,
	/// Component attempts running at once (default 100).
	#[arg(long)]
	#[serde(skip_serializing_if = "Option::is_none")]
	max_concurrent_tasks: Option<usize>,
}

/// One backend behind each of its seams: executions, accounts, notifications, schedules, hooks.
type Stores = (
	Arc<dyn Store>,
	Arc<dyn AuthStore>,
	Arc<dyn NotificationStore>,
	Arc<dyn ScheduleStore>,
	Arc<dyn HookStore>,
);

pub(crate) async fn serve(args: ServeArgs) -> anyhow::Result<ExitCode> {
	let config = Config::load(args.config.as_deref(), args.development, &args)?;
	// Checked before anything is opened, so a typo stops the start with a clear message.
	let proxies = super::client_addr::TrustedProxies::parse(&config.trusted_proxies)?;
	let _logs = super::logging::init_server(&config)?;
	let mut cluster = None;
	let node = config.node_id.clone().unwrap_or_else(default_node_id);
	let (store, accounts, notifications, schedules, hooks): Stores = match &config.database_url {
		Some(url) => {
			let pg = super::load::open_postgres(url).await?;
			let joined = apg_store::PgCluster::join(&pg, node.clone())
				.await
				.context("cannot join the cluster")?;
			let joined = Arc::new(joined);
			cluster = Some(apg_engine::ClusterMode {
				queue: joined.clone(),
				bus: joined,
				runs_work: config.role != "api",
				lease: Duration::from_secs(config.lease_seconds.max(1)),
				max_executions: config.max_executions_per_node.max(1),
			});
			tracing::info!(node = %node, role = %config.role, "joined the cluster");
			(pg.clone(), pg.clone(), pg.clone(), pg.clone(), pg)
		}
		None => {
			if config.role != "all" {
				anyhow::bail!(
					"--role {} needs a shared database (--database-url postgres://…)",
					config.role
				);
			}
			let sync: Synchronous = config
				.synchronous
				.parse()
				.map_err(|e: String| anyhow::anyhow!(e))?;
			let store = SqliteStore::open_dir(&config.data_dir, sync)
				.await
				.with_context(|| {
					format!("cannot open the database in {}", config.data_dir.display())
				})?;
			store
				.migrate()
				.await
				.context("cannot migrate the database")?;
			let store = Arc::new(store);
			(
				store.clone(),
				store.clone(),
				store.clone(),
				store.clone(),
				store,
			)
		}
	};
	let keys = Arc::new(config.keyring()?);
	if let Some(password) =
		apg_auth::ensure_admin(&*accounts, config.admin_password.as_deref()).await?
	{
		// Printed once, to the terminal only: never logged.
		eprintln!(
			"\n  First start: created the user 'admin' with the password\n\n      {password}\n\n  \
			 Log in with it and change it (PUT /api/v1/users/me/password); it is not shown again.\n"
		);
	}
	if !matches!(config.role.as_str(), "api" | "worker" | "all") {
		anyhow::bail!("--role must be api, worker or all");
	}
	// A cache must be shared by every node that changes workflows: Redis when given; in one
	// process (SQLite) memory will do; several nodes without Redis read the database.
	let cache: Option<Arc<dyn apg_core::Cache>> = match (&config.redis_url, &config.database_url) {
		(Some(url), _) => Some(Arc::new(
			apg_redis::RedisCache::new(url).map_err(anyhow::Error::msg)?,
		)),
		(None, None) => Some(Arc::new(apg_engine::MemoryCache::new())),
		(None, Some(_)) => None,
	};
	let vault = apg_auth::Vault::new(store.clone(), accounts.clone(), keys.clone());
	let engine_config = EngineConfig {
		max_concurrent_tasks: config.max_concurrent_tasks.max(1),
		cluster,
		cache,
		secrets: Some(Arc::new(vault)),
		event_buffer: config.event_buffer.max(16),
		max_output_bytes: config.max_output_bytes.max(1024),
		..Default::default()
	};
	// Callers' accounts are cached where workflows are, and dropped on every write to them.
	let security = Security::cached(
		store.clone(),
		accounts.clone(),
		notifications,
		keys,
		config.security()?,
		engine_config.cache.clone(),
	);
	let connectors = config.components.connectors.clone().with_env();
	let files = apg_connectors::UserFiles::new(
		config.data_dir.join("user-files"),
		connectors.max_file_bytes,
	);
	let platform = apg_connectors::Platform {
		security: security.clone(),
		files: files.clone(),
		settings: connectors,
		// The engine's shared cache; in process where the engine reads the database instead.
		cache: Some(engine_config.cache.clone().unwrap_or_else(|| {
			Arc::new(apg_engine::MemoryCache::new()) as Arc<dyn apg_core::Cache>
		})),
	};
	// A sub_workflow or for_each may run another workflow only if whoever started the
	// execution may run it now (the same check as a trigger's creator).
	let guard = security.guard.clone();
	let run_check: apg_engine::RunCheck = Arc::new(move |user, workflow| {
		let guard = guard.clone();
		Box::pin(async move {
			match guard
				.delegate(user, workflow, apg_core::WorkflowAction::Execute)
				.await
			{
				Ok(apg_auth::Delegation::Allowed(_)) => Ok(()),
				Ok(apg_auth::Delegation::Refused(..)) => Err(format!(
					"whoever started this execution may not run workflow {workflow}"
				)),
				Err(e) => Err(e.to_string()),
			}
		})
	});
	let engine_config = EngineConfig {
		run_check: Some(run_check),
		..engine_config
	};
	let engine = Engine::start(
		store.clone(),
		Arc::new(super::registry::registry(
			&config.components,
			Some(platform),
		)),
		engine_config,
	)
	.await
	.context("cannot start the engine")?;
	let api_config = ApiConfig {
		max_body_bytes: config.max_body_bytes,
		max_ws_connections: config.max_ws_connections,
		..Default::default()
	};
	if config.load_examples
		&& let Ok(Some(admin)) = accounts.find_user("admin").await
	{
		load_examples(&engine, &config, &admin.id.to_string()).await;
	}
	if config.retention_days > 0 {
		tokio::spawn(retention(engine.store().clone(), config.retention_days));
	}
	let graphql = apg_graphql::router(
		apg_graphql::schema(engine.clone(), security.clone()),
		security.clone(),
	);
	// Every node ticks; the schedules' leases and fire rows make each fire happen once.
	apg_schedule::Scheduler::new(engine.clone(), schedules.clone(), security.clone(), node).start();
	let state = AppState::new(
		engine.clone(),
		security,
		files,
		schedules,
		hooks,
		api_config,
	);
	// The UI last: it answers only GETs outside the server's prefixes (apg_ui::SERVER_PREFIXES).
	let app = apg_ui::with_ui(apg_api::app(state, graphql));
	let addr: SocketAddr = format!("{}:{}", config.bind, config.port)
		.parse()
		.with_context(|| format!("invalid address {}:{}", config.bind, config.port))?;
	let listener = tokio::net::TcpListener::bind(addr)
		.await
		.with_context(|| format!("cannot listen on {addr}"))?;
	let local = listener.local_addr()?;
	let data = match &config.database_url {
		Some(_) => "PostgreSQL".to_owned(),
		None => config.data_dir.display().to_string(),
	};
	eprintln!("APG Workflow Orchestration listening on http://{local} (data in {data})");
	tracing::info!(address = %local, env = %config.env, "listening");
	let limits = super::listener::Limits {
		header_timeout: Duration::from_secs(config.header_timeout_seconds.max(1)),
		max_connections: config.max_connections.max(1),
		max_per_address: config.max_connections_per_address.max(1),
		drain: Duration::from_secs(config.shutdown_drain_seconds),
	};
	super::listener::serve(listener, app, limits, proxies, shutdown_signal()).await;
	tracing::info!(
		seconds = config.shutdown_drain_seconds,
		"shutting down: draining running attempts"
	);
	engine
		.shutdown_within(Duration::from_secs(config.shutdown_drain_seconds))
		.await;
	tracing::info!("stopped");
	Ok(ExitCode::SUCCESS)
}

async fn shutdown_signal() {
	let ctrl_c = async {
		let _ = tokio::signal::ctrl_c().await;
	};
	#[cfg(unix)]
	let term = async {
		match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
			Ok(mut s) => {
				s.recv().await;
			}
			Err(_) => std::future::pending::<()>().await,
		}
	};
	#[cfg(not(unix))]
	let term = std::future::pending::<()>();
	tokio::select! {
		() = ctrl_c => {},
		() = term => {},
	}
}

/// Loads each `examples/*.json` as a sample workflow unless one of that name exists.
async fn load_examples(engine: &Engine, config: &Config, owner: &str) {
	let Ok(entries) = std::fs::read_dir(&config.examples_dir) else {
		tracing::warn!(dir = %config.examples_dir.display(), "no examples to load");
		return;
	};
	for path in entries
		.flatten()
		.map(|e| e.path())
		.filter(|p| p.extension().is_some_and(|x| x == "json"))
	{
		let Ok(value) = super::load::read_json(&path) else {
			continue;
		};
		let Ok(new) = super::load::as_new_workflow(&path, value) else {
			continue;
		};
		let filter = WorkflowFilter {
			search: Some(new.name.clone()),
			..Default::default()
		};
		let exists = engine
			.store()
			.list_workflows(&filter)
			.await
			.map(|list| {
				list.iter()
					.any(|w| w.name == new.name && w.created_by == owner)
			})
			.unwrap_or(true);
		if exists {
			continue;
		}
		let name = new.name.clone();
		let new: NewWorkflow = new;
		match workflows::create(&**engine.store(), engine.registry(), new, owner).await {
			Ok(_) => tracing::info!(workflow = %name, "loaded sample workflow"),
			Err(e) => tracing::warn!(workflow = %name, error = %e, "cannot load sample workflow"),
		}
	}
}

fn default_node_id() -> String {
	let host = std::fs::read_to_string("/etc/hostname")
		.map(|h| h.trim().to_owned())
		.unwrap_or_else(|_| "node".to_owned());
	format!("{host}-{}", std::process::id())
}

/// The retention policy: every hour, ended executions older than `days` are deleted in batches
/// of 1,000 (each its own short transaction), so the database does not grow without bound.
async fn retention(store: Arc<dyn Store>, days: u64) {
	let mut tick = tokio::time::interval(Duration::from_secs(3600));
	loop {
		tick.tick().await;
		let cutoff = apg_core::now_millis() - (days as i64) * 86_400_000;
		let mut deleted = 0;
		loop {
			match store.delete_ended_before(cutoff, 1_000).await {
				Ok(n) => {
					deleted += n;
					if n < 1_000 {
						break;
					}
					tokio::time::sleep(Duration::from_millis(50)).await;
				}
				Err(e) => {
					tracing::warn!(error = %e, "retention: cannot delete old executions");
					break;
				}
			}
		}
		if deleted > 0 {
			tracing::info!(deleted, days, "retention: deleted old executions");
		}
	}
}
