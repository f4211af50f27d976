//! `database_query` against real databases: SQLite in a temporary directory always, PostgreSQL
//! (`APG_TEST_DATABASE_URL`) and MariaDB/MySQL (`APG_TEST_MYSQL_URL`) when set (CI sets both).
//! Each PostgreSQL and MySQL test works in a schema or table of its own and drops it.

mod common;

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use apg_components::DatabaseQuery;
use apg_core::{Component, ComponentError};

use common::{env_or_skip, loopback, run, unique};

/// A component allowed to reach loopback, with `root` as its only file root.
fn component(root: &std::path::Path) -> DatabaseQuery {
	DatabaseQuery::new(&loopback(vec![root.to_owned()]))
}

async fn rows(c: &dyn Component, url: &str, sql: &str, params: Value) -> Vec<Value> {
	let out = run(
		c,
		json!({"connection": url, "query": sql, "parameters": params}),
	)
	.await
	.unwrap_or_else(|e| panic!("{sql}: {e}"));
	out.output["rows"].as_array().expect("rows").clone()
}

async fn exec(c: &dyn Component, url: &str, sql: &str, params: Value) -> Value {
	run(
		c,
		json!({"connection": url, "query": sql, "parameters": params, "mode": "execute"}),
	)
	.await
	.unwrap_or_else(|e| panic!("{sql}: {e}"))
	.output
}

async fn fails(c: &dyn Component, config: Value) -> ComponentError {
	match run(c, config.clone()).await {
		Ok(out) => panic!("{config} succeeded: {}", out.output),
		Err(e) => e,
	}
}

// ---------------------------------------------------------------- SQLite

fn sqlite_url(dir: &tempfile::TempDir) -> String {
	format!("sqlite://{}/test.db?mode=rwc", dir.path().display())
}

#[tokio::test]
async fn sqlite_round_trips_every_type_with_named_and_positional_parameters() {
	let dir = tempfile::tempdir().unwrap();
	let c = component(dir.path());
	let url = sqlite_url(&dir);
	exec(
		&c,
		&url,
		"CREATE TABLE t (i INTEGER, f REAL, b BOOLEAN, n TEXT, s TEXT, ts DATETIME, j TEXT, \
		 d NUMERIC, by BLOB)",
		Value::Null,
	)
	.await;
	let out = exec(
		&c,
		&url,
		"INSERT INTO t VALUES (:i, :f, :b, :n, :s, :ts, :j, :d, x'00ff10')",
		json!({"i": 42, "f": 2.5, "b": true, "n": null, "s": "it's :not_a_param",
			"ts": "2024-01-02T03:04:05Z", "j": {"a": [1, 2]}, "d": 12.75}),
	)
	.await;
	assert_eq!(out["rows_affected"], 1);
	assert_eq!(out["last_insert_id"], 1);
	let got = rows(
		&c,
		&url,
		"SELECT * FROM t WHERE i = $1 AND s = $2",
		json!([42, "it's :not_a_param"]),
	)
	.await;
	assert_eq!(
		got,
		[
			json!({"i": 42, "f": 2.5, "b": true, "n": null, "s": "it's :not_a_param",
			"ts": "2024-01-02T03:04:05Z", "j": "{\"a\":[1,2]}", "d": 12.75, "by": "AP8Q"})
		]
	);
	let got = rows(&c, &url, "SELECT ':x' AS lit, ? AS q", json!(["v"])).await;
	assert_eq!(got, [json!({"lit": ":x", "q": "v"})]);
}

#[tokio::test]
async fn sqlite_read_only_refuses_a_write_and_execute_counts_rows() {
	let dir = tempfile::tempdir().unwrap();
	let c = component(dir.path());
	let url = sqlite_url(&dir);
	exec(&c, &url, "CREATE TABLE t (x INTEGER)", Value::Null).await;
	let out = exec(&c, &url, "INSERT INTO t VALUES (1), (2), (3)", Value::Null).await;
	assert_eq!(out["rows_affected"], 3);
	let out = exec(&c, &url, "UPDATE t SET x = x + 1 WHERE x > 1", Value::Null).await;
	assert_eq!(out["rows_affected"], 2);
	let e = fails(
		&c,
		json!({"connection": url, "query": "DELETE FROM t", "read_only": true, "mode": "execute"}),
	)
	.await;
	assert!(!e.is_retryable(), "{e}");
	assert!(e.to_string().contains("readonly"), "{e}");
	let got = rows(&c, &url, "SELECT count(*) AS n FROM t", Value::Null).await;
	assert_eq!(got, [json!({"n": 3})]);
	let ro = json!({"connection": url, "query": "SELECT count(*) AS n FROM t", "read_only": true});
	assert_eq!(run(&c, ro).await.unwrap().output["rows"], json!([{"n": 3}]));
}

