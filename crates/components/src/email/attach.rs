//! Attachments from files under the file roots (`components.file_roots`, the roots
//! `file_operation` uses): a relative path is under the first root, an absolute one must lie in
//! a root, and after resolving `..` and symlinks (canonicalizing) the file must still be inside
//! one, so a workflow cannot mail out `/etc/shadow` or the data directory's key.

use std::path::{Path, PathBuf};

use apg_core::ComponentError;

/// The largest total of attachments one message carries (most servers refuse more than 25 MB).
pub(super) const MAX_TOTAL: u64 = 20 * 1024 * 1024;

/// One file to attach.
#[derive(Debug)]
pub(super) struct File {
	pub(super) name: String,
	pub(super) content_type: String,
	pub(super) bytes: Vec<u8>,
}

fn fatal(message: String) -> ComponentError {
	ComponentError::Fatal(message)
}

/// Reads the file `given` (at config path `field`) if it lies inside `roots`.
pub(super) async fn read(
	field: &str,
	given: &str,
	name: Option<&str>,
	content_type: Option<&str>,
	roots: &[PathBuf],
) -> Result<File, ComponentError> {
	let outside = || {
		fatal(format!(
			"{field}: the file must lie inside the file roots (components.file_roots)"
		))
	};
	let path = Path::new(given);
	let joined = if path.is_absolute() {
		path.to_owned()
	} else {
		roots.first().ok_or_else(outside)?.join(path)
	};
	let resolved = tokio::fs::canonicalize(&joined)
		.await
		.map_err(|e| fatal(format!("{field}: cannot open {given}: {e}")))?;
	let mut inside = false;
	for root in roots {
		if let Ok(root) = tokio::fs::canonicalize(root).await
			&& resolved.starts_with(&root)
		{
			inside = true;
			break;
		}
	}
	if !inside {
		return Err(outside());
	}
	let meta = tokio::fs::metadata(&resolved)
		.await
		.map_err(|e| fatal(format!("{field}: cannot open {given}: {e}")))?;
	if !meta.is_file() {
		return Err(fatal(format!("{field}: {given} is not a file")));
	}
	if meta.len() > MAX_TOTAL {
		return Err(fatal(format!(
			"{field}: {given} is larger than {MAX_TOTAL} bytes"
		)));
	}
	let bytes = tokio::fs::read(&resolved)
		.await
		.map_err(|e| fatal(format!("{field}: cannot read {given}: {e}")))?;
	let name = name.map(str::to_owned).unwrap_or_else(|| {
		resolved
			.file_name()
			.map(|n| n.to_string_lossy().into_owned())
			.unwrap_or_else(|| "attachment".to_owned())
	});
	let content_type = content_type
		.map(str::to_owned)
		.unwrap_or_else(|| guess(&name).to_owned());
	Ok(File {
		name,
		content_type,
		bytes,
	})
}

/// The content type of a file name's common extensions.
fn guess(name: &str) -> &'static str {
	let ext = name.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase());
	match ext.as_deref() {
		Some("txt" | "log") => "text/plain",
		Some("csv") => "text/csv",
		Some("json") => "application/json",
		Some("jsonl") => "application/x-ndjson",
		Some("html" | "htm") => "text/html",
		Some("pdf") => "application/pdf",
		Some("png") => "image/png",
		Some("jpg" | "jpeg") => "image/jpeg",
		Some("zip") => "application/zip",
		Some("parquet") => "application/vnd.apache.parquet",
		_ => "application/octet-stream",
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[tokio::test]
	async fn files_outside_the_roots_or_behind_symlinks_and_dot_dots_are_refused() {
		let root = tempfile::tempdir().unwrap();
		let outside = tempfile::tempdir().unwrap();
		std::fs::write(root.path().join("ok.csv"), "a,b\n").unwrap();
		std::fs::write(outside.path().join("secret.txt"), "no").unwrap();
		std::os::unix::fs::symlink(outside.path().join("secret.txt"), root.path().join("link"))
			.unwrap();
		let roots = [root.path().to_owned()];
		let file = read("attachments[0]", "ok.csv", None, None, &roots)
			.await
			.unwrap();
		assert_eq!(
			(file.name.as_str(), file.content_type.as_str()),
			("ok.csv", "text/csv")
		);
		assert_eq!(file.bytes, b"a,b\n");
		let sibling = outside
			.path()
			.file_name()
			.unwrap()
			.to_string_lossy()
			.into_owned();
		let escape = format!("../{sibling}/secret.txt");
		for given in [
			"link".to_owned(),
			outside.path().join("secret.txt").display().to_string(),
			escape,
		] {
			let e = read("attachments[0]", &given, None, None, &roots)
				.await
				.unwrap_err();
			assert!(
				e.to_string().contains("inside the file roots"),
				"{given}: {e}"
			);
		}
	}
}
