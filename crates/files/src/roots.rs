//! Which paths a workflow may touch: only those inside the configured roots.
//!
//! A relative path lies under the first root; an absolute one must lie inside some root. A `..`
//! component is refused outright (even one that would stay inside: a path that names its way out
//! and back is never what a workflow author meant, and refusing it is simpler to trust). Symbolic
//! links are resolved by canonicalizing the longest existing prefix of the path, so a link inside
//! a root that leads out is refused and one that stays inside is followed; a link that leads
//! nowhere is refused, since creating a file through it would create it wherever it points.
//!
//! **TOCTOU.** Between this check and the open, someone with write access to a root could swap a
//! checked directory or file for a link. The final component is covered: files are opened with
//! `O_NOFOLLOW` on the resolved path (a swapped-in link fails with ELOOP) and new files are
//! created as temporary files and renamed, which replaces a link rather than following it. An
//! intermediate directory swapped for a link between check and open is not covered; that needs
//! `openat2(RESOLVE_BENEATH)` on every open. The roots are assumed not to be writable by hostile
//! local users while the server runs.

use std::io;
use std::path::{Component, Path, PathBuf};

use crate::FilesError;

/// The configured roots, made absolute against the working directory at start-up.
#[derive(Clone, Debug)]
pub(crate) struct Roots {
	roots: Vec<PathBuf>,
}

/// A path checked to lie inside a root.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Resolved {
	/// The absolute path with every symbolic link of its existing prefix resolved.
	pub(crate) path: PathBuf,
	/// The path relative to its root, for outputs and errors.
	pub(crate) shown: String,
}

impl Roots {
	/// The roots of `configured`, each absolute.
	pub(crate) fn new(configured: &[PathBuf]) -> Self {
		let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/"));
		let roots = configured
			.iter()
			.map(|root| {
				if root.is_absolute() {
					root.clone()
				} else {
					cwd.join(root)
				}
			})
			.collect();
		Self { roots }
	}

	/// Checks `raw` (the value of config field `field`) and resolves it. With `follow_last`
	/// false, a final component that is a link is kept as is (`delete` removes the link, not
	/// what it points to).
	pub(crate) fn resolve(
		&self,
		field: &'static str,
		raw: &str,
		follow_last: bool,
	) -> Result<Resolved, FilesError> {
		let bad = |reason: &str| FilesError::BadPath {
			field,
			path: raw.to_owned(),
			reason: reason.to_owned(),
		};
		if raw.is_empty() {
			return Err(bad("is empty"));
		}
		if raw.contains('\0') {
			return Err(bad("contains a NUL byte"));
		}
		let given = Path::new(raw);
		if given.components().any(|c| c == Component::ParentDir) {
			return Err(bad("contains '..', which is not allowed"));
		}
		let Some(first) = self.roots.first() else {
			return Err(FilesError::OutsideRoots {
				field,
				path: raw.to_owned(),
			});
		};
		let joined = if given.is_absolute() {
			given.to_path_buf()
		} else {
			first.join(given)
		};
		let io_err = |e: io::Error| FilesError::io(field, raw, e);
		let resolved = if follow_last {
			canonical_prefix(&joined).map_err(io_err)?
		} else {
			match (joined.parent(), joined.file_name()) {
				(Some(parent), Some(name)) => canonical_prefix(parent)
					.map_err(io_err)?
					.map(|p| p.join(name)),
				_ => return Err(bad("names no file")),
			}
		};
		if let Some(path) = resolved.as_ref() {
			for root in &self.roots {
				let Ok(Some(root)) = canonical_prefix(root) else {
					continue;
				};
				if let Ok(rest) = path.strip_prefix(&root) {
					let shown = rest.to_string_lossy().into_owned();
					return Ok(Resolved {
						shown: if shown.is_empty() {
							".".to_owned()
						} else {
							shown
						},
						path: path.clone(),
					});
				}
			}
		} else {
			return Err(bad("is a symbolic link that leads nowhere"));
		}
		Err(FilesError::OutsideRoots {
			field,
			path: raw.to_owned(),
		})
	}
}

