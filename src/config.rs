//! Server configuration (DESIGN §1): defaults < `config/config.yaml` (or `--config FILE`), and
//! `config/config.dev.yaml` beside it in development < `APG_*` environment (`APG_PORT`,
//! `APG_DATA_DIR`, `APG_ENV`…) and the seed's `DEBUG` and `LOG_LEVEL` < command-line flags.
//! Each subsystem gets only the part it needs.

use std::path::{Path, PathBuf};

use anyhow::Context;
use figment::Figment;
use figment::providers::{Env, Format, Serialized, Yaml};
use serde::{Deserialize, Serialize};

/// Everything `serve` can be told.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default)]
pub(crate) struct Config {
	/// Address to listen on.
	pub(crate) bind: String,
	/// Port (0 picks a free one).
	pub(crate) port: u16,
	/// Where the embedded SQLite database lives.
	pub(crate) data_dir: PathBuf,
	/// PostgreSQL instead of SQLite (`DATABASE_URL`, `APG_DATABASE_URL`, `--database-url`).
	pub(crate) database_url: Option<String>,
	/// Redis as the shared cache and event bus (`REDIS_URL`, `APG_REDIS_URL`, `--redis-url`).
	pub(crate) redis_url: Option<String>,
	/// `api`, `worker` or `all` (with a shared database).
	pub(crate) role: String,
	/// This node's id in a cluster.
	pub(crate) node_id: Option<String>,
	/// Seconds a claimed execution stays leased without renewal.
	pub(crate) lease_seconds: u64,
	/// Executions one node holds at most.
	pub(crate) max_executions_per_node: usize,
	/// Ended executions (with their logs) older than this many days are deleted; 0 keeps all.
	pub(crate) retention_days: u64,
	/// `full` or `normal` (see `apg_store::Synchronous`).
	pub(crate) synchronous: String,
	/// Component attempts running at once.
	pub(crate) max_concurrent_tasks: usize,
	/// error, warn, info, debug or trace.
	pub(crate) log_level: String,
	/// Where the rotating log and the daily error log are written; empty: no files.
	pub(crate) log_dir: PathBuf,
	/// Largest request body.
	pub(crate) max_body_bytes: usize,
	/// Open `/ws` connections at most.
	pub(crate) max_ws_connections: usize,
	/// Events a subscriber (WebSocket, GraphQL, metrics) may fall behind before it is dropped.
	pub(crate) event_buffer: usize,
	/// Seconds running attempts get to finish on shutdown.
	pub(crate) shutdown_drain_seconds: u64,
	/// `production` or `development` (`APG_ENV`).
	pub(crate) env: String,
	/// The seed's `DEBUG`: debug logs.
	pub(crate) debug: bool,
	/// Load `examples/` as sample workflows at start (development).
	pub(crate) load_examples: bool,
	/// Where the sample workflows are.
	pub(crate) examples_dir: PathBuf,
	/// Fernet keys, comma-separated, newest first (`WORKFLOW_ENCRYPTION_KEY`). Without it the
	/// embedded default generates `<data_dir>/encryption.key`; PostgreSQL requires it, since
	/// every node must hold the same keys.
	pub(crate) encryption_key: Option<String>,
	/// Token-signing secret (`APG_JWT_SECRET`, at least 32 bytes); without it one is derived
	/// from the primary encryption key.
	pub(crate) jwt_secret: Option<String>,
	/// The first admin's password (`APG_ADMIN_PASSWORD`), for automated set-ups; without it a
	/// random one is printed once at the first start.
	pub(crate) admin_password: Option<String>,
	/// Seconds an access token lives.
	pub(crate) access_token_seconds: i64,
	/// Seconds a refresh token lives.
	pub(crate) refresh_token_seconds: i64,
	/// Login attempts per minute per client address and username.
	pub(crate) login_attempts_per_minute: u32,
	/// Refuse definitions with hard-coded secrets instead of warning.
	pub(crate) reject_hardcoded_secrets: bool,
	/// Open `/ws` connections per user.
	pub(crate) max_ws_per_user: usize,
	/// The most one component attempt may store as output and variables (JSON bytes).
	pub(crate) max_output_bytes: usize,
	/// Seconds a client has to send a request's headers (and to start the next one on a
	/// kept-alive connection): slow or silent clients are cut off.
	pub(crate) header_timeout_seconds: u64,
	/// Connections open at once, in total and from one client address.
	pub(crate) max_connections: usize,
	pub(crate) max_connections_per_address: usize,
	/// Proxies whose `X-Forwarded-For` is believed, comma-separated IP addresses; empty: none.
	pub(crate) trusted_proxies: String,
	/// Settings of the components (file roots, SMTP, the script sandbox).
	pub(crate) components: crate::cli::ComponentSettings,
}

