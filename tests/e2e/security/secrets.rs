//! Credentials and keys: values write-only and never stored in clear (SQLite file and WAL,
//! `pg_dump`), a wrong key or a tampered token failing clearly, CLI users and key rotation.

use super::*;

async fn secrets_stay_secret(
	server: &Server,
	admin: &reqwest::Client,
	echo: &str,
) -> (String, String, String) {
	let secret = format!("CRED-{}", uuid::Uuid::now_v7().simple());
	let sealed = format!("FIELD-{}", uuid::Uuid::now_v7().simple());
	let r = admin
		.post(server.url("/api/v1/credentials"))
		.json(&json!({"name": "api", "value": secret, "description": "echo"}))
		.send()
		.await
		.unwrap();
	assert_eq!(r.status(), 201);
	let created: Value = r.json().await.unwrap();
	assert_eq!(created["data"]["value"], "***");
	let cred_id = created["data"]["id"].as_str().unwrap().to_owned();
	for path in [
		"/api/v1/credentials".to_owned(),
		format!("/api/v1/credentials/{cred_id}"),
	] {
		let text = get_text(admin, server.url(&path)).await;
		assert!(!text.contains(&secret), "{path} returned the value");
	}
	let wf = json!({"name": "uses secrets", "definition": {
		"components": [
			{"id": "start", "type": "start"},
			{"id": "call", "type": "http_request", "config": {"url": echo, "method": "GET",
				"headers": {"X-Api": "{{secrets.api}}"}, "auth": {"token": sealed}}},
			{"id": "say", "type": "task", "config": {"task_type": "echo",
				"message": "key={{secrets.api}}"}},
			{"id": "end", "type": "end"}
		],
		"connections": [{"source": "start", "target": "call"}, {"source": "call", "target": "say"},
			{"source": "say", "target": "end"}]
	}});
	let r = admin
		.post(server.url("/api/v1/workflows"))
		.json(&wf)
		.send()
		.await
		.unwrap();
	let text = r.text().await.unwrap();
	assert!(
		!text.contains(&sealed),
		"the sealed field came back: {text}"
	);
	let body: Value = serde_json::from_str(&text).unwrap();
	assert_eq!(
		body["data"]["definition"]["components"][1]["config"]["auth"]["token"], "***",
		"{body}"
	);
	let wf_id = body["data"]["id"].as_str().unwrap().to_owned();
	let exec = execute(server, admin, &wf_id).await;
	let ended = wait_ended(server, admin, &exec).await;
	(wf_id, exec, format!("{secret}|{sealed}|{ended}"))
}

/// The embedded default: no `WORKFLOW_ENCRYPTION_KEY` (empty means unset), so the server uses
/// the key it generates under the data dir.
const DEFAULT_KEY: &[(&str, &str)] = &[
	("APG_HTTP_ALLOW", "127.0.0.1"),
	("WORKFLOW_ENCRYPTION_KEY", ""),
];

