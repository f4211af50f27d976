//! The note's figure: one `database_query` step returning 10,000 rows of five columns (integer,
//! text, float, boolean, timestamp) as JSON, end to end through `Component::run` (pool reuse,
//! binding, streaming, decoding). SQLite always; PostgreSQL when `APG_TEST_DATABASE_URL` is set.
//!
//! `cargo bench -p apg-components --bench database_query`
//!
//! Measured 2026-12-02 on the 2-core CI box (shared with other builds, so noisy): SQLite 76 ms
//! per 10,000-row query (71.7–81.1), PostgreSQL 15 on loopback 39 ms (38.0–40.9). SQLite is the
//! slower one because sqlx runs it on a worker thread and hands every row across a channel.

#![allow(missing_docs)]

use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::{Map, Value, json};

use apg_components::{DatabaseQuery, Settings};
use apg_core::{Component, ExecutionId, RunContext, WorkflowId};

const ROWS: usize = 10_000;

fn ctx() -> RunContext {
	RunContext {
		execution_id: ExecutionId::new(),
		workflow_id: WorkflowId::new(),
		component_id: "bench".to_owned(),
		attempt: 1,
		params: Arc::new(Map::new()),
		vars: Map::new(),
		cancel: Default::default(),
		started_by: None,
	}
}

async fn run(c: &DatabaseQuery, config: &Value) -> Value {
	c.run(&ctx(), config, Value::Null)
		.await
		.expect("the query runs")
		.output
}

fn bench(criterion: &mut Criterion) {
	let rt = tokio::runtime::Runtime::new().expect("a runtime");
	let dir = tempfile::tempdir().expect("a temp dir");
	let c = DatabaseQuery::new(&Settings {
		http_allow: vec!["127.0.0.1".to_owned()],
		file_roots: vec![dir.path().to_owned()],
		..Settings::default()
	});
	let sqlite = format!("sqlite://{}/bench.db?mode=rwc", dir.path().display());
	rt.block_on(async {
		run(
			&c,
			&json!({"connection": sqlite, "mode": "execute",
				"query": "CREATE TABLE items (id INTEGER, name TEXT, score REAL, even BOOLEAN, \
					at DATETIME)"}),
		)
		.await;
		run(
			&c,
			&json!({"connection": sqlite, "mode": "execute", "parameters": [ROWS],
				"query": "WITH RECURSIVE g(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM g \
					WHERE x < ?) INSERT INTO items SELECT x, 'name ' || x, x * 1.5, x % 2 = 0, \
					'2024-01-02T03:04:05Z' FROM g"}),
		)
		.await;
	});
	let mut group = criterion.benchmark_group("database_query");
	group.sample_size(20);
	let query = json!({"connection": sqlite, "query": "SELECT * FROM items", "max_rows": ROWS});
	group.bench_function("sqlite_10000_rows", |b| {
		b.to_async(&rt).iter(|| async {
			let out = run(&c, &query).await;
			assert_eq!(out["row_count"], ROWS);
		});
	});
	if let Ok(url) = std::env::var("APG_TEST_DATABASE_URL") {
		let query = json!({"connection": url, "max_rows": ROWS, "parameters": [ROWS],
			"query": "SELECT g AS id, 'name ' || g AS name, g * 1.5::float8 AS score, \
				g % 2 = 0 AS even, timestamptz '2024-01-02T03:04:05Z' AS at \
				FROM generate_series(1, $1::int) g"});
		group.bench_function("postgres_10000_rows", |b| {
			b.to_async(&rt).iter(|| async {
				let out = run(&c, &query).await;
				assert_eq!(out["row_count"], ROWS);
			});
		});
	} else {
		println!("skipped postgres_10000_rows: APG_TEST_DATABASE_URL is not set");
	}
	group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