impl Default for Config {
	fn default() -> Self {
		Self {
			bind: "127.0.0.1".to_owned(),
			port: 5000,
			data_dir: PathBuf::from("./data"),
			database_url: None,
			redis_url: None,
			role: "all".to_owned(),
			node_id: None,
			lease_seconds: 30,
			max_executions_per_node: 10_000,
			retention_days: 30,
			synchronous: "full".to_owned(),
			max_concurrent_tasks: 100,
			log_level: "info".to_owned(),
			log_dir: PathBuf::from("./logs"),
			max_body_bytes: 10 * 1024 * 1024,
			max_ws_connections: 1024,
			event_buffer: 65_536,
			shutdown_drain_seconds: 30,
			env: "production".to_owned(),
			debug: false,
			load_examples: false,
			examples_dir: PathBuf::from("./examples"),
			encryption_key: None,
			jwt_secret: None,
			admin_password: None,
			access_token_seconds: 900,
			refresh_token_seconds: 7 * 24 * 3600,
			login_attempts_per_minute: 10,
			reject_hardcoded_secrets: false,
			max_ws_per_user: 16,
			max_output_bytes: apg_engine::DEFAULT_MAX_OUTPUT_BYTES,
			header_timeout_seconds: 10,
			max_connections: 4096,
			max_connections_per_address: 512,
			trusted_proxies: String::new(),
			components: crate::cli::ComponentSettings::default(),
		}
	}
}

impl Config {
	/// Whether this is a development server.
	pub(crate) fn development(&self) -> bool {
		self.env == "development"
	}

	/// Loads the layers; `overrides` holds only the flags given on the command line.
	pub(crate) fn load(
		file: Option<&Path>,
		development: bool,
		overrides: &impl Serialize,
	) -> anyhow::Result<Self> {
		let file = file
			.map(Path::to_path_buf)
			.unwrap_or_else(|| PathBuf::from("config/config.yaml"));
		let mut figment = Figment::from(Serialized::defaults(Config::default()));
		if file.exists() {
			figment = figment.merge(Yaml::file(&file));
		}
		let env_name = std::env::var("APG_ENV").ok();
		let development = development || env_name.as_deref() == Some("development");
		if development {
			let dev = file.with_file_name("config.dev.yaml");
			if dev.exists() {
				figment = figment.merge(Yaml::file(dev));
			}
			figment = figment.merge(Serialized::default("env", "development"));
		}
		figment = figment
			.merge(Env::prefixed("APG_").split("__"))
			.merge(
				Env::raw()
					.only(&["DEBUG", "LOG_LEVEL", "DATABASE_URL", "REDIS_URL"])
					.map(|k| k.as_str().to_lowercase().into()),
			)
			.merge(
				Env::raw()
					.only(&["WORKFLOW_ENCRYPTION_KEY"])
					.map(|_| "encryption_key".into()),
			)
			.merge(Serialized::defaults(overrides));
		let mut config: Config = figment.extract().context("invalid configuration")?;
		if development {
			config.env = "development".to_owned();
		}
		if config.debug {
			config.log_level = "debug".to_owned();
		}
		// A variable set to nothing (`WORKFLOW_ENCRYPTION_KEY=`) means unset, as shells and
		// compose files write it.
		for secret in [
			&mut config.encryption_key,
			&mut config.jwt_secret,
			&mut config.admin_password,
		] {
			if secret.as_deref().is_some_and(|s| s.trim().is_empty()) {
				*secret = None;
			}
		}
		Ok(config)
	}