#[tokio::test]
async fn sqlite_statement_timeout_interrupts_a_runaway_query() {
	let dir = tempfile::tempdir().unwrap();
	let c = component(dir.path());
	let started = Instant::now();
	let e = fails(
		&c,
		json!({"connection": sqlite_url(&dir), "statement_timeout": 0.5,
			"query": "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) \
				SELECT count(*) FROM c"}),
	)
	.await;
	assert!(e.to_string().contains("statement_timeout (0.5s)"), "{e}");
	assert!(e.is_retryable());
	assert!(
		started.elapsed() < Duration::from_secs(2),
		"{:?}",
		started.elapsed()
	);
	// The connection was not left in a bad state for the next step.
	let got = rows(&c, &sqlite_url(&dir), "SELECT 1 AS one", Value::Null).await;
	assert_eq!(got, [json!({"one": 1})]);
}

#[tokio::test]
async fn sqlite_more_rows_than_max_rows_is_a_clear_error() {
	let dir = tempfile::tempdir().unwrap();
	let c = component(dir.path());
	let sql = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT x FROM c";
	let e = fails(
		&c,
		json!({"connection": sqlite_url(&dir), "query": sql, "max_rows": 10}),
	)
	.await;
	assert!(
		e.to_string().contains("more than max_rows (10) rows"),
		"{e}"
	);
	assert!(!e.is_retryable());
	let out = run(
		&c,
		json!({"connection": sqlite_url(&dir), "query": format!("{sql} LIMIT 10"), "max_rows": 10}),
	)
	.await
	.unwrap();
	assert_eq!(out.output["row_count"], 10);
	assert_eq!(out.output["columns"], json!(["x"]));
}

#[tokio::test]
async fn sqlite_bad_sql_fails_with_the_database_message() {
	let dir = tempfile::tempdir().unwrap();
	let c = component(dir.path());
	let e = fails(
		&c,
		json!({"connection": sqlite_url(&dir), "query": "SELEC 1"}),
	)
	.await;
	assert!(!e.is_retryable());
	assert!(e.to_string().contains("syntax error"), "{e}");
	let e = fails(
		&c,
		json!({"connection": sqlite_url(&dir), "query": "SELECT :a"}),
	)
	.await;
	assert!(e.to_string().contains("parameters"), "{e}");
}

#[tokio::test]
async fn a_sqlite_file_outside_the_file_roots_is_refused() {
	let root = tempfile::tempdir().unwrap();
	let other = tempfile::tempdir().unwrap();
	let c = component(root.path());
	let e = fails(
		&c,
		json!({"connection": sqlite_url(&other), "query": "SELECT 1"}),
	)
	.await;
	assert!(e.to_string().contains("inside the file roots"), "{e}");
	assert!(!other.path().join("test.db").exists());
}

#[test]
fn a_literal_url_with_a_password_is_refused_by_check_config() {
	let dir = tempfile::tempdir().unwrap();
	let c = component(dir.path());
	let check = |url: &str| {
		let config = json!({"connection": url, "query": "SELECT 1"});
		c.check_config(config.as_object().unwrap())
	};
	let found = check("postgres://app:hunter2@db.example.com/app");
	assert_eq!(found.len(), 1, "{found:?}");
	assert!(found[0].1.contains("{{secrets.<name>}}"), "{found:?}");
	assert!(!found[0].1.contains("hunter2"));
	assert!(check("{{secrets.pg_main}}").is_empty());
	assert!(check("sqlite:///tmp/x.db").is_empty());
	assert_eq!(check("redis://x").len(), 1);
}

// ---------------------------------------------------------------- PostgreSQL

