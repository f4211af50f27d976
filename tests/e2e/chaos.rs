//! PostgreSQL restarted (immediate mode) and Redis killed during a run of 500 executions on
//! three nodes: every execution completes once both are back, and no node crashes.
//!
//! It restarts the machine's shared services, so it is `#[ignore]`d in the normal run and
//! `.ci/run` runs it alone afterwards (`cargo test --test e2e -- --ignored`).

use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sqlx::Connection;

use crate::cluster::Node;

fn run(program: &str, args: &[&str]) {
	let status = Command::new(program)
		.args(args)
		.status()
		.unwrap_or_else(|e| panic!("{program}: {e}"));
	assert!(status.success(), "{program} {args:?} failed");
}

fn postgres_cluster() -> String {
	let versions = std::fs::read_dir("/etc/postgresql").expect("a Debian PostgreSQL cluster");
	versions
		.flatten()
		.next()
		.unwrap()
		.file_name()
		.to_string_lossy()
		.into_owned()
}

async fn count_unfinished(url: &str, schema: &str) -> Option<i64> {
	let mut conn = sqlx::PgConnection::connect(url).await.ok()?;
	sqlx::query(&format!("SET search_path TO {schema}"))
		.execute(&mut conn)
		.await
		.ok()?;
	sqlx::query_scalar(
		"SELECT count(*) FROM wo_executions WHERE status NOT IN ('completed', 'failed', 'cancelled')",
	)
	.fetch_one(&mut conn)
	.await
	.ok()
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "restarts the shared PostgreSQL and Redis; .ci/run runs it alone"]
async fn a_postgres_restart_and_a_redis_death_lose_nothing() {
	let pg = crate::util::PgSchema::create("apg_chaos")
		.await
		.expect("APG_TEST_DATABASE_URL");
	let (url, schema) = (pg.url.clone(), pg.name.clone());
	let redis = std::env::var("APG_TEST_REDIS_URL").expect("APG_TEST_REDIS_URL");
	const N: usize = 500;
	let database = pg.database.clone();
	let dir = tempfile::tempdir().unwrap();
	let mut nodes = [
		Node::start(&database, "api", "chaos-api", dir.path()),
		Node::start(&database, "worker", "chaos-a", dir.path()),
		Node::start(&database, "worker", "chaos-b", dir.path()),
	];
	let api = nodes[0].base.clone();
	let client = crate::util::admin_client(&api).await;
	let workflow = json!({"name": "chaos", "definition": {
		"components": [{"id": "start", "type": "start"},
			{"id": "wait", "type": "delay", "config": {"seconds": 3}},
			{"id": "end", "type": "end"}],
		"connections": [{"source": "start", "target": "wait"}, {"source": "wait", "target": "end"}]}});
	let created: Value = client
		.post(format!("{api}/api/v1/workflows"))
		.json(&workflow)
		.send()
		.await
		.unwrap()
		.json()
		.await
		.unwrap();
	let id = created["data"]["id"].as_str().unwrap().to_owned();
	for i in 0..N {
		let response = client
			.post(format!("{api}/api/v1/workflows/{id}/execute"))
			.header("Idempotency-Key", format!("chaos-{i}"))
			.json(&json!({}))
			.send()
			.await
			.unwrap();
		assert_eq!(response.status(), 200);
	}
	// Redis dies, PostgreSQL restarts at once (dropping every connection), Redis comes back.
	let port = redis
		.rsplit(':')
		.next()
		.unwrap_or("6379")
		.trim_end_matches('/')
		.to_owned();
	let _ = Command::new("redis-cli")
		.args(["-p", &port, "shutdown", "nosave"])
		.status();
	// pg_ctlcluster of PostgreSQL 15.20 here exits 1 ("failed to start") although the log says
	// the server is ready; what matters is that it restarted, so wait for that instead.
	let status = Command::new("pg_ctlcluster")
		.args([
			"--skip-systemctl-redirect",
			&postgres_cluster(),
			"main",
			"restart",
			"-m",
			"immediate",
		])
		.status()
		.expect("pg_ctlcluster");
	let restarted = Instant::now();
	while sqlx::PgConnection::connect(&url).await.is_err() {
		assert!(
			restarted.elapsed() < Duration::from_secs(60),
			"PostgreSQL did not come back after the restart (pg_ctlcluster: {status})"
		);
		tokio::time::sleep(Duration::from_millis(200)).await;
	}
	tokio::time::sleep(Duration::from_secs(2)).await;
	run(
		"redis-server",
		&[
			"--daemonize",
			"yes",
			"--bind",
			"127.0.0.1",
			"-::1",
			"--port",
			&port,
			"--save",
			"",
			"--appendonly",
			"no",
			"--dir",
			"/var/lib/redis",
			"--logfile",
			"/var/log/redis/ci.log",
		],
	);
	let began = Instant::now();
	loop {
		if count_unfinished(&url, &schema).await == Some(0) {
			break;
		}
		assert!(
			began.elapsed() < Duration::from_secs(120),
			"executions stuck after the outage"
		);
		tokio::time::sleep(Duration::from_millis(500)).await;
	}
	for node in &mut nodes {
		assert!(node.child.try_wait().unwrap().is_none(), "a node crashed");
	}
	assert_eq!(
		client
			.get(format!("{api}/health"))
			.send()
			.await
			.unwrap()
			.status(),
		200
	);
	let mut admin = pg.admin().await;
	let completed: i64 =
		sqlx::query_scalar("SELECT count(*) FROM wo_executions WHERE status = 'completed'")
			.fetch_one(&mut admin)
			.await
			.unwrap();
	assert_eq!(completed as usize, N);
	drop(nodes);
}
