//! `database_query`: one SQL statement with bound parameters against PostgreSQL, MySQL/MariaDB or
//! SQLite, outputting rows as JSON objects (`{row_count, columns, rows}`) or, in `execute` mode,
//! `{rows_affected, last_insert_id}`.
//!
//! Decisions:
//! - **The URL comes from a credential**: `connection: "{{secrets.pg_main}}"`, the credential's
//!   value being the whole URL (`postgres://user:password@host:5432/db`). A literal URL carrying
//!   a password (`user:pw@`, or `?password=`) is refused by `check_config`, since it would sit
//!   in clear in the definition, its versions and every export; a literal without one
//!   (`sqlite:///…`, a trust-authenticated host) is allowed. The URL never appears in an error
//!   or log line here: errors name the peer as the checked `address:port` (`target`), and what
//!   the driver says is masked with the URL and its password on top of the engine's masking.
//! - **Peers are guarded** like `http_request`'s (`crate::net`, the same allow-list): the host is
//!   resolved once, refused when internal unless allow-listed, and the pool connects to the
//!   checked address, not to a second lookup. Unix sockets are refused (a local peer by
//!   definition). Consequence: a `sslmode=verify-full` certificate check sees the address.
//! - **SQLite** is a file path, so it is held to the file roots (`components.file_roots`, the
//!   ones `file_operation` and `email` use): after resolving `..` and symlinks the file must lie
//!   inside one, or be `sqlite::memory:`. `?mode=rwc` creates it. `read_only` opens a read-only
//!   pool of its own (SQLite has no read-only transaction).
//! - **Parameters** are bound, never spliced (`params`): `$1`… with a list, `:name` with an
//!   object, rewritten for each driver outside literals and comments. Strings bind as text, so
//!   PostgreSQL wants a cast for other column types (`$1::timestamptz`); `null` binds untyped
//!   there, so it fits any column.
//! - **Types kept** as `rows` documents (numeric as an exact string, timestamps as RFC 3339,
//!   JSON as JSON, bytes as base64).
//! - **Limits**: every statement runs in a transaction (`read_only`: a read-only one) with
//!   `statement_timeout` (seconds, default 30) enforced by the server where it can be
//!   (PostgreSQL `SET LOCAL statement_timeout`, MariaDB `max_statement_time`, MySQL
//!   `max_execution_time`) and by a client-side timeout and SQLite's progress handler; rows are
//!   streamed and the query stops with an error at `max_rows` + 1 (default 1000).
//! - **Retries**: unreachable peer, broken connection, timeout, deadlock/serialization and "too
//!   many connections" are retryable; a refused address, a bad config and SQL errors (with the
//!   database's own message) are not.
//! - **Pools** are cached per URL (`pools`), small, and closed when idle.

mod error;
mod exec;
mod numeric;
mod params;
mod pools;
mod rows;
mod target;

use std::path::PathBuf;
use std::time::Duration;

use async_trait::async_trait;
use serde_json::{Map, Value, json};

use apg_core::{Component, ComponentError, Outcome, Redactor, RunContext};

use crate::Settings;
use crate::net::AllowList;

use error::DbError;
use params::Params;
use pools::Pools;
use target::Backend;

/// `max_rows` when the config gives none.
const DEFAULT_MAX_ROWS: u64 = 1000;
/// `statement_timeout` when the config gives none, in seconds.
const DEFAULT_TIMEOUT: f64 = 30.0;

/// The `database_query` component.
pub struct DatabaseQuery {
	allow: AllowList,
	roots: Vec<PathBuf>,
	pools: Pools,
}

impl DatabaseQuery {
	/// A component with the allow-list and file roots of `settings`.
	pub fn new(settings: &Settings) -> Self {
		Self {
			allow: AllowList::new(settings.http_allow.iter().cloned()),
			roots: settings.file_roots.clone(),
			pools: Pools::default(),
		}
	}
}

