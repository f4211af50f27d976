//! [`Settings`]: what the server's configuration tells this crate's components
//! (`components.*` in `config.yaml`), so a component reads no environment of its own and a test
//! can build one with exactly the settings it needs.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// The largest `http_request` response body by default, and the ceiling a component's
/// `max_response_bytes` may ask for unless the server raises it.
pub const DEFAULT_HTTP_MAX_RESPONSE_BYTES: u64 = 10 * 1024 * 1024;

/// Settings of the components in this crate.
#[derive(Clone, Debug, Serialize, Deserialize)]
// Flattened into the binary's `components:` beside other crates' sections, so unknown keys are
// not refused here (serde cannot refuse them through `flatten`).
#[serde(default)]
pub struct Settings {
	/// Hosts or IP addresses that `http_request`, `database_query` and `email` may reach
	/// although they are internal (`*`: all); `APG_HTTP_ALLOW`, comma-separated.
	pub http_allow: Vec<String>,
	/// The server's maximum for an `http_request` response body, in bytes; a component's
	/// `max_response_bytes` may only lower it.
	pub http_max_response_bytes: u64,
	/// The SMTP server `email` uses when a component names none.
	pub smtp: Option<SmtpSettings>,
	/// Directories `email` may attach files from (and SQLite databases may live in); the same
	/// roots `file_operation` uses, wired by the binary. Default: `./data/files` and the system
	/// temporary directory.
	pub file_roots: Vec<PathBuf>,
}

/// `components.smtp`: the server-wide default SMTP server.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct SmtpSettings {
	/// `smtp://host:port` (STARTTLS unless `security` says otherwise), `smtps://host:port`
	/// (implicit TLS); or give `host` and `port`.
	pub url: Option<String>,
	/// The server's host name.
	pub host: Option<String>,
	/// Its port (default: 587 for STARTTLS, 465 for TLS, 25 for none).
	pub port: Option<u16>,
	/// `starttls` (default), `tls` or `none`.
	pub security: Option<String>,
	/// The login, if the server needs one.
	pub username: Option<String>,
	/// Its password.
	// Never serialized back out (configuration dumps, debug endpoints).
	#[serde(skip_serializing)]
	pub password: Option<String>,
	/// The sender used when a component gives no `from`.
	pub from: Option<String>,
}

impl Default for Settings {
	fn default() -> Self {
		Self {
			http_allow: Vec::new(),
			http_max_response_bytes: DEFAULT_HTTP_MAX_RESPONSE_BYTES,
			smtp: None,
			file_roots: vec![PathBuf::from("./data/files"), std::env::temp_dir()],
		}
	}
}

impl Settings {
	/// The settings a process without a configuration file gets: the defaults and
	/// `APG_HTTP_ALLOW`.
	pub fn from_env() -> Self {
		let allow = std::env::var("APG_HTTP_ALLOW").unwrap_or_default();
		Self {
			http_allow: allow.split(',').map(str::to_owned).collect(),
			..Self::default()
		}
	}
}
