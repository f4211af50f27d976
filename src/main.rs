//! `apg-workflow`: the composition root. It parses the command line, picks the concrete store,
//! builds the component registry and hands them to the engine; nothing below it names a backend.

mod cli;
mod config;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
	let args = cli::Cli::parse();
	cli::init_logging(&args);
	let runtime = match tokio::runtime::Builder::new_multi_thread()
		.enable_all()
		.build()
	{
		Ok(rt) => rt,
		Err(e) => {
			eprintln!("error: cannot start the runtime: {e}");
			return ExitCode::from(2);
		}
	};
	match runtime.block_on(cli::dispatch(args)) {
		Ok(code) => code,
		Err(e) => {
			eprintln!("error: {e:#}");
			ExitCode::from(2)
		}
	}
}