#[async_trait]
impl Component for DatabaseQuery {
	fn kind(&self) -> &'static str {
		"database_query"
	}

	fn summary(&self) -> &'static str {
		"Runs SQL with bound parameters on PostgreSQL, MySQL/MariaDB or SQLite and outputs the rows"
	}

	fn config_schema(&self) -> Value {
		json!({
			"type": "object",
			"properties": {
				"connection": {"type": "string", "minLength": 1,
					"description": "The database URL, from a credential: {{secrets.<name>}} \
						whose value is postgres://user:password@host:5432/db, mysql://… (MariaDB \
						too) or sqlite:///path/in/a/file/root.db. A literal URL with a password \
						is refused"},
				"query": {"type": "string", "minLength": 1,
					"description": "One SQL statement; placeholders $1, $2… (or ? on MySQL and \
						SQLite) with a list of parameters, :name with an object"},
				"parameters": {"description": "Values bound to the placeholders: a list for \
					$1… / ?, an object for :name; may be an expression"},
				"mode": {"type": "string", "enum": ["query", "execute"], "default": "query",
					"description": "query: output the rows; execute: output rows_affected (and \
						last_insert_id on MySQL and SQLite)"},
				"read_only": {"type": "boolean", "default": false,
					"description": "Run in a read-only transaction, so a write fails"},
				"statement_timeout": {"type": "number", "exclusiveMinimum": 0, "maximum": 3600,
					"default": DEFAULT_TIMEOUT,
					"description": "Seconds the statement may run before it is stopped \
						(retryable)"},
				"json_columns": {"type": "array", "items": {"type": "string"},
					"description": "Columns whose text is parsed as JSON (MariaDB sends JSON \
						columns as text)"},
				"max_rows": {"type": "integer", "minimum": 1, "maximum": 1_000_000,
					"default": DEFAULT_MAX_ROWS,
					"description": "The most rows a query may return; more is an error (page with \
						LIMIT/OFFSET)"}
			},
			"required": ["connection", "query"]
		})
	}

	fn check_config(&self, config: &Map<String, Value>) -> Vec<(String, String)> {
		let mut problems = Vec::new();
		if let Some(url) = config.get("connection").and_then(Value::as_str)
			&& !crate::is_template(&Value::String(url.to_owned()))
		{
			if target::has_password(url) {
				problems.push((
					"connection".to_owned(),
					"holds a password in clear: store the URL as a credential and write \
					 {{secrets.<name>}}"
						.to_owned(),
				));
			} else if let Err(e) = target::backend(url) {
				problems.push(("connection".to_owned(), strip_field(&e.to_string())));
			}
		}
		match config.get("parameters") {
			None | Some(Value::Null | Value::Array(_) | Value::Object(_)) => {}
			Some(p) if crate::is_template(p) => {}
			Some(_) => problems.push((
				"parameters".to_owned(),
				"must be a list (for $1…) or an object (for :name)".to_owned(),
			)),
		}
		problems
	}

	async fn run(
		&self,
		_ctx: &RunContext,
		config: &Value,
		_input: Value,
	) -> Result<Outcome, ComponentError> {
		let url = config
			.get("connection")
			.and_then(Value::as_str)
			.ok_or_else(|| ComponentError::Fatal("connection is required".to_owned()))?;
		let redactor = url_redactor(url);
		self.query(url, config)
			.await
			.map(Outcome::output)
			.map_err(|e| match ComponentError::from(e) {
				ComponentError::Retryable(m) => ComponentError::Retryable(redactor.text(&m)),
				ComponentError::Fatal(m) => ComponentError::Fatal(redactor.text(&m)),
			})
	}
}

