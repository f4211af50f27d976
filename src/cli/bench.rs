//! `apg-workflow bench`: the figures of DESIGN §7, measured on this machine through the real
//! engine and the embedded SQLite store (each scenario in a fresh database), with the peak
//! resident memory of each scenario (Linux: the peak is reset through `/proc/self/clear_refs`).

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use apg_core::{AuthStore, ExecutionStatus, NewWorkflow, Store, WorkflowId};
use apg_engine::{Engine, EngineConfig, ExecuteRequest, workflows};
use apg_store::{SqliteStore, Synchronous};
use clap::Args;
use serde_json::{Value, json};
use tokio::task::JoinSet;

#[derive(Args, Debug)]
pub(crate) struct BenchArgs {
	/// Smaller scenarios (a quick smoke run).
	#[arg(long)]
	quick: bool,
	/// SQLite durability for the run: `full` (the default of `serve`) or `normal`.
	#[arg(long, default_value = "full")]
	synchronous: Synchronous,
	/// Measure PostgreSQL (`postgres://…`) instead of SQLite; each scenario in a new schema.
	#[arg(long)]
	database_url: Option<String>,
	/// Run only these scenarios: `workflow`, `chain`, `delay`, `throughput`, `auth`
	/// (repeatable). Peak memory is per scenario, but memory the allocator kept from an earlier
	/// scenario counts, so run one scenario alone for its true peak.
	#[arg(long)]
	only: Vec<String>,
}

pub(super) struct Report {
	rows: Vec<(String, String, String)>,
}

impl Report {
	pub(super) fn add(&mut self, name: &str, value: String, goal: &str) {
		let rss = peak_rss_mb()
			.map(|m| format!("{m:.0} MB"))
			.unwrap_or_else(|| "n/a".into());
		println!("{name:<58} {value:>16}  peak RSS {rss:>7}  (goal: {goal})");
		self.rows.push((name.to_owned(), value, rss));
		reset_peak_rss();
	}
}

/// Peak resident set size of this process since the last reset, from /proc.
fn peak_rss_mb() -> Option<f64> {
	let status = std::fs::read_to_string("/proc/self/status").ok()?;
	let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
	let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
	Some(kb / 1024.0)
}

fn reset_peak_rss() {
	let _ = std::fs::write("/proc/self/clear_refs", "5");
}

pub(super) fn chain(n: usize) -> Value {
	let mut components = vec![json!({"id": "start", "type": "start", "config": {}})];
	let mut connections = Vec::new();
	for i in 0..n {
		components.push(
			json!({"id": format!("task_{i}"), "type": "task", "config": {"task_type": "noop"}}),
		);
		let source = if i == 0 {
			"start".to_owned()
		} else {
			format!("task_{}", i - 1)
		};
		connections.push(json!({"source": source, "target": format!("task_{i}")}));
	}
	components.push(json!({"id": "end", "type": "end", "config": {}}));
	connections.push(json!({"source": format!("task_{}", n - 1), "target": "end"}));
	json!({"components": components, "connections": connections})
}

fn delay_workflow() -> Value {
	json!({
		"components": [{"id": "start", "type": "start", "config": {}},
			{"id": "delay", "type": "delay", "config": {"seconds": 1}},
			{"id": "end", "type": "end", "config": {}}],
		"connections": [{"source": "start", "target": "delay"}, {"source": "delay", "target": "end"}]
	})
}

/// An engine on a fresh store: a new SQLite database under `dir`, or with `--database-url` a new
/// PostgreSQL schema `apg_bench_…` (all of them are dropped when the bench ends).
async fn fresh_engine(dir: &Path, args: &BenchArgs, inline: bool) -> anyhow::Result<Engine> {
	let (store, _) = fresh_store(dir, args).await?;
	// As `serve` has it: on the embedded default, workflows are cached in process.
	let cache = args
		.database_url
		.is_none()
		.then(|| Arc::new(apg_engine::MemoryCache::new()) as Arc<dyn apg_core::Cache>);
	let config = EngineConfig {
		inline,
		cache,
		..Default::default()
	};
	Ok(Engine::start(store, Arc::new(super::registry::local()), config).await?)
}

/// A fresh store (see [`fresh_engine`]) through both of its seams.
pub(super) async fn fresh_store(
	dir: &Path,
	args: &BenchArgs,
) -> anyhow::Result<(Arc<dyn Store>, Arc<dyn AuthStore>)> {
	Ok(match &args.database_url {
		Some(url) => {
			use sqlx::Connection;
			let schema = format!("apg_bench_{}", uuid::Uuid::now_v7().simple());
			let mut conn = sqlx::PgConnection::connect(url).await?;
			sqlx::query(&format!("CREATE SCHEMA {schema}"))
				.execute(&mut conn)
				.await?;
			let options: sqlx::postgres::PgConnectOptions = url.parse()?;
			let store = apg_store::PgStore::connect_with(
				options.options([("search_path", schema.as_str())]),
			)
			.await?;
			store.migrate().await?;
			let store = Arc::new(store);
			(store.clone(), store)
		}
		None => {
			let store = SqliteStore::open_dir(dir, args.synchronous).await?;
			store.migrate().await?;
			let store = Arc::new(store);
			(store.clone(), store)
		}
	})
}

