//! The sandbox's process: bubblewrap started with rlimits set before `exec`, in a process group
//! of its own that is killed on time-out or cancellation, its output read with a cap.
//!
//! The rlimits are inherited through bubblewrap by the interpreter and everything it forks:
//! `RLIMIT_AS` (memory), `RLIMIT_CPU`, `RLIMIT_NPROC` (fork bombs), `RLIMIT_FSIZE`,
//! `RLIMIT_NOFILE`, and no core dumps. The kernel does not apply `RLIMIT_NPROC` to root, so a
//! server running as root drops to an unprivileged uid (one of the pool in `uids`) for the
//! sandbox; bubblewrap then needs unprivileged user namespaces, and fails closed without them.

#![allow(
	unsafe_code,
	reason = "pre_exec, and the libc calls around it, need it"
)]

use std::ffi::OsString;
use std::io;
use std::path::Path;
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::process::Command;
use tokio_util::sync::CancellationToken;

use crate::error::ScriptError;
use crate::limits::Limits;

/// What the sandbox wrote before it ended.
#[derive(Debug)]
pub(crate) struct Ended {
	pub(crate) status: ExitStatus,
	pub(crate) stdout: Vec<u8>,
	pub(crate) stderr: Vec<u8>,
}

/// The uid and gid the sandbox runs as when the server is root.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Identity {
	pub(crate) uid: u32,
	pub(crate) gid: u32,
}

/// Runs `program args` with `stdin` as its input, under `limits`.
pub(crate) async fn run(
	program: &Path,
	args: Vec<OsString>,
	stdin: Vec<u8>,
	limits: &Limits,
	identity: Identity,
	cancel: &CancellationToken,
) -> Result<Ended, ScriptError> {
	let mut command = Command::new(program);
	command
		.args(args)
		// bubblewrap itself never sees the server's environment (its secrets), not only the
		// sandbox (`--clearenv`).
		.env_clear()
		.env("PATH", "/usr/bin:/bin")
		.stdin(Stdio::piped())
		.stdout(Stdio::piped())
		.stderr(Stdio::piped())
		.process_group(0)
		.kill_on_drop(true);
	let rlimits = rlimits(limits);
	let drop_root = {
		// SAFETY: geteuid has no preconditions and cannot fail.
		let euid = unsafe { libc::geteuid() };
		(euid == 0).then_some(identity)
	};
	// SAFETY: the closure runs in the forked child before exec, where only async-signal-safe
	// calls are allowed: it calls setrlimit, setgroups, setgid and setuid (all plain system
	// calls), reads values captured by copy, and allocates nothing (`last_os_error` only reads
	// errno).
	unsafe {
		command.pre_exec(move || {
			for (resource, value) in rlimits {
				let limit = libc::rlimit {
					rlim_cur: value.0,
					rlim_max: value.1,
				};
				if libc::setrlimit(resource, &limit) != 0 {
					return Err(io::Error::last_os_error());
				}
			}
			if let Some(id) = drop_root
				&& (libc::setgroups(0, std::ptr::null()) != 0
					|| libc::setgid(id.gid) != 0
					|| libc::setuid(id.uid) != 0)
			{
				return Err(io::Error::last_os_error());
			}
			Ok(())
		});
	}
	let mut child = command.spawn().map_err(|e| {
		ScriptError::SandboxUnavailable(format!("cannot start `{}`: {e}", program.display()))
	})?;
	let pid = child.id();
	let (Some(mut input), Some(stdout), Some(stderr)) =
		(child.stdin.take(), child.stdout.take(), child.stderr.take())
	else {
		unreachable!("every stream is piped above");
	};
	// The envelope may be a little longer than the result it carries.
	let out_cap = limits.max_output_bytes + 4096;
	let err_cap = limits.max_output_bytes;
	let io = async {
		let write = async move {
			// A script that exits without reading its input breaks the pipe: that is its
			// business, and its exit status tells the rest.
			let _ = input.write_all(&stdin).await;
			drop(input);
			Ok(())
		};
		let (stdout, stderr, ()) =
			tokio::try_join!(capped(stdout, out_cap), capped(stderr, err_cap), write)?;
		let status = child
			.wait()
			.await
			.map_err(|e| ScriptError::Crashed(e.to_string()))?;
		Ok::<_, ScriptError>(Ended {
			status,
			stdout,
			stderr,
		})
	};
	let wall = Duration::from_secs(limits.wall_time_seconds);
	let result = tokio::select! {
		r = io => r,
		() = tokio::time::sleep(wall) => Err(ScriptError::Timeout(limits.wall_time_seconds)),
		() = cancel.cancelled() => Err(ScriptError::Cancelled),
	};
	if result.is_err() {
		kill_group(pid);
	}
	result
}

/// Kills bubblewrap's process group. The sandboxed processes are in a session of their own
/// (`--new-session`), but die with it: bubblewrap's init has `--die-with-parent`, and the PID
/// namespace's processes die with their init.
fn kill_group(pid: Option<u32>) {
	let Some(pid) = pid.and_then(|p| libc::pid_t::try_from(p).ok()) else {
		return;
	};
	// SAFETY: killpg only sends a signal; the group is the child's own (`process_group(0)`),
	// which lives until the child is reaped by `kill_on_drop`, so the id cannot be reused.
	unsafe {
		libc::killpg(pid, libc::SIGKILL);
	}
}

/// Reads `reader` to its end, failing as soon as it passes `cap` bytes.
async fn capped(mut reader: impl AsyncRead + Unpin, cap: usize) -> Result<Vec<u8>, ScriptError> {
	let mut data = Vec::new();
	// On the heap: two of these live in one future.
	let mut buf = vec![0u8; 8192];
	loop {
		let n = reader
			.read(&mut buf)
			.await
			.map_err(|e| ScriptError::Crashed(e.to_string()))?;
		if n == 0 {
			return Ok(data);
		}
		if data.len() + n > cap {
			return Err(ScriptError::OutputTooLarge(cap));
		}
		data.extend_from_slice(&buf[..n]);
	}
}

type Rlimit = (libc::__rlimit_resource_t, (libc::rlim_t, libc::rlim_t));

fn rlimits(limits: &Limits) -> [Rlimit; 6] {
	let mb = limits.memory_mb.saturating_mul(1024 * 1024);
	let cpu = limits.cpu_time_seconds;
	let files = limits.max_output_bytes as u64;
	[
		(libc::RLIMIT_AS, (mb, mb)),
		// SIGXCPU at the soft limit, SIGKILL a second later if the script ignores it.
		(libc::RLIMIT_CPU, (cpu, cpu + 1)),
		(
			libc::RLIMIT_NPROC,
			(limits.max_processes, limits.max_processes),
		),
		(libc::RLIMIT_FSIZE, (files, files)),
		(libc::RLIMIT_NOFILE, (64, 64)),
		(libc::RLIMIT_CORE, (0, 0)),
	]
}