#[tokio::test]
async fn postgres_round_trips_every_type() {
	let Some(url) = env_or_skip("APG_TEST_DATABASE_URL") else {
		return;
	};
	let dir = tempfile::tempdir().unwrap();
	let c = component(dir.path());
	let schema = unique("apg_dbq");
	exec(&c, &url, &format!("CREATE SCHEMA {schema}"), Value::Null).await;
	let table = format!("{schema}.t");
	exec(
		&c,
		&url,
		&format!(
			"CREATE TABLE {table} (id serial, i int4, big int8, f float8, b bool, n int4, \
			 s text, ts timestamptz, naive timestamp, j jsonb, d numeric, by bytea, day date)"
		),
		Value::Null,
	)
	.await;
	let out = exec(
		&c,
		&url,
		&format!(
			"INSERT INTO {table} (i, big, f, b, n, s, ts, naive, j, d, by, day) VALUES \
			 (:i, :big, :f, :b, :n, :s, :ts::timestamptz, '2024-01-02 03:04:05.5', :j, \
			 :d::numeric, '\\x00ff10', '2024-02-29')"
		),
		json!({"i": 7, "big": 9_007_199_254_740_993_i64, "f": 2.5, "b": true, "n": null,
			"s": "it's :x", "ts": "2024-01-02T03:04:05+02:00", "j": {"a": [1, null]},
			"d": "12345678901234567890.01"}),
	)
	.await;
	assert_eq!(out["rows_affected"], 1);
	let got = rows(
		&c,
		&url,
		&format!("SELECT i, big, f, b, n, s, ts, naive, j, d, by, day FROM {table} WHERE i = $1"),
		json!([7]),
	)
	.await;
	exec(
		&c,
		&url,
		&format!("DROP SCHEMA {schema} CASCADE"),
		Value::Null,
	)
	.await;
	assert_eq!(
		got,
		[
			json!({"i": 7, "big": 9_007_199_254_740_993_i64, "f": 2.5, "b": true, "n": null,
			"s": "it's :x", "ts": "2024-01-02T01:04:05Z", "naive": "2024-01-02T03:04:05.500",
			"j": {"a": [1, null]}, "d": "12345678901234567890.01", "by": "AP8Q",
			"day": "2024-02-29"})
		]
	);
}

#[tokio::test]
async fn postgres_read_only_timeout_max_rows_and_errors() {
	let Some(url) = env_or_skip("APG_TEST_DATABASE_URL") else {
		return;
	};
	let dir = tempfile::tempdir().unwrap();
	let c = component(dir.path());
	let table = unique("apg_dbq_ro");
	exec(
		&c,
		&url,
		&format!("CREATE TABLE {table} (x int)"),
		Value::Null,
	)
	.await;
	let out = exec(
		&c,
		&url,
		&format!("INSERT INTO {table} VALUES (1), (2)"),
		Value::Null,
	)
	.await;
	assert_eq!(out["rows_affected"], 2);
	let e = fails(
		&c,
		json!({"connection": url, "query": format!("DELETE FROM {table}"), "read_only": true,
			"mode": "execute"}),
	)
	.await;
	assert!(e.to_string().contains("read-only transaction"), "{e}");
	assert!(!e.is_retryable());
	let got = rows(
		&c,
		&url,
		&format!("SELECT count(*) AS n FROM {table}"),
		Value::Null,
	)
	.await;
	exec(&c, &url, &format!("DROP TABLE {table}"), Value::Null).await;
	assert_eq!(got, [json!({"n": 2})]);

	let started = Instant::now();
	let e = fails(
		&c,
		json!({"connection": url, "query": "SELECT pg_sleep(5)", "statement_timeout": 1}),
	)
	.await;
	assert!(e.to_string().contains("statement_timeout (1s)"), "{e}");
	assert!(e.is_retryable());
	assert!(
		started.elapsed() < Duration::from_secs(3),
		"{:?}",
		started.elapsed()
	);

	let e = fails(
		&c,
		json!({"connection": url, "query": "SELECT generate_series(1, 100000) AS x",
			"max_rows": 10}),
	)
	.await;
	assert!(
		e.to_string().contains("more than max_rows (10) rows"),
		"{e}"
	);

	let e = fails(&c, json!({"connection": url, "query": "SELEC 1"})).await;
	assert!(e.to_string().contains("syntax error"), "{e}");
	assert!(!e.is_retryable());
	let got = rows(&c, &url, "SELECT 1 AS one", Value::Null).await;
	assert_eq!(got, [json!({"one": 1})]);
}

#[tokio::test]
async fn an_unreachable_database_is_retryable_and_its_url_is_never_shown() {
	let dir = tempfile::tempdir().unwrap();
	let c = component(dir.path());
	for url in [
		"postgres://app:hunter2-secret@127.0.0.1:1/test",
		"mysql://app:hunter2-secret@127.0.0.1:1/test",
	] {
		let e = fails(&c, json!({"connection": url, "query": "SELECT 1"})).await;
		let text = e.to_string();
		assert!(e.is_retryable(), "{text}");
		assert!(
			text.contains("cannot reach the database at 127.0.0.1:1"),
			"{text}"
		);
		assert!(
			!text.contains("hunter2") && !text.contains("app:"),
			"{text}"
		);
	}
	// Without the allow-list the same host is refused before any connection.
	let guarded = DatabaseQuery::new(&apg_components::Settings::default());
	let e = fails(
		&guarded,
		json!({"connection": "postgres://app@127.0.0.1:5432/test", "query": "SELECT 1"}),
	)
	.await;
	assert!(e.to_string().contains("internal address"), "{e}");
	assert!(!e.is_retryable());
}

// ---------------------------------------------------------------- MySQL / MariaDB

