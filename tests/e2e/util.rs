//! Running the binary.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

/// The first admin's password of every server a test starts (`APG_ADMIN_PASSWORD`).
pub(crate) const ADMIN_PASSWORD: &str = "e2e-admin-password";

/// The Fernet key of every server a test starts (nodes of one cluster must share it).
pub(crate) const ENCRYPTION_KEY: &str = "t4ZeX1R1_fYpi4l7hOcd6wkJW5VAJ-zNwRFUUtUc2wE=";

/// The binary under test, with the test admin password and encryption key.
pub(crate) fn bin() -> Command {
	let mut cmd = Command::new(env!("CARGO_BIN_EXE_apg-workflow"));
	cmd.env_remove("LOG_LEVEL")
		.env_remove("RUST_LOG")
		.env("APG_ADMIN_PASSWORD", ADMIN_PASSWORD)
		.env("WORKFLOW_ENCRYPTION_KEY", ENCRYPTION_KEY);
	cmd
}

/// Logs in as `username` and returns the access token.
pub(crate) async fn token(base: &str, username: &str, password: &str) -> String {
	let response = reqwest::Client::new()
		.post(format!("{base}/api/v1/auth/login"))
		.json(&serde_json::json!({"username": username, "password": password}))
		.send()
		.await
		.unwrap();
	let status = response.status();
	let body: serde_json::Value = response.json().await.unwrap();
	assert_eq!(status, 200, "login of {username}: {body}");
	body["data"]["access_token"].as_str().unwrap().to_owned()
}

/// A client that sends `token` with every request.
pub(crate) fn client_with(token: &str) -> reqwest::Client {
	let mut headers = reqwest::header::HeaderMap::new();
	headers.insert(
		reqwest::header::AUTHORIZATION,
		format!("Bearer {token}").parse().unwrap(),
	);
	reqwest::Client::builder()
		.default_headers(headers)
		.build()
		.unwrap()
}

/// A client logged in as the first admin of the server at `base`.
pub(crate) async fn admin_client(base: &str) -> reqwest::Client {
	client_with(&token(base, "admin", ADMIN_PASSWORD).await)
}

/// `ws://…/path?access_token=…` for the server at `base`, as the first admin.
pub(crate) async fn admin_ws_url(base: &str, path: &str) -> String {
	let token = token(base, "admin", ADMIN_PASSWORD).await;
	format!(
		"{}{path}?access_token={token}",
		base.replacen("http://", "ws://", 1)
	)
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

/// Starts `serve` as `command` describes and returns it with its base URL, read from the line
/// it prints once it listens. Its stderr keeps being drained so it never blocks on the pipe.
pub(crate) fn start_listening(mut command: Command) -> (Child, String) {
	let mut child = command
		.stdout(Stdio::null())
		.stderr(Stdio::piped())
		.spawn()
		.unwrap();
	let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
	let base = loop {
		let line = lines
			.next()
			.expect("the server exits before listening")
			.unwrap();
		if let Some(rest) = line.split("listening on ").nth(1) {
			break rest.split_whitespace().next().unwrap().to_owned();
		}
	};
	std::thread::spawn(move || for _ in lines {});
	(child, base)
}

/// A fresh schema of `APG_TEST_DATABASE_URL` for one test; dropped with everything in it when
/// this value is dropped (declare it before the servers that use it, so they stop first).
pub(crate) struct PgSchema {
	/// The server's URL.
	pub(crate) url: String,
	/// The schema's name.
	pub(crate) name: String,
	/// A database URL whose connections use the schema (for `--database-url`).
	pub(crate) database: String,
}

impl PgSchema {
	/// A new schema named `<prefix>_<uuid>`, or `None` when `APG_TEST_DATABASE_URL` is not set.
	pub(crate) async fn create(prefix: &str) -> Option<Self> {
		use sqlx::Connection;
		let url = std::env::var("APG_TEST_DATABASE_URL").ok()?;
		let mut conn = sqlx::PgConnection::connect(&url)
			.await
			.expect("APG_TEST_DATABASE_URL is set but PostgreSQL is unreachable");
		let name = format!("{prefix}_{}", uuid::Uuid::now_v7().simple());
		sqlx::query(&format!("CREATE SCHEMA {name}"))
			.execute(&mut conn)
			.await
			.unwrap();
		let separator = if url.contains('?') { '&' } else { '?' };
		let database = format!("{url}{separator}options=-c%20search_path%3D{name}");
		Some(Self {
			url,
			name,
			database,
		})
	}

	/// A connection that reads and writes the schema.
	pub(crate) async fn admin(&self) -> sqlx::PgConnection {
		use sqlx::Connection;
		let mut conn = sqlx::PgConnection::connect(&self.url).await.unwrap();
		sqlx::query(&format!("SET search_path TO {}", self.name))
			.execute(&mut conn)
			.await
			.unwrap();
		conn
	}
}

impl Drop for PgSchema {
	fn drop(&mut self) {
		let (url, name) = (self.url.clone(), self.name.clone());
		// Drop runs inside the test's runtime, which cannot block on itself.
		let _ = std::thread::spawn(move || {
			use sqlx::Connection;
			let rt = tokio::runtime::Builder::new_current_thread()
				.enable_all()
				.build()
				.unwrap();
			rt.block_on(async {
				if let Ok(mut conn) = sqlx::PgConnection::connect(&url).await {
					let drop = format!("DROP SCHEMA IF EXISTS {name} CASCADE");
					let _ = sqlx::query(&drop).execute(&mut conn).await;
				}
			});
		})
		.join();
	}
}
