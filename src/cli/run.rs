//! `apg-workflow run FILE` and `apg-workflow resume`.
//!
//! `run` stores the file's workflow (in memory, or in `--data-dir` to persist and resume), starts
//! `--count` executions, shows a progress line per component, prints the final status and
//! outputs, and exits 0 only when every execution completed.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use apg_core::{EventKind, ExecutionId, ExecutionStatus, Priority};
use apg_engine::{Engine, EngineConfig, ExecuteRequest};
use clap::Args;
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};

use super::{StoreArgs, debug, load};

#[derive(Args, Debug)]
pub(crate) struct RunArgs {
	/// The workflow file (JSON): a definition, or `{"name", "definition", …}`.
	file: PathBuf,
	/// A parameter, `key=value` (repeatable).
	#[arg(long = "param", short = 'p', value_name = "KEY=VALUE")]
	params: Vec<String>,
	/// Keep state in SQLite under this directory (resumable after a crash); memory otherwise.
	#[arg(long)]
	data_dir: Option<PathBuf>,
	/// SQLite durability with --data-dir: `full` or `normal`.
	#[arg(long, default_value = "full")]
	synchronous: apg_store::Synchronous,
	/// How many executions to start.
	#[arg(long, default_value_t = 1)]
	count: usize,
	/// Priority 1–10 (default: the workflow's).
	#[arg(long)]
	priority: Option<i64>,
	/// Component attempts running at once.
	#[arg(long, default_value_t = 100)]
	max_concurrent_tasks: usize,
	/// Interactive debugging: pause at breakpoints with a `Debug>` prompt (at the first component
	/// when no --break is given).
	#[arg(long)]
	debug: bool,
	/// Pause before this component (repeatable; implies --debug).
	#[arg(long = "break", value_name = "COMPONENT_ID")]
	breakpoints: Vec<String>,
	/// Write the execution trace (JSON) to this file.
	#[arg(long, value_name = "FILE")]
	trace: Option<PathBuf>,
	/// Print only the final result.
	#[arg(long, short)]
	quiet: bool,
}

pub(crate) async fn run(args: RunArgs) -> anyhow::Result<ExitCode> {
	let value = load::read_json(&args.file)?;
	let new = match load::as_new_workflow(&args.file, value) {
		Ok(new) => new,
		Err(issues) => {
			for i in &issues {
				eprintln!("error: {i}");
			}
			return Ok(ExitCode::from(1));
		}
	};
	// `run` uses the embedded store only: on a shared PostgreSQL an execution run outside the
	// lease protocol could also be claimed by a worker and run twice.
	let store_args = args.data_dir.clone().map(|data_dir| StoreArgs {
		data_dir,
		synchronous: args.synchronous,
		database_url: None,
	});
	let store = load::open_store(store_args.as_ref()).await?;
	let config = EngineConfig {
		max_concurrent_tasks: args.max_concurrent_tasks.max(1),
		..Default::default()
	};
	let engine = load::start_engine(store, config).await?;
	let workflow = match load::upsert_workflow(&engine, new).await {
		Ok(w) => w,
		Err(e) => {
			eprintln!("error: {e:#}");
			return Ok(ExitCode::from(1));
		}
	};
	let parameters = load::parse_params(&args.params, !workflow.definition.parameters.is_empty())?;
	let priority = args
		.priority
		.map(Priority::new)
		.transpose()
		.map_err(|e| anyhow::anyhow!("{e}"))?;
	let debugging = args.debug || !args.breakpoints.is_empty();
	let mut breakpoints = args.breakpoints.clone();
	if debugging && breakpoints.is_empty() {
		breakpoints = workflow
			.definition
			.components
			.iter()
			.filter(|c| c.kind == "start")
			.map(|c| c.id.clone())
			.collect();
	}
	let events = engine.subscribe();
	let began = Instant::now();
	let mut ids = Vec::with_capacity(args.count);
	for _ in 0..args.count.max(1) {
		let request = ExecuteRequest {
			workflow_id: workflow.id,
			parameters: parameters.clone(),
			priority,
			breakpoints: breakpoints.clone(),
			version: None,
			idempotency_key: None,
			started_by: None,
		};
		match engine.execute(request).await {
			Ok(e) => ids.push(e.id),
			Err(apg_engine::EngineError::Invalid(issues)) => {
				for i in &issues {
					eprintln!("error: {i}");
				}
				return Ok(ExitCode::from(1));
			}
			Err(e) => return Err(e.into()),
		}
	}
	let watcher = if debugging {
		tokio::spawn(debug::session(engine.clone(), ids[0], events))
	} else if args.quiet {
		tokio::spawn(async {})
	} else if ids.len() == 1 {
		let names = workflow
			.definition
			.components
			.iter()
			.map(|c| c.id.clone())
			.collect();
		tokio::spawn(progress_per_component(ids[0], names, events))
	} else {
		tokio::spawn(progress_overall(ids.len(), events))
	};
	let mut finished = Vec::with_capacity(ids.len());
	for id in &ids {
		finished.push(engine.wait(*id).await?);
	}
	let elapsed = began.elapsed();
	tokio::time::sleep(Duration::from_millis(20)).await;
	watcher.abort();
	if let Some(path) = &args.trace {
		let t = apg_engine::trace::build(&**engine.store(), ids[0]).await?;
		std::fs::write(path, serde_json::to_vec_pretty(&t)?)
			.with_context(|| format!("cannot write {}", path.display()))?;
	}
	let completed = finished
		.iter()
		.filter(|e| e.status == ExecutionStatus::Completed)
		.count();
	if finished.len() == 1 {
		let e = &finished[0];
		println!(
			"execution {} {} in {:.3} s",
			e.id,
			e.status,
			elapsed.as_secs_f64()
		);
		if let Some(err) = &e.error_message {
			println!("error: {err}");
		}
		if let Some(results) = &e.results {
			println!("{}", serde_json::to_string_pretty(results)?);
		}
	} else {
		println!(
			"{completed}/{} executions completed in {:.3} s",
			finished.len(),
			elapsed.as_secs_f64()
		);
		for e in finished
			.iter()
			.filter(|e| e.status != ExecutionStatus::Completed)
			.take(5)
		{
			println!(
				"execution {} {}: {}",
				e.id,
				e.status,
				e.error_message.as_deref().unwrap_or("")
			);
		}
	}
	engine.shutdown().await;
	Ok(if completed == finished.len() {
		ExitCode::SUCCESS
	} else {
		ExitCode::from(1)
	})
}

