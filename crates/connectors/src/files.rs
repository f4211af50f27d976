//! The per-user file store ([`UserFiles`], also served at `/api/v1/files`) and
//! `apg_file_management` over it: upload, download, list and delete, always in the store of the
//! user who started the execution.
//!
//! Each user has one flat directory, `<root>/<user id>/`. A name is a plain file name (no
//! separator, no `..`, no leading dot, no control character), so no name reaches outside it and
//! no user reaches another's files: there is no way to name them. Writes go to a temporary file
//! renamed into place, so a reader never sees half a file. On a cluster the root must be shared
//! storage for every node to see the same files.

use std::path::{Path, PathBuf};

use apg_core::{Component, ComponentError, Outcome, Permission, RunContext, UserId};
use async_trait::async_trait;
use base64::Engine as _;
use serde::Serialize;
use serde_json::{Value, json};
use tokio::io::AsyncWriteExt;

use crate::acting::{audit, platform, principal, require, required, text};
use crate::error::{FileError, fatal};
use crate::platform::Platform;

const KIND: &str = "apg_file_management";

/// One stored file.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct StoredFile {
	/// Its name.
	pub name: String,
	/// Its size in bytes.
	pub size: u64,
	/// When it was last written (ms since the epoch).
	pub modified: i64,
}

/// Files of each user under one root.
#[derive(Clone, Debug)]
pub struct UserFiles {
	root: PathBuf,
	max_bytes: u64,
}

impl UserFiles {
	/// A store under `root` (created when first written) keeping files of at most `max_bytes`.
	pub fn new(root: impl Into<PathBuf>, max_bytes: u64) -> Self {
		Self {
			root: root.into(),
			max_bytes,
		}
	}

	/// The largest file kept.
	pub fn max_bytes(&self) -> u64 {
		self.max_bytes
	}

	fn dir(&self, user: UserId) -> PathBuf {
		self.root.join(user.to_string())
	}

	fn path(&self, user: UserId, name: &str) -> Result<PathBuf, FileError> {
		check_name(name)?;
		Ok(self.dir(user).join(name))
	}

	/// Stores `bytes` as `name`, replacing a file of that name.
	pub async fn put(
		&self,
		user: UserId,
		name: &str,
		bytes: &[u8],
	) -> Result<StoredFile, FileError> {
		let path = self.path(user, name)?;
		let size = bytes.len() as u64;
		if size > self.max_bytes {
			return Err(FileError::TooLarge {
				size,
				max: self.max_bytes,
			});
		}
		tokio::fs::create_dir_all(self.dir(user)).await?;
		let partial = self
			.dir(user)
			.join(format!(".{}.partial", uuid::Uuid::now_v7().simple()));
		let mut file = tokio::fs::File::create(&partial).await?;
		let written = async {
			file.write_all(bytes).await?;
			file.sync_all().await?;
			tokio::fs::rename(&partial, &path).await
		}
		.await;
		if let Err(e) = written {
			let _ = tokio::fs::remove_file(&partial).await;
			return Err(e.into());
		}
		stat(&path, name).await
	}

	/// The contents of `name`.
	pub async fn get(&self, user: UserId, name: &str) -> Result<Vec<u8>, FileError> {
		let path = self.path(user, name)?;
		tokio::fs::read(&path).await.map_err(|e| missing(e, name))
	}

	/// Every file of `user`, by name.
	pub async fn list(&self, user: UserId) -> Result<Vec<StoredFile>, FileError> {
		let mut entries = match tokio::fs::read_dir(self.dir(user)).await {
			Ok(entries) => entries,
			Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
			Err(e) => return Err(e.into()),
		};
		let mut files = Vec::new();
		while let Some(entry) = entries.next_entry().await? {
			let name = entry.file_name().to_string_lossy().into_owned();
			if check_name(&name).is_err() || !entry.file_type().await?.is_file() {
				continue;
			}
			files.push(stat(&entry.path(), &name).await?);
		}
		files.sort_by(|a, b| a.name.cmp(&b.name));
		Ok(files)
	}

	/// Deletes `name`.
	pub async fn delete(&self, user: UserId, name: &str) -> Result<(), FileError> {
		let path = self.path(user, name)?;
		tokio::fs::remove_file(&path)
			.await
			.map_err(|e| missing(e, name))
	}
}

fn missing(e: std::io::Error, name: &str) -> FileError {
	if e.kind() == std::io::ErrorKind::NotFound {
		FileError::NotFound(name.to_owned())
	} else {
		e.into()
	}
}

async fn stat(path: &Path, name: &str) -> Result<StoredFile, FileError> {
	let meta = tokio::fs::metadata(path)
		.await
		.map_err(|e| missing(e, name))?;
	let modified = meta
		.modified()
		.ok()
		.and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
		.map_or(0, |d| d.as_millis() as i64);
	Ok(StoredFile {
		name: name.to_owned(),
		size: meta.len(),
		modified,
	})
}

/// Refuses anything but a plain file name.
pub(crate) fn check_name(name: &str) -> Result<(), FileError> {
	let why = if name.is_empty() {
		Some("it is empty")
	} else if name.len() > 255 {
		Some("it is longer than 255 bytes")
	} else if name.starts_with('.') {
		Some("it starts with a dot")
	} else if name.contains(['/', '\\']) {
		Some("it contains a path separator")
	} else if name.chars().any(char::is_control) {
		Some("it contains a control character")
	} else {
		None
	};
	match why {
		Some(why) => Err(FileError::InvalidName {
			name: name.chars().take(64).collect(),
			why,
		}),
		None => Ok(()),
	}
}