async fn create(engine: &Engine, name: &str, definition: Value) -> anyhow::Result<WorkflowId> {
	let new = NewWorkflow::parse(&json!({"name": name, "definition": definition}))
		.map_err(|e| anyhow::anyhow!("{e:?}"))?;
	Ok(
		workflows::create(&**engine.store(), engine.registry(), new, "bench")
			.await?
			.0
			.id,
	)
}

/// The mean time of committing one log row for an execution of `workflow` (median of five
/// rounds of 100): the least a durable step can cost on this store today.
async fn commit_floor(engine: &Engine, workflow: WorkflowId) -> anyhow::Result<Duration> {
	let store = engine.store();
	let filter = apg_core::ExecutionFilter {
		workflow_id: Some(workflow),
		limit: 1,
		..Default::default()
	};
	let exec = store.list_executions(&filter).await?;
	let exec = exec.first().context("no execution to log against")?;
	let mut rounds = Vec::new();
	for _ in 0..5 {
		let began = Instant::now();
		for i in 0..100 {
			let log = apg_core::LogRecord {
				execution_id: exec.id,
				at: apg_core::now_millis(),
				level: apg_core::LogLevel::Info,
				component_id: None,
				message: format!("commit floor probe {i}"),
			};
			let batch = apg_core::Batch {
				writes: vec![apg_core::Write::Log(log)],
				..Default::default()
			};
			store.commit(&batch).await?;
		}
		rounds.push(began.elapsed() / 100);
	}
	Ok(median(rounds))
}

/// Starts `n` executions at once and waits for all; returns the wall time.
async fn burst(engine: &Engine, workflow_id: WorkflowId, n: usize) -> anyhow::Result<Duration> {
	let began = Instant::now();
	let mut submits = JoinSet::new();
	for _ in 0..n {
		let engine = engine.clone();
		submits.spawn(async move {
			engine
				.execute(ExecuteRequest {
					workflow_id,
					..Default::default()
				})
				.await
		});
	}
	let mut ids = Vec::with_capacity(n);
	while let Some(joined) = submits.join_next().await {
		ids.push(joined??.id);
	}
	if std::env::var_os("APG_BENCH_VERBOSE").is_some() {
		eprintln!("  {n} submitted in {:.3} s", began.elapsed().as_secs_f64());
	}
	for id in ids {
		let done = engine.wait(id).await?;
		anyhow::ensure!(
			done.status == ExecutionStatus::Completed,
			"execution {id} {}",
			done.status
		);
	}
	Ok(began.elapsed())
}

pub(super) fn median(mut samples: Vec<Duration>) -> Duration {
	samples.sort();
	samples[samples.len() / 2]
}

