//! Python in a child process under bubblewrap: `interpreter` finds the real python, `bwrap`
//! builds the sandbox, `child` runs it under rlimits; this module speaks the protocol.
//!
//! The protocol (`prelude.py`): the request `{"code", "input"}` goes in on stdin; the code runs
//! as `__main__` with `input` defined; the output is `main(input)` when the script defines a
//! function `main`, else its global `result`, else the last line it printed parsed as JSON
//! (`null` when it printed nothing). The prelude answers with one envelope line on the real
//! stdout; whatever the script prints goes to stderr, and each line of it becomes a log line.

mod bwrap;
mod child;
pub(crate) mod interpreter;
mod uids;

use std::path::PathBuf;

use apg_core::LogLevel;
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::OnceCell;
use tokio_util::sync::CancellationToken;

use crate::Settings;
use crate::error::ScriptError;
use crate::limits::Limits;
use crate::logs::{Logs, Run};
use interpreter::Interpreter;

const PRELUDE: &str = include_str!("prelude.py");

/// SIGXCPU: the kernel's signal at the soft CPU limit.
const SIGXCPU: i32 = 24;

/// Runs Python scripts with one server's settings; the interpreter is resolved once.
pub(crate) struct Python {
	settings: Settings,
	interpreter: OnceCell<Result<Interpreter, String>>,
	uids: uids::Uids,
}

#[derive(Deserialize)]
#[serde(rename_all = "lowercase")]
enum Envelope {
	Ok(Value),
	Error(Failure),
}

#[derive(Deserialize)]
struct Failure {
	kind: Kind,
	#[serde(rename = "type")]
	type_name: String,
	message: String,
	#[serde(default)]
	line: Option<u32>,
	#[serde(default)]
	errno: Option<i32>,
}

#[derive(Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
enum Kind {
	Exception,
	Output,
}

impl Python {
	pub(crate) fn new(settings: Settings) -> Self {
		Self {
			uids: uids::Uids::new(settings.sandbox_uid, settings.sandbox_uids),
			settings,
			interpreter: OnceCell::new(),
		}
	}

	async fn interpreter(&self) -> Result<&Interpreter, ScriptError> {
		let resolved = self
			.interpreter
			.get_or_init(|| async {
				interpreter::resolve(self.settings.python.as_deref())
					.await
					.map_err(|e| e.to_string())
			})
			.await;
		// The resolution's error already says "sandbox unavailable: …".
		resolved
			.as_ref()
			.map_err(|e| ScriptError::Config(e.clone()))
	}

	/// Runs `code` with `input` under `limits`.
	pub(crate) async fn run(
		&self,
		code: &str,
		input: &Value,
		limits: &Limits,
		cancel: &CancellationToken,
	) -> Result<Run, ScriptError> {
		// Both checks come before anything runs: without the sandbox, nothing runs.
		let bwrap: PathBuf = bwrap::locate(&self.settings.bwrap)?;
		let python = self.interpreter().await?;
		let mut args = bwrap::args(&self.settings, python);
		args.extend(["-I".into(), "-c".into(), PRELUDE.into()]);
		let request = serde_json::to_vec(&json!({"code": code, "input": input}))
			.map_err(|e| ScriptError::Config(e.to_string()))?;
		// Held until the sandbox has ended, so no other sandbox shares its process count.
		let lease = self.uids.lease().await;
		let identity = child::Identity {
			uid: lease.uid,
			gid: self.settings.sandbox_gid,
		};
		let ended = child::run(&bwrap, args, request, limits, identity, cancel).await?;
		drop(lease);
		let stderr = String::from_utf8_lossy(&ended.stderr);
		let mut logs = Logs::new(limits.max_output_bytes);
		for line in stderr.lines() {
			logs.push(LogLevel::Info, line.to_owned())?;
		}
		let stdout = String::from_utf8_lossy(&ended.stdout);
		let envelope = stdout.lines().rev().find(|l| !l.trim().is_empty());
		let envelope = envelope.and_then(|l| serde_json::from_str::<Envelope>(l).ok());
		match envelope {
			Some(Envelope::Ok(output)) => Ok(Run {
				output,
				logs: logs.into_lines(),
			}),
			Some(Envelope::Error(f)) => Err(failure(f, limits)),
			None => Err(abnormal(&ended.status, &stderr, limits)),
		}
	}
}

fn failure(f: Failure, limits: &Limits) -> ScriptError {
	if f.kind == Kind::Output {
		return ScriptError::BadOutput(format!("{}: {}", f.type_name, f.message));
	}
	match f.type_name.as_str() {
		"MemoryError" => ScriptError::Memory(limits.memory_mb),
		// fork() refused with EAGAIN: RLIMIT_NPROC.
		"BlockingIOError" if f.errno == Some(libc::EAGAIN) => ScriptError::Processes(format!(
			"at most {} processes; {}",
			limits.max_processes, f.message
		)),
		_ => ScriptError::Exception {
			message: format!("{}: {}", f.type_name, f.message),
			line: f.line,
		},
	}
}

/// Why the sandbox ended without an envelope.
fn abnormal(status: &std::process::ExitStatus, stderr: &str, limits: &Limits) -> ScriptError {
	use std::os::unix::process::ExitStatusExt;
	let last = stderr
		.lines()
		.rev()
		.find(|l| !l.trim().is_empty())
		.unwrap_or("")
		.to_owned();
	// bubblewrap reports a failure to build the sandbox as `bwrap: …` and exits 1.
	if let Some(line) = stderr.lines().find(|l| l.starts_with("bwrap: ")) {
		return ScriptError::SandboxUnavailable(line.to_owned());
	}
	// bubblewrap exits 128 + n when the script dies of signal n.
	let signal = status
		.signal()
		.or_else(|| status.code().filter(|c| *c > 128).map(|c| c - 128));
	match signal {
		Some(SIGXCPU | libc::SIGKILL) => ScriptError::CpuTime(limits.cpu_time_seconds),
		_ if stderr.contains("MemoryError") => ScriptError::Memory(limits.memory_mb),
		_ => ScriptError::Crashed(format!("{status}; {last}")),
	}
}
