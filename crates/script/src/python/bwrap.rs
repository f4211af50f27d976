//! The bubblewrap command line: what a Python script can see. Only `/usr` (and the interpreter's
//! prefix when it lives elsewhere, and paths the operator grants) read-only; a private `/tmp`,
//! `/proc` and `/dev` of its own; no `/etc`, so no `/etc/shadow` or `/etc/passwd`; no data
//! directory, no home; every namespace new (so no network, no other process), an environment of
//! `PATH` and `HOME` only, and death with the server.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use crate::Settings;
use crate::error::ScriptError;
use crate::python::interpreter::Interpreter;

/// Top-level directories that merged-/usr systems make symlinks into `/usr`, which the
/// interpreter's dynamic loader needs under their usual names.
const USR_LINKS: &[&str] = &["bin", "lib", "lib32", "lib64", "libx32", "sbin"];

/// The size of the private `/tmp` (it is memory, which the address-space limit does not count).
const TMP_BYTES: u64 = 16 * 1024 * 1024;

/// Finds the bubblewrap binary: the configured path, or `bwrap` on `PATH`.
pub(crate) fn locate(configured: &Path) -> Result<PathBuf, ScriptError> {
	let missing = || {
		ScriptError::SandboxUnavailable(format!(
			"bubblewrap (`{}`) was not found; install the Debian package `bubblewrap` or set \
			 components.script.bwrap. Python scripts never run unsandboxed",
			configured.display()
		))
	};
	let found = if configured.components().count() > 1 {
		Some(configured.to_path_buf()).filter(|p| p.is_file())
	} else {
		std::env::var_os("PATH").and_then(|path| {
			std::env::split_paths(&path)
				.map(|dir| dir.join(configured))
				.find(|p| p.is_file())
		})
	};
	found.ok_or_else(missing)
}

/// The arguments to bubblewrap, up to and including the command to run.
pub(crate) fn args(settings: &Settings, python: &Interpreter) -> Vec<OsString> {
	let mut a: Vec<OsString> = Vec::new();
	push(
		&mut a,
		&[
			"--unshare-all",
			"--die-with-parent",
			"--new-session",
			"--clearenv",
		],
	);
	push(
		&mut a,
		&[
			"--setenv",
			"PATH",
			"/usr/bin:/bin",
			"--setenv",
			"HOME",
			"/tmp",
		],
	);
	push(&mut a, &["--ro-bind", "/usr", "/usr"]);
	for dir in USR_LINKS {
		let top = Path::new("/").join(dir);
		if let Ok(target) = std::fs::read_link(&top) {
			a.extend([
				"--symlink".into(),
				target.into_os_string(),
				top.into_os_string(),
			]);
		}
	}
	push(&mut a, &["--proc", "/proc", "--dev", "/dev"]);
	push(
		&mut a,
		&[
			"--size",
			&TMP_BYTES.to_string(),
			"--tmpfs",
			"/tmp",
			"--chdir",
			"/tmp",
		],
	);
	if settings.allow_network {
		push(&mut a, &["--share-net"]);
		// Name resolution needs these two, and nothing else of /etc.
		for file in ["/etc/resolv.conf", "/etc/hosts"] {
			if Path::new(file).exists() {
				push(&mut a, &["--ro-bind", file, file]);
			}
		}
	}
	if !python.prefix.starts_with("/usr") {
		bind(&mut a, &python.prefix);
	}
	if !python.executable.starts_with("/usr") && !python.executable.starts_with(&python.prefix) {
		bind(&mut a, &python.executable);
	}
	for path in &settings.readable_paths {
		bind(&mut a, path);
	}
	a.push("--".into());
	a.push(python.executable.clone().into_os_string());
	a
}

fn push(a: &mut Vec<OsString>, items: &[&str]) {
	a.extend(items.iter().map(OsString::from));
}

fn bind(a: &mut Vec<OsString>, path: &Path) {
	a.extend([
		"--ro-bind".into(),
		path.as_os_str().to_owned(),
		path.as_os_str().to_owned(),
	]);
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn no_etc_no_home_and_no_network_unless_granted() {
		let python = Interpreter {
			executable: "/usr/bin/python3.11".into(),
			prefix: "/usr".into(),
		};
		let joined = |s: &Settings| {
			args(s, &python)
				.iter()
				.map(|a| a.to_string_lossy().into_owned())
				.collect::<Vec<_>>()
		};
		let a = joined(&Settings::default());
		assert!(a.contains(&"--unshare-all".to_owned()));
		assert!(!a.contains(&"--share-net".to_owned()));
		assert!(
			!a.iter()
				.any(|x| x.starts_with("/etc") || x.starts_with("/root")),
			"{a:?}"
		);
		let open = Settings {
			allow_network: true,
			..Settings::default()
		};
		assert!(joined(&open).contains(&"--share-net".to_owned()));
	}

	#[test]
	fn a_missing_bwrap_is_named() {
		let e = locate(Path::new("/nonexistent/bwrap")).unwrap_err();
		assert!(e.to_string().contains("/nonexistent/bwrap"), "{e}");
		assert!(e.to_string().contains("never run unsandboxed"), "{e}");
	}
}