pub(super) fn ms(d: Duration) -> String {
	format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

pub(crate) async fn bench(args: BenchArgs) -> anyhow::Result<ExitCode> {
	let cores = std::thread::available_parallelism()
		.map(|n| n.get())
		.unwrap_or(1);
	let backend = match &args.database_url {
		Some(_) => "PostgreSQL".to_owned(),
		None => format!("SQLite synchronous={:?}", args.synchronous),
	};
	let quick = if args.quick { ", quick" } else { "" };
	println!("apg-workflow bench: {cores} cores, {backend}{quick}");
	let mut report = Report { rows: Vec::new() };
	let registry = super::registry::local();
	reset_peak_rss();

	let wanted = |name: &str| args.only.is_empty() || args.only.iter().any(|o| o == name);

	// 1. Create and validate the seed's 1,000-component workflow.
	if wanted("workflow") {
		let big = chain(1000);
		let samples = (0..21)
			.map(|_| {
				let began = Instant::now();
				let (_, r) = apg_core::validate(&big, &registry);
				assert!(r.is_valid);
				began.elapsed()
			})
			.collect();
		report.add(
			"validate 1,000-component workflow (median of 21)",
			ms(median(samples)),
			"< 10 ms",
		);
		let dir = tempfile::tempdir()?;
		let engine = fresh_engine(dir.path(), &args, true).await?;
		let mut samples = Vec::new();
		for i in 0..21 {
			let began = Instant::now();
			create(&engine, &format!("big-{i}"), big.clone()).await?;
			samples.push(began.elapsed());
		}
		report.add(
			"create 1,000-component workflow, durable (median of 21)",
			ms(median(samples)),
			"< 50 ms",
		);
		engine.shutdown().await;
	}

	// 2. A 1,000-step noop chain executed durably: inline (pure components share checkpoints
	// with the step that readied them) and on workers (one commit per step, the cost a component
	// with IO pays).
	for inline in [true, false].into_iter().filter(|_| wanted("chain")) {
		let dir = tempfile::tempdir()?;
		let engine = fresh_engine(dir.path(), &args, inline).await?;
		let warm = create(&engine, "warm", chain(10)).await?;
		burst(&engine, warm, 1).await?;
		let id = create(&engine, "chain", chain(1000)).await?;
		let before = engine.stats().await?;
		let wall = burst(&engine, id, 1).await?;
		let after = engine.stats().await?;
		let floor = commit_floor(&engine, id).await?;
		let mode = if inline { "inline" } else { "on workers" };
		report.add(
			&format!("1,000-step noop chain, durable, {mode}: wall"),
			ms(wall),
			"< 1 s, aim 100 ms",
		);
		let per_step = format!("{:.3} ms", wall.as_secs_f64() * 1000.0 / 1002.0);
		report.add(
			&format!("  per-step engine overhead, {mode}"),
			per_step,
			"< 0.1 ms",
		);
		// Where a step's time goes: waiting for the store, against the rest.
		let commits = after.commits - before.commits;
		let in_commit = after.commit_time - before.commit_time;
		report.add(
			&format!("  commits, {mode}: count / mean / share of wall"),
			format!(
				"{commits} / {:.3} ms / {:.0}%",
				in_commit.as_secs_f64() * 1000.0 / commits.max(1) as f64,
				100.0 * in_commit.as_secs_f64() / wall.as_secs_f64()
			),
			"informational",
		);
		if !inline {
			// The floor of a durable step on this machine today: one commit of one row.
			report.add(
				"  commit floor (one row), and per-step overhead ÷ floor",
				format!(
					"{:.3} ms / {:.1}×",
					floor.as_secs_f64() * 1000.0,
					wall.as_secs_f64() / 1002.0 / floor.as_secs_f64()
				),
				"≤ 2×",
			);
		}
		engine.shutdown().await;
	}

	// 3. Concurrent start → delay(1 s) → end.
	for n in [50, if args.quick { 1_000 } else { 10_000 }]
		.into_iter()
		.filter(|_| wanted("delay"))
	{
		let dir = tempfile::tempdir()?;
		let engine = fresh_engine(dir.path(), &args, true).await?;
		let id = create(&engine, "delay", delay_workflow()).await?;
		let wall = burst(&engine, id, n).await?;
		let goal = if n == 50 {
			"< 25 s (seed)"
		} else {
			"< 3 s, < 150 MB"
		};
		report.add(
			&format!("{n} concurrent start→delay(1 s)→end: all done"),
			ms(wall),
			goal,
		);
		engine.shutdown().await;
	}

	// 4. Throughput of noop 3-step executions.
	let n = if args.quick { 1_000 } else { 5_000 };
	for inline in [true, false].into_iter().filter(|_| wanted("throughput")) {
		let dir = tempfile::tempdir()?;
		let engine = fresh_engine(dir.path(), &args, inline).await?;
		let id = create(&engine, "noop3", chain(1)).await?;
		let wall = burst(&engine, id, n).await?;
		let mode = if inline { "inline" } else { "on workers" };
		report.add(
			&format!("noop 3-step executions/s, {mode} ({n} submitted at once)"),
			format!("{:.0} /s", n as f64 / wall.as_secs_f64()),
			"higher is better",
		);
		engine.shutdown().await;
	}
	// 5. What security costs: a login, authenticating a request, sealing a definition.
	if wanted("auth") {
		let dir = tempfile::tempdir()?;
		let (store, accounts) = fresh_store(dir.path(), &args).await?;
		super::bench_auth::run(store, accounts, &mut report).await?;
	}
	if let Some(url) = &args.database_url {
		drop_bench_schemas(url).await?;
	}
	println!("{} figures", report.rows.len());
	Ok(ExitCode::SUCCESS)
}

/// Drops the schemas the PostgreSQL scenarios created.
async fn drop_bench_schemas(url: &str) -> anyhow::Result<()> {
	use sqlx::Connection;
	let mut conn = sqlx::PgConnection::connect(url).await?;
	let schemas: Vec<String> = sqlx::query_scalar(
		"SELECT schema_name::text FROM information_schema.schemata WHERE schema_name LIKE 'apg_bench_%'",
	)
	.fetch_all(&mut conn)
	.await?;
	for schema in schemas {
		sqlx::query(&format!("DROP SCHEMA \"{schema}\" CASCADE"))
			.execute(&mut conn)
			.await?;
	}
	Ok(())
}