impl DatabaseQuery {
	async fn query(&self, url: &str, config: &Value) -> Result<Value, DbError> {
		let sql = config
			.get("query")
			.and_then(Value::as_str)
			.ok_or_else(|| DbError::Config("query is required".to_owned()))?;
		let params = match config.get("parameters") {
			None | Some(Value::Null) => Params::None,
			Some(Value::Array(list)) => Params::List(list),
			Some(Value::Object(map)) => Params::Named(map),
			Some(_) => {
				return Err(DbError::Config(
					"parameters: must be a list (for $1…) or an object (for :name)".to_owned(),
				));
			}
		};
		let execute = match config.get("mode").and_then(Value::as_str) {
			None | Some("query") => false,
			Some("execute") => true,
			Some(other) => {
				return Err(DbError::Config(format!(
					"mode: must be query or execute, not {other}"
				)));
			}
		};
		let read_only = config
			.get("read_only")
			.and_then(Value::as_bool)
			.unwrap_or(false);
		let timeout = config
			.get("statement_timeout")
			.and_then(Value::as_f64)
			.unwrap_or(DEFAULT_TIMEOUT);
		if !(timeout > 0.0 && timeout <= 3600.0) {
			return Err(DbError::Config(
				"statement_timeout: must be above 0 and at most 3600 seconds".to_owned(),
			));
		}
		let max_rows = config
			.get("max_rows")
			.and_then(Value::as_u64)
			.unwrap_or(DEFAULT_MAX_ROWS)
			.clamp(1, 1_000_000);
		let json_columns = match config.get("json_columns") {
			None | Some(Value::Null) => Vec::new(),
			Some(Value::Array(names)) => names
				.iter()
				.map(|n| n.as_str().map(str::to_owned))
				.collect::<Option<Vec<_>>>()
				.ok_or_else(|| DbError::Config("json_columns: must be column names".to_owned()))?,
			Some(_) => {
				return Err(DbError::Config(
					"json_columns: must be a list of column names".to_owned(),
				));
			}
		};
		let backend = target::backend(url)?;
		let bound = params::bind(sql, &params, backend)?;
		// PostgreSQL and MySQL enforce read-only in the transaction; SQLite needs its own pool.
		let key = target::key(url, read_only && backend == Backend::Sqlite);
		let pool = match self.pools.get(&key) {
			Some(pool) => pool,
			None => {
				let target = target::resolve(url, read_only, &self.allow, &self.roots).await?;
				self.pools.insert(key, target)
			}
		};
		let statement = exec::Statement {
			bound,
			execute,
			read_only,
			timeout: Duration::from_secs_f64(timeout),
			max_rows: usize::try_from(max_rows).unwrap_or(usize::MAX),
			json_columns,
			peer: peer(&pool),
		};
		exec::run(&pool, &statement).await
	}
}

/// `address:port` of a network pool (the checked address it was pinned to), or `SQLite`.
fn peer(pool: &pools::Pool) -> String {
	match pool {
		pools::Pool::Postgres(p) => {
			let o = p.connect_options();
			format!("{}:{}", o.get_host(), o.get_port())
		}
		pools::Pool::MySql(p) => {
			let o = p.connect_options();
			format!("{}:{}", o.get_host(), o.get_port())
		}
		pools::Pool::Sqlite(_) => "SQLite".to_owned(),
	}
}

/// Masks the URL and its password (raw and percent-decoded) wherever a driver quotes them.
fn url_redactor(url: &str) -> Redactor {
	let mut secrets = vec![url.to_owned()];
	if let Ok(parsed) = reqwest::Url::parse(url)
		&& let Some(password) = parsed.password()
	{
		secrets.push(password.to_owned());
		let decoded: String = percent_decode(password);
		secrets.push(decoded);
	}
	Redactor::new(secrets)
}

fn percent_decode(text: &str) -> String {
	let bytes = text.as_bytes();
	let mut out = Vec::with_capacity(bytes.len());
	let mut i = 0;
	while i < bytes.len() {
		if bytes[i] == b'%'
			&& let Some(b) = text
				.get(i + 1..i + 3)
				.and_then(|h| u8::from_str_radix(h, 16).ok())
		{
			out.push(b);
			i += 3;
			continue;
		}
		out.push(bytes[i]);
		i += 1;
	}
	String::from_utf8_lossy(&out).into_owned()
}

/// `connection: message` → `message`, for `check_config`, which gives the path apart.
fn strip_field(message: &str) -> String {
	message
		.strip_prefix("connection: ")
		.unwrap_or(message)
		.to_owned()
}