#[tokio::test]
async fn mysql_round_trips_every_type() {
	let Some(url) = env_or_skip("APG_TEST_MYSQL_URL") else {
		return;
	};
	let dir = tempfile::tempdir().unwrap();
	let c = component(dir.path());
	let table = unique("apg_dbq");
	exec(
		&c,
		&url,
		&format!(
			"CREATE TABLE {table} (id INT AUTO_INCREMENT PRIMARY KEY, i INT, big BIGINT, \
			 f DOUBLE, b BOOLEAN, n INT NULL, s VARCHAR(50), ts TIMESTAMP(3) NULL, \
			 dt DATETIME, j JSON, d DECIMAL(30,2), bin VARBINARY(10), u INT UNSIGNED)"
		),
		Value::Null,
	)
	.await;
	let insert = format!(
		"INSERT INTO {table} (i, big, f, b, n, s, ts, dt, j, d, bin, u) VALUES \
		 (:i, :big, :f, :b, :n, :s, '2024-01-02 03:04:05.250', '2024-01-02 03:04:05', :j, :d, \
		 x'00ff10', 4000000000)"
	);
	let params = json!({"i": 7, "big": 9_007_199_254_740_993_i64, "f": 2.5, "b": true,
		"n": null, "s": "it's :x", "j": {"a": [1, null]}, "d": "1234567890123456789.01"});
	let first = exec(&c, &url, &insert, params.clone()).await;
	let second = exec(&c, &url, &insert, params).await;
	let out = run(
		&c,
		json!({"connection": url, "json_columns": ["j"], "parameters": [first["last_insert_id"]],
			"query": format!("SELECT i, big, f, b, n, s, ts, dt, j, d, bin, u FROM {table} \
				WHERE id = ?")}),
	)
	.await
	.unwrap();
	let got = out.output["rows"].as_array().unwrap().clone();
	exec(&c, &url, &format!("DROP TABLE {table}"), Value::Null).await;
	assert_eq!(first["rows_affected"], 1);
	assert_eq!(
		second["last_insert_id"].as_u64(),
		first["last_insert_id"].as_u64().map(|id| id + 1)
	);
	let row = &got[0];
	let expected = json!({"i": 7, "big": 9_007_199_254_740_993_i64, "f": 2.5, "b": true,
		"n": null, "s": "it's :x", "ts": "2024-01-02T03:04:05.250Z", "dt": "2024-01-02T03:04:05",
		"j": {"a": [1, null]}, "d": "1234567890123456789.01", "bin": "AP8Q",
		"u": 4_000_000_000_u64});
	assert_eq!(row, &expected);
}

#[tokio::test]
async fn mysql_read_only_timeout_max_rows_and_errors() {
	let Some(url) = env_or_skip("APG_TEST_MYSQL_URL") else {
		return;
	};
	let dir = tempfile::tempdir().unwrap();
	let c = component(dir.path());
	let table = unique("apg_dbq_ro");
	exec(
		&c,
		&url,
		&format!("CREATE TABLE {table} (x INT)"),
		Value::Null,
	)
	.await;
	let out = exec(
		&c,
		&url,
		&format!("INSERT INTO {table} VALUES (1), (2)"),
		Value::Null,
	)
	.await;
	assert_eq!(out["rows_affected"], 2);
	let e = fails(
		&c,
		json!({"connection": url, "query": format!("DELETE FROM {table}"), "read_only": true,
			"mode": "execute"}),
	)
	.await;
	assert!(e.to_string().contains("READ ONLY"), "{e}");
	assert!(!e.is_retryable());
	let got = rows(
		&c,
		&url,
		&format!("SELECT count(*) AS n FROM {table}"),
		Value::Null,
	)
	.await;
	exec(&c, &url, &format!("DROP TABLE {table}"), Value::Null).await;
	assert_eq!(got, [json!({"n": 2})]);

	let started = Instant::now();
	let e = fails(
		&c,
		json!({"connection": url, "query": "SELECT SLEEP(5) AS s FROM DUAL WHERE 1 = 1",
			"statement_timeout": 1}),
	)
	.await;
	assert!(e.to_string().contains("statement_timeout (1s)"), "{e}");
	assert!(e.is_retryable());
	assert!(
		started.elapsed() < Duration::from_secs(4),
		"{:?}",
		started.elapsed()
	);

	let e = fails(
		&c,
		json!({"connection": url, "max_rows": 10,
			"query": "SELECT seq FROM seq_1_to_100000"}),
	)
	.await;
	// seq_* tables are MariaDB's; on MySQL the statement fails instead, which is still no rows.
	assert!(
		e.to_string().contains("more than max_rows (10) rows") || e.to_string().contains("seq_"),
		"{e}"
	);

	let e = fails(&c, json!({"connection": url, "query": "SELEC 1"})).await;
	assert!(e.to_string().contains("SQL syntax"), "{e}");
	assert!(!e.is_retryable());
}