	/// The Fernet keys: configured, or (embedded default only) generated under the data dir.
	pub(crate) fn keyring(&self) -> anyhow::Result<apg_auth::Keyring> {
		match (&self.encryption_key, &self.database_url) {
			(Some(keys), _) => Ok(apg_auth::Keyring::from_keys(keys)?),
			(None, None) => Ok(apg_auth::Keyring::from_data_dir(&self.data_dir)?),
			(None, Some(_)) => anyhow::bail!(
				"set WORKFLOW_ENCRYPTION_KEY (make one with `apg-workflow keys generate`): every \
				 node sharing a PostgreSQL database must seal secrets with the same key"
			),
		}
	}

	/// Settings of the security layer.
	pub(crate) fn security(&self) -> anyhow::Result<apg_auth::SecurityConfig> {
		if self.jwt_secret.as_ref().is_some_and(|s| s.len() < 32) {
			anyhow::bail!("APG_JWT_SECRET must be at least 32 bytes");
		}
		Ok(apg_auth::SecurityConfig {
			access_ttl: self.access_token_seconds.max(30),
			refresh_ttl: self.refresh_token_seconds.max(60),
			login_attempts_per_minute: self.login_attempts_per_minute.max(1),
			reject_hardcoded_secrets: self.reject_hardcoded_secrets,
			signing_key: self.jwt_secret.as_ref().map(|s| s.as_bytes().to_vec()),
			max_ws_per_user: self.max_ws_per_user.max(1),
			// The `user` CLI writes a SQLite data directory's accounts beside a running server.
			accounts_marker: self
				.database_url
				.is_none()
				.then(|| self.data_dir.join(apg_auth::ACCOUNTS_CHANGED)),
		})
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[derive(Serialize)]
	struct Flags {
		#[serde(skip_serializing_if = "Option::is_none")]
		port: Option<u16>,
	}

	#[test]
	fn flags_beat_the_file_and_the_file_beats_the_defaults() {
		let dir = tempfile::tempdir().unwrap();
		let file = dir.path().join("config.yaml");
		std::fs::write(&file, "port: 6000\nlog_level: warn\n").unwrap();
		let config = Config::load(Some(&file), false, &Flags { port: None }).unwrap();
		assert_eq!((config.port, config.log_level.as_str()), (6000, "warn"));
		let config = Config::load(Some(&file), false, &Flags { port: Some(7000) }).unwrap();
		assert_eq!(config.port, 7000);
		assert_eq!(config.bind, "127.0.0.1", "untouched defaults stay");
	}

	#[test]
	fn development_layers_the_dev_file() {
		let dir = tempfile::tempdir().unwrap();
		std::fs::write(dir.path().join("config.yaml"), "port: 6000\n").unwrap();
		std::fs::write(
			dir.path().join("config.dev.yaml"),
			"log_level: debug\nload_examples: true\n",
		)
		.unwrap();
		let config = Config::load(
			Some(&dir.path().join("config.yaml")),
			true,
			&Flags { port: None },
		)
		.unwrap();
		assert!(config.development() && config.load_examples);
		assert_eq!(config.log_level, "debug");
	}

	#[test]
	fn each_component_crate_reads_its_own_section() {
		let dir = tempfile::tempdir().unwrap();
		let file = dir.path().join("config.yaml");
		let yaml = "components:\n  http_allow: [intranet]\n  files:\n    roots: [/srv/files]\n  \
			script:\n    allow_network: true\n";
		std::fs::write(&file, yaml).unwrap();
		let config = Config::load(Some(&file), false, &Flags { port: None }).unwrap();
		let components = &config.components;
		assert_eq!(components.core.http_allow, ["intranet"]);
		assert_eq!(components.files.roots, [PathBuf::from("/srv/files")]);
		assert!(components.script.allow_network);
		std::fs::write(&file, "components:\n  files:\n    rots: [/x]\n").unwrap();
		let refused = Config::load(Some(&file), false, &Flags { port: None });
		assert!(
			refused.is_err(),
			"a misspelt key of a crate's own section is refused"
		);
	}
}