async fn credentials_are_write_only_and_sealed_at_rest() {
	let (echo, seen) = echo_server();
	let dir = tempfile::tempdir().unwrap();
	let data = dir.path().join("data");
	let server = Server::start_in(&data, DEFAULT_KEY);
	let admin = admin_client(&server.base).await;
	let (_, exec, facts) = secrets_stay_secret(&server, &admin, &echo).await;
	let parts: Vec<&str> = facts.splitn(3, '|').collect();
	let (secret, sealed, ended) = (parts[0], parts[1], parts[2]);
	assert!(ended.contains("\"completed\""), "{ended}");
	// The component really got the secret…
	let received = seen.lock().unwrap().clone();
	assert!(
		received.contains(secret) && received.contains(&format!("Bearer {sealed}")),
		"{received}"
	);
	// …and nothing it returned kept it.
	for path in [
		format!("/api/v1/executions/{exec}"),
		format!("/api/v1/executions/{exec}/logs"),
		format!("/api/v1/executions/{exec}/trace"),
	] {
		let text = get_text(&admin, server.url(&path)).await;
		assert!(
			!text.contains(secret) && !text.contains(sealed),
			"{path}: {text}"
		);
		assert!(
			path.ends_with("logs") || text.contains("***"),
			"{path} shows the mask"
		);
	}
	let bytes = sqlite_bytes(&data);
	assert!(bytes.len() > 10_000);
	assert_eq!(
		occurrences(&bytes, secret),
		0,
		"credential in the SQLite files"
	);
	assert_eq!(
		occurrences(&bytes, sealed),
		0,
		"sealed field in the SQLite files"
	);
	// The embedded default generated its key file, private.
	#[cfg(unix)]
	{
		use std::os::unix::fs::PermissionsExt;
		let key = data.join("encryption.key");
		assert_eq!(
			std::fs::metadata(key).unwrap().permissions().mode() & 0o777,
			0o600
		);
	}
	drop(server);
	// A wrong key: the server starts, logins work, the step that needs the secret fails with a
	// clear message (never a 500).
	let other = Keyring::generate_key();
	let server = Server::start_in(
		&data,
		&[
			("APG_HTTP_ALLOW", "127.0.0.1"),
			("WORKFLOW_ENCRYPTION_KEY", &other),
		],
	);
	let admin = admin_client(&server.base).await;
	let list: Value = get_json(&admin, server.url("/api/v1/workflows")).await;
	let wf_id = list["data"][0]["id"].as_str().unwrap().to_owned();
	let exec = execute(&server, &admin, &wf_id).await;
	let ended = wait_ended(&server, &admin, &exec).await;
	assert_eq!(ended["status"], "failed", "{ended}");
	let error = ended["error_message"].to_string() + &ended.to_string();
	assert!(error.contains("cannot decrypt"), "{error}");
	drop(server);
	// A tampered token with the right key: the same clear failure.
	{
		use sqlx::{Connection, SqliteConnection};
		let db = std::fs::read_dir(&data)
			.unwrap()
			.flatten()
			.map(|e| e.path())
			.find(|p| p.extension().is_some_and(|x| x == "db"))
			.unwrap();
		let mut conn = SqliteConnection::connect(&format!("sqlite://{}", db.display()))
			.await
			.unwrap();
		sqlx::query(
			"UPDATE credentials SET token = substr(token, 1, 30) || 'AAAA' || substr(token, 35)",
		)
		.execute(&mut conn)
		.await
		.unwrap();
	}
	let server = Server::start_in(&data, DEFAULT_KEY);
	let admin = admin_client(&server.base).await;
	let exec = execute(&server, &admin, &wf_id).await;
	let ended = wait_ended(&server, &admin, &exec).await;
	assert_eq!(ended["status"], "failed", "{ended}");
	assert!(ended.to_string().contains("cannot decrypt"), "{ended}");
}

async fn postgres_holds_no_clear_secret() {
	let Some(server) = Server::start_postgres_with(&[("APG_HTTP_ALLOW", "127.0.0.1")]).await else {
		eprintln!("skipped: APG_TEST_DATABASE_URL is not set");
		return;
	};
	let (echo, _) = echo_server();
	let admin = admin_client(&server.base).await;
	let (_, _, facts) = secrets_stay_secret(&server, &admin, &echo).await;
	let parts: Vec<&str> = facts.splitn(3, '|').collect();
	let (url, schema) = server.pg().unwrap();
	let dump = std::process::Command::new("pg_dump")
		.args(["--dbname", &url, "--schema", &schema, "--data-only"])
		.output()
		.expect("pg_dump runs");
	assert!(
		dump.status.success(),
		"{}",
		String::from_utf8_lossy(&dump.stderr)
	);
	assert!(dump.stdout.len() > 1000);
	assert!(String::from_utf8_lossy(&dump.stdout).contains("fernet:"));
	assert_eq!(
		occurrences(&dump.stdout, parts[0]),
		0,
		"credential in pg_dump"
	);
	assert_eq!(
		occurrences(&dump.stdout, parts[1]),
		0,
		"sealed field in pg_dump"
	);
}