/// `path` with its longest existing prefix canonicalized (links resolved) and the rest appended;
/// `None` when a component of the path is a link to nothing.
fn canonical_prefix(path: &Path) -> io::Result<Option<PathBuf>> {
	let mut existing = path;
	let mut tail: Vec<&std::ffi::OsStr> = Vec::new();
	loop {
		match std::fs::canonicalize(existing) {
			Ok(found) => {
				let mut out = found;
				out.extend(tail.iter().rev());
				return Ok(Some(out));
			}
			Err(e) if e.kind() == io::ErrorKind::NotFound => {
				if existing.symlink_metadata().is_ok() {
					// It exists as a link, but its target does not.
					return Ok(None);
				}
				match (existing.parent(), existing.file_name()) {
					(Some(parent), Some(name)) => {
						tail.push(name);
						existing = parent;
					}
					_ => return Err(e),
				}
			}
			Err(e) => return Err(e),
		}
	}
}

#[cfg(test)]
mod tests {
	use std::os::unix::fs::symlink;

	use super::*;

	fn setup() -> (tempfile::TempDir, Roots) {
		let dir = tempfile::tempdir().unwrap();
		let root = dir.path().join("root");
		std::fs::create_dir_all(root.join("sub")).unwrap();
		std::fs::create_dir_all(dir.path().join("outside")).unwrap();
		let roots = Roots::new(&[root]);
		(dir, roots)
	}

	#[test]
	fn a_relative_path_lies_under_the_first_root_even_before_it_exists() {
		let (dir, roots) = setup();
		let r = roots
			.resolve("file_path", "new/deeper/a.csv", true)
			.unwrap();
		assert_eq!(r.shown, "new/deeper/a.csv");
		let root = std::fs::canonicalize(dir.path().join("root")).unwrap();
		assert_eq!(r.path, root.join("new/deeper/a.csv"));
	}

	#[test]
	fn an_absolute_path_inside_a_root_is_accepted_and_one_outside_refused() {
		let (dir, roots) = setup();
		let inside = dir.path().join("root/sub/x.json");
		let r = roots
			.resolve("file_path", inside.to_str().unwrap(), true)
			.unwrap();
		assert_eq!(r.shown, "sub/x.json");
		let outside = dir.path().join("outside/x.json");
		let e = roots
			.resolve("file_path", outside.to_str().unwrap(), true)
			.unwrap_err();
		assert!(matches!(e, FilesError::OutsideRoots { .. }), "{e}");
		assert!(e.to_string().starts_with("file_path: "), "{e}");
	}

	#[test]
	fn dot_dot_is_refused_wherever_it_leads() {
		let (dir, roots) = setup();
		for raw in [
			"../outside/x",
			"sub/../x",
			&format!("{}/root/../outside", dir.path().display()),
		] {
			let e = roots.resolve("file_path", raw, true).unwrap_err();
			assert!(e.to_string().contains("'..'"), "{raw}: {e}");
		}
	}

	#[test]
	fn a_symlink_that_leads_out_is_refused_and_one_inside_is_followed() {
		let (dir, roots) = setup();
		let root = dir.path().join("root");
		symlink(dir.path().join("outside"), root.join("out")).unwrap();
		symlink(root.join("sub"), root.join("alias")).unwrap();
		let e = roots.resolve("file_path", "out/x.csv", true).unwrap_err();
		assert!(matches!(e, FilesError::OutsideRoots { .. }), "{e}");
		let r = roots.resolve("file_path", "alias/x.csv", true).unwrap();
		assert_eq!(r.shown, "sub/x.csv");
	}

	#[test]
	fn a_dangling_symlink_is_refused() {
		let (dir, roots) = setup();
		symlink(
			dir.path().join("outside/nothing"),
			dir.path().join("root/dangling"),
		)
		.unwrap();
		let e = roots.resolve("file_path", "dangling", true).unwrap_err();
		assert!(e.to_string().contains("leads nowhere"), "{e}");
	}

	#[test]
	fn without_following_the_last_link_it_is_named_itself() {
		let (dir, roots) = setup();
		symlink(dir.path().join("outside"), dir.path().join("root/out")).unwrap();
		let r = roots.resolve("file_path", "out", false).unwrap();
		assert_eq!(r.shown, "out");
	}

	#[test]
	fn empty_and_nul_paths_are_refused() {
		let (_dir, roots) = setup();
		assert!(roots.resolve("file_path", "", true).is_err());
		assert!(roots.resolve("file_path", "a\0b", true).is_err());
	}
}