/// One line per component: a spinner on a terminal, plain lines otherwise.
async fn progress_per_component(
	exec: ExecutionId,
	names: Vec<String>,
	mut events: tokio::sync::broadcast::Receiver<Arc<apg_core::Event>>,
) {
	let tty = std::io::stderr().is_terminal();
	let multi = MultiProgress::new();
	let width = names.iter().map(String::len).max().unwrap_or(8).min(40);
	let style = ProgressStyle::with_template("{prefix} {spinner} {msg}")
		.unwrap_or_else(|_| ProgressStyle::default_spinner());
	let bars: Vec<(String, ProgressBar)> = if tty && names.len() <= 50 {
		names
			.iter()
			.map(|n| {
				let bar = multi.add(ProgressBar::new_spinner().with_style(style.clone()));
				bar.set_prefix(format!("{n:>width$}"));
				bar.set_message("pending");
				bar.enable_steady_tick(Duration::from_millis(120));
				(n.clone(), bar)
			})
			.collect()
	} else {
		Vec::new()
	};
	while let Ok(event) = events.recv().await {
		if event.execution_id != exec {
			continue;
		}
		if let EventKind::Component {
			component_id,
			status,
			attempt,
			error,
			..
		} = &event.kind
		{
			let message = match error {
				Some(e)
					if !status.is_terminal() || *status == apg_core::ComponentStatus::Failed =>
				{
					format!("{status} (attempt {attempt}): {e}")
				}
				_ if *attempt == 0 => status.to_string(),
				_ => format!("{status} (attempt {attempt})"),
			};
			match bars.iter().find(|(n, _)| n == component_id) {
				Some((_, bar)) if status.is_terminal() => bar.finish_with_message(message),
				Some((_, bar)) => bar.set_message(message),
				None => eprintln!("{component_id:>width$}  {message}"),
			}
		}
		if event.is_terminal() {
			break;
		}
	}
	for (_, bar) in bars {
		if !bar.is_finished() {
			bar.finish();
		}
	}
}

/// One bar for many executions.
async fn progress_overall(
	total: usize,
	mut events: tokio::sync::broadcast::Receiver<Arc<apg_core::Event>>,
) {
	let bar = ProgressBar::new(total as u64);
	if let Ok(style) = ProgressStyle::with_template("{bar:40} {pos}/{len} executions ({elapsed})") {
		bar.set_style(style);
	}
	loop {
		match events.recv().await {
			Ok(event) if event.is_terminal() => bar.inc(1),
			Ok(_) => {}
			Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
			Err(_) => break,
		}
	}
}

pub(crate) async fn resume(args: StoreArgs) -> anyhow::Result<ExitCode> {
	if args.database_url.is_some() {
		anyhow::bail!(
			"on PostgreSQL, workers resume unfinished executions by themselves (expired leases are \
			 taken over): start `serve --role worker`"
		);
	}
	let store = load::open_store(Some(&args)).await?;
	let unfinished = store.unfinished_executions().await?.len();
	let began = Instant::now();
	let engine: Engine = load::start_engine(Arc::clone(&store), EngineConfig::default()).await?;
	engine.idle().await?;
	engine.shutdown().await;
	let left = store.unfinished_executions().await?.len();
	println!(
		"resumed {unfinished} unfinished executions; {left} left unfinished after {:.3} s",
		began.elapsed().as_secs_f64()
	);
	Ok(if left == 0 {
		ExitCode::SUCCESS
	} else {
		ExitCode::from(1)
	})
}