/// The component.
pub(crate) struct FileManagement {
	platform: Option<Platform>,
}

impl FileManagement {
	pub(crate) fn new(platform: Option<Platform>) -> Self {
		Self { platform }
	}
}

/// The bytes to upload: `content` as text, base64 or JSON, per `encoding`.
fn content(config: &Value) -> Result<Vec<u8>, ComponentError> {
	let content = config
		.get("content")
		.ok_or_else(|| fatal("upload needs 'content'"))?;
	match text(config, "encoding").unwrap_or("text") {
		"base64" => {
			let text = content
				.as_str()
				.ok_or_else(|| fatal("content: base64 content must be a string"))?;
			base64::engine::general_purpose::STANDARD
				.decode(text.trim())
				.map_err(|e| fatal(format!("content: not base64: {e}")))
		}
		"json" => Ok(serde_json::to_vec_pretty(content).unwrap_or_default()),
		_ => match content {
			Value::String(s) => Ok(s.clone().into_bytes()),
			other => Ok(other.to_string().into_bytes()),
		},
	}
}

/// A downloaded file in the output, per `encoding`.
fn decoded(bytes: Vec<u8>, encoding: &str) -> Result<Value, ComponentError> {
	match encoding {
		"base64" => Ok(Value::String(
			base64::engine::general_purpose::STANDARD.encode(bytes),
		)),
		"json" => {
			serde_json::from_slice(&bytes).map_err(|e| fatal(format!("the file is not JSON: {e}")))
		}
		_ => String::from_utf8(bytes)
			.map(Value::String)
			.map_err(|_| fatal("the file is not UTF-8 text: download it with encoding base64")),
	}
}

#[async_trait]
impl Component for FileManagement {
	fn kind(&self) -> &'static str {
		KIND
	}

	fn summary(&self) -> &'static str {
		"Uploads, downloads, lists or deletes files in the personal store of the user who \
		 started the execution"
	}

	fn config_schema(&self) -> Value {
		json!({
			"type": "object",
			"required": ["operation"],
			"properties": {
				"operation": {"type": "string", "enum": ["upload", "download", "list", "delete"]},
				"name": {"type": "string", "description": "The file name (no path)"},
				"content": {"description": "upload: what to store (text, base64 or any JSON \
					value, per encoding); may be an expression"},
				"encoding": {"type": "string", "enum": ["text", "base64", "json"],
					"default": "text", "description": "How content is given (upload) or \
					returned (download)"}
			}
		})
	}

	async fn run(
		&self,
		ctx: &RunContext,
		config: &Value,
		_input: Value,
	) -> Result<Outcome, ComponentError> {
		let p = platform(&self.platform, KIND)?;
		let who = principal(p, ctx).await?;
		let user = who.user_id;
		let output = match text(config, "operation").unwrap_or_default() {
			"upload" => {
				// Writing needs a role that runs workflows: viewers only read.
				require(p, &who, Permission::WorkflowExecute, "upload").await?;
				let name = required(config, "name", "upload")?;
				let stored = p.files.put(user, name, &content(config)?).await?;
				audit(
					p,
					&who,
					ctx,
					"file.upload",
					&format!("file/{name}"),
					json!({"size": stored.size}),
				)
				.await;
				json!(stored)
			}
			"download" => {
				let name = required(config, "name", "download")?;
				let encoding = text(config, "encoding").unwrap_or("text");
				let bytes = p.files.get(user, name).await?;
				let size = bytes.len();
				json!({"name": name, "size": size, "encoding": encoding,
					"content": decoded(bytes, encoding)?})
			}
			"list" => {
				let files = p.files.list(user).await?;
				json!({"files": files, "count": files.len()})
			}
			"delete" => {
				require(p, &who, Permission::WorkflowExecute, "delete").await?;
				let name = required(config, "name", "delete")?;
				p.files.delete(user, name).await?;
				audit(
					p,
					&who,
					ctx,
					"file.delete",
					&format!("file/{name}"),
					json!({}),
				)
				.await;
				json!({"deleted": true, "name": name})
			}
			other => return Err(fatal(format!("unknown operation '{other}'"))),
		};
		Ok(Outcome::output(output))
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn only_plain_names_are_accepted() {
		for bad in [
			"",
			".",
			"..",
			".hidden",
			"a/b",
			"..\\x",
			"a\u{0}b",
			&"x".repeat(256),
		] {
			assert!(check_name(bad).is_err(), "{bad:?}");
		}
		for good in ["report.csv", "a b.txt", "ünï.json", "x..y"] {
			assert!(check_name(good).is_ok(), "{good}");
		}
	}

	#[tokio::test]
	async fn users_have_separate_stores() {
		let dir = tempfile::tempdir().unwrap();
		let files = UserFiles::new(dir.path(), 10);
		let (a, b) = (UserId::new(), UserId::new());
		files.put(a, "x.txt", b"hello").await.unwrap();
		assert_eq!(files.get(a, "x.txt").await.unwrap(), b"hello");
		assert!(matches!(
			files.get(b, "x.txt").await,
			Err(FileError::NotFound(_))
		));
		assert!(files.list(b).await.unwrap().is_empty());
		assert_eq!(files.list(a).await.unwrap()[0].size, 5);
		assert!(matches!(
			files.put(a, "big", b"01234567890").await,
			Err(FileError::TooLarge { size: 11, max: 10 })
		));
		files.delete(a, "x.txt").await.unwrap();
		assert!(matches!(
			files.delete(a, "x.txt").await,
			Err(FileError::NotFound(_))
		));
	}
}
