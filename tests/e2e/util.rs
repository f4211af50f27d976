//! Running the binary.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

/// The binary under test.
pub(crate) fn bin() -> Command {
	let mut cmd = Command::new(env!("CARGO_BIN_EXE_apg-workflow"));
	cmd.env_remove("LOG_LEVEL").env_remove("RUST_LOG");
	cmd
}

/// A file of `examples/`.
pub(crate) fn example(name: &str) -> PathBuf {
	Path::new(env!("CARGO_MANIFEST_DIR"))
		.join("examples")
		.join(name)
}

/// Runs the binary with `args` and returns its output.
pub(crate) fn run(args: &[&str]) -> Output {
	bin().args(args).output().expect("the binary runs")
}

/// Stdout and stderr as text, for assertion messages.
pub(crate) fn text(out: &Output) -> String {
	format!(
		"{}{}",
		String::from_utf8_lossy(&out.stdout),
		String::from_utf8_lossy(&out.stderr)
	)
}

/// Starts `serve` as `command` describes and returns it with its base URL, read from the line
/// it prints once it listens. Its stderr keeps being drained so it never blocks on the pipe.
pub(crate) fn start_listening(mut command: Command) -> (Child, String) {
	let mut child = command
		.stdout(Stdio::null())
		.stderr(Stdio::piped())
		.spawn()
		.unwrap();
	let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
	let base = loop {
		let line = lines
			.next()
			.expect("the server exits before listening")
			.unwrap();
		if let Some(rest) = line.split("listening on ").nth(1) {
			break rest.split_whitespace().next().unwrap().to_owned();
		}
	};
	std::thread::spawn(move || for _ in lines {});
	(child, base)
}
