//! Logging. The CLI logs readable lines to stderr. The server logs structured JSON to stdout (the
//! seed's fields: timestamp, level, target as the logger, message, module path, file and line)
//! and to a file rotated daily under `log_dir` (seven kept), and errors alone to a daily
//! `errors.log`; `--development` logs readable lines instead of JSON to the console.

use tracing_appender::non_blocking::WorkerGuard;
use tracing_appender::rolling::{Builder, Rotation};
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::prelude::*;
use tracing_subscriber::{EnvFilter, fmt};

use crate::config::Config;

/// Keeps the file writers flushing until dropped.
pub(crate) struct Guards(#[allow(dead_code)] Vec<WorkerGuard>);

pub(crate) fn init_cli(level: &str) {
	let filter =
		EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(level.to_lowercase()));
	let _ = fmt()
		.with_env_filter(filter)
		.with_writer(std::io::stderr)
		.try_init();
}

pub(crate) fn init_server(config: &Config) -> anyhow::Result<Guards> {
	let level = config.log_level.to_lowercase();
	let filter = || {
		EnvFilter::try_new(format!("{level},hyper=warn,h2=warn,tower_http=info"))
			.unwrap_or_else(|_| EnvFilter::new("info"))
	};
	let mut guards = Vec::new();
	let console = if config.development() {
		fmt::layer()
			.compact()
			.with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()))
			.with_writer(std::io::stdout)
			.with_filter(filter())
			.boxed()
	} else {
		fmt::layer()
			.json()
			.flatten_event(true)
			.with_current_span(false)
			.with_file(true)
			.with_line_number(true)
			.with_writer(std::io::stdout)
			.with_filter(filter())
			.boxed()
	};
	let mut layers = vec![console];
	if !config.log_dir.as_os_str().is_empty() {
		std::fs::create_dir_all(&config.log_dir)?;
		let (all, guard) = daily_file(&config.log_dir, "apg-workflow")?;
		guards.push(guard);
		layers.push(json_layer(all).with_filter(filter()).boxed());
		let (errors, guard) = daily_file(&config.log_dir, "errors")?;
		guards.push(guard);
		layers.push(json_layer(errors).with_filter(LevelFilter::ERROR).boxed());
	}
	let _ = tracing_subscriber::registry().with(layers).try_init();
	Ok(Guards(guards))
}

/// A non-blocking writer to `<dir>/<prefix>.<date>.log`, rotated daily, seven kept.
fn daily_file(
	dir: &std::path::Path,
	prefix: &str,
) -> anyhow::Result<(tracing_appender::non_blocking::NonBlocking, WorkerGuard)> {
	let file = Builder::new()
		.rotation(Rotation::DAILY)
		.filename_prefix(prefix)
		.filename_suffix("log")
		.max_log_files(7)
		.build(dir)?;
	Ok(tracing_appender::non_blocking(file))
}

/// JSON lines with the seed's fields.
fn json_layer<S, W>(writer: W) -> impl tracing_subscriber::Layer<S>
where
	S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
	W: for<'w> fmt::MakeWriter<'w> + Send + Sync + 'static,
{
	fmt::layer()
		.json()
		.flatten_event(true)
		.with_file(true)
		.with_line_number(true)
		.with_writer(writer)
}
