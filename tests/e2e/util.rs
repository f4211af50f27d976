//! Running the binary.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

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
