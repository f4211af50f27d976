//! The command-line verbs (DESIGN §1), one module each. Exit codes: 0 success, 1 the workflow is
//! invalid or its execution did not complete, 2 the command itself failed (bad file, bad store).

mod bench;
mod bench_auth;
mod client_addr;
mod debug;
mod listener;
mod load;
mod logging;
mod registry;
mod run;
mod serve;
mod users;
mod validate;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

pub(crate) use registry::ComponentSettings;

/// APG Workflow Orchestration: durable workflows from one binary.
#[derive(Parser, Debug)]
#[command(name = "apg-workflow", version, about, propagate_version = true)]
pub(crate) struct Cli {
	/// Log level of the CLI verbs (error, warn, info, debug, trace); `RUST_LOG` also works.
	/// `serve` takes its level from its configuration (`LOG_LEVEL`, `APG_LOG_LEVEL`).
	#[arg(long, global = true, default_value = "warn")]
	pub(crate) log_level: String,
	#[command(subcommand)]
	pub(crate) command: Command,
}

#[derive(Subcommand, Debug)]
pub(crate) enum Command {
	/// Serve REST, GraphQL and WebSocket with in-process workers (state in ./data).
	Serve(serve::ServeArgs),
	/// Check a workflow file: every problem with its path, and security warnings.
	Validate(validate::ValidateArgs),
	/// Run a workflow file locally and wait for it (in memory unless --data-dir is given).
	Run(run::RunArgs),
	/// Finish every execution a previous process left unfinished in a data dir.
	Resume(StoreArgs),
	/// Create or upgrade the database schema of a data dir.
	Migrate(StoreArgs),
	/// Measure the engine on this machine (DESIGN §7).
	Bench(bench::BenchArgs),
	/// Manage users directly in the store (create, list, passwd).
	#[command(subcommand)]
	User(users::UserCommand),
	/// Fernet keys: generate one, or reseal stored secrets with the first key after a rotation.
	#[command(subcommand)]
	Keys(users::KeysCommand),
}

/// Where state is kept.
#[derive(Args, Debug, Clone)]
pub(crate) struct StoreArgs {
	/// Directory of the embedded SQLite database.
	#[arg(long, default_value = "./data")]
	pub(crate) data_dir: PathBuf,
	/// SQLite durability: `full` survives power loss, `normal` only process crashes.
	#[arg(long, default_value = "full")]
	pub(crate) synchronous: apg_store::Synchronous,
	/// Use PostgreSQL instead of SQLite (`postgres://user@host/db`).
	#[arg(long, env = "DATABASE_URL")]
	pub(crate) database_url: Option<String>,
}

/// The CLI's logging; `serve` sets up its own from its configuration.
pub(crate) fn init_logging(cli: &Cli) {
	if !matches!(cli.command, Command::Serve(_)) {
		logging::init_cli(&cli.log_level);
	}
}

pub(crate) async fn dispatch(cli: Cli) -> anyhow::Result<ExitCode> {
	match cli.command {
		Command::Serve(args) => serve::serve(args).await,
		Command::Validate(args) => validate::validate(args),
		Command::Run(args) => run::run(args).await,
		Command::Resume(args) => run::resume(args).await,
		Command::Migrate(args) => {
			load::open_store(Some(&args)).await?;
			println!("the database of {} is up to date", load::describe(&args));
			Ok(ExitCode::SUCCESS)
		}
		Command::Bench(args) => bench::bench(args).await,
		Command::User(command) => users::user(command).await,
		Command::Keys(command) => users::keys(command).await,
	}
}