#[tokio::test(flavor = "multi_thread")]
async fn credentials_are_write_only_and_never_stored_in_clear_on_sqlite() {
	credentials_are_write_only_and_sealed_at_rest().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn postgres_dump_holds_no_clear_secret() {
	postgres_holds_no_clear_secret().await;
}

/// Runs the binary with `args` and `stdin`, returning (exit code, stdout).
fn cli(args: &[&str], env: &[(&str, &str)], stdin: &str) -> (i32, String) {
	use std::io::Write;
	let mut child = crate::util::bin()
		.args(args)
		.envs(env.iter().copied())
		.stdin(std::process::Stdio::piped())
		.stdout(std::process::Stdio::piped())
		.stderr(std::process::Stdio::piped())
		.spawn()
		.unwrap();
	child
		.stdin
		.take()
		.unwrap()
		.write_all(stdin.as_bytes())
		.unwrap();
	let out = child.wait_with_output().unwrap();
	(out.status.code().unwrap_or(-1), crate::util::text(&out))
}

#[tokio::test(flavor = "multi_thread")]
async fn users_are_managed_from_the_cli_and_keys_rotate_without_losing_a_secret() {
	let dir = tempfile::tempdir().unwrap();
	let data = dir.path().join("data");
	let d = data.to_str().unwrap();
	let old = Keyring::generate_key();
	let new = Keyring::generate_key();
	// Users straight in the store, before any server ran.
	let (code, out) = cli(
		&[
			"user",
			"create",
			"carol",
			"--role",
			"operator",
			"--password-stdin",
			"--data-dir",
			d,
		],
		&[],
		"carol-password-1\n",
	);
	assert_eq!(code, 0, "{out}");
	let (code, out) = cli(&["user", "create", "dave", "--data-dir", d], &[], "");
	assert_eq!(code, 0, "{out}");
	let generated = out
		.lines()
		.find_map(|l| l.strip_prefix("password: "))
		.unwrap()
		.to_owned();
	let (code, out) = cli(&["user", "create", "x", "--data-dir", d], &[], "");
	assert_ne!(code, 0, "a too-short username is refused: {out}");
	let (code, out) = cli(&["user", "create", "carol", "--data-dir", d], &[], "");
	assert_ne!(code, 0, "a taken username is refused: {out}");
	let (code, out) = cli(&["user", "list", "--data-dir", d], &[], "");
	assert!(
		code == 0 && out.contains("carol\toperator") && out.contains("dave\teditor"),
		"{out}"
	);

	// A server with the old key: users exist, so no admin is made; carol and dave log in.
	let env_old = [
		("WORKFLOW_ENCRYPTION_KEY", old.as_str()),
		("APG_HTTP_ALLOW", "127.0.0.1"),
	];
	let server = Server::start_in(&data, &env_old);
	let r = reqwest::Client::new()
		.post(server.url("/api/v1/auth/login"))
		.json(&json!({"username": "admin", "password": crate::util::ADMIN_PASSWORD}));
	assert_eq!(status(r).await, 401, "no admin was created: users existed");
	token(&server.base, "carol", "carol-password-1").await;
	let dave = client_with(&token(&server.base, "dave", &generated).await);
	let (echo, seen) = echo_server();
	let r = dave
		.post(server.url("/api/v1/credentials"))
		.json(&json!({"name": "api", "value": "rotate-me-please"}))
		.send()
		.await
		.unwrap();
	assert_eq!(r.status(), 201);
	let wf = json!({"name": "rotating", "definition": {
		"components": [{"id": "start", "type": "start"},
			{"id": "call", "type": "http_request", "config": {"url": echo,
				"headers": {"X-Api": "{{secrets.api}}"}, "auth": {"token": "sealed-field-value"}}}],
		"connections": [{"source": "start", "target": "call"}]}});
	let body: Value = dave
		.post(server.url("/api/v1/workflows"))
		.json(&wf)
		.send()
		.await
		.unwrap()
		.json()
		.await
		.unwrap();
	let wf_id = body["data"]["id"].as_str().unwrap().to_owned();
	let exec = execute(&server, &dave, &wf_id).await;
	assert_eq!(
		wait_ended(&server, &dave, &exec).await["status"],
		"completed"
	);
	drop(server);

	// Rotation: the new key first, the old one after; reseal; then the old key alone is gone.
	let both = format!("{new},{old}");
	let (code, out) = cli(
		&["keys", "reseal", "--data-dir", d],
		&[("WORKFLOW_ENCRYPTION_KEY", &both)],
		"",
	);
	assert_eq!(code, 0, "{out}");
	assert!(
		out.contains("resealed 1 credentials and 1 workflows"),
		"{out}"
	);
	let env_new = [
		("WORKFLOW_ENCRYPTION_KEY", new.as_str()),
		("APG_HTTP_ALLOW", "127.0.0.1"),
	];
	let server = Server::start_in(&data, &env_new);
	let dave = client_with(&token(&server.base, "dave", &generated).await);
	seen.lock().unwrap().clear();
	let exec = execute(&server, &dave, &wf_id).await;
	let ended = wait_ended(&server, &dave, &exec).await;
	assert_eq!(ended["status"], "completed", "{ended}");
	let received = seen.lock().unwrap().clone();
	assert!(
		received.contains("rotate-me-please") && received.contains("sealed-field-value"),
		"{received}"
	);
	// A new password from the CLI works at once, the old one no longer does.
	let (code, out) = cli(
		&[
			"user",
			"passwd",
			"dave",
			"--password-stdin",
			"--data-dir",
			d,
		],
		&[],
		"dave-new-password\n",
	);
	assert_eq!(code, 0, "{out}");
	token(&server.base, "dave", "dave-new-password").await;
	let r = reqwest::Client::new()
		.post(server.url("/api/v1/auth/login"))
		.json(&json!({"username": "dave", "password": generated}));
	assert_eq!(status(r).await, 401);
}
