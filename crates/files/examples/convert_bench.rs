//! The figure for the note: a CSV of 1,000,000 rows converted to parquet by `file_operation`,
//! its wall time and the process's peak RSS (VmHWM from /proc/self/status, which covers the
//! whole run, generation included). Then the parquet file back to JSON Lines, for the read side.
//!
//! `cargo run --release -p apg-files --example convert_bench [-- ROWS]`

use std::io::{BufWriter, Write};
use std::sync::Arc;
use std::time::Instant;

use serde_json::{Map, json};

use apg_core::{Component, ExecutionId, RunContext, WorkflowId};
use apg_files::{FileOperation, Settings};

/// The process's peak resident set, in MiB.
fn peak_rss_mib() -> f64 {
	let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
	status
		.lines()
		.find_map(|l| l.strip_prefix("VmHWM:"))
		.and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
		.map_or(f64::NAN, |kb| kb / 1024.0)
}

fn mib(path: &std::path::Path) -> f64 {
	std::fs::metadata(path).map_or(f64::NAN, |m| m.len() as f64 / 1048576.0)
}

#[tokio::main]
async fn main() {
	let rows: usize = std::env::args()
		.nth(1)
		.and_then(|a| a.parse().ok())
		.unwrap_or(1_000_000);
	let dir = tempfile::tempdir().expect("a temporary directory");
	let csv = dir.path().join("big.csv");
	let began = Instant::now();
	let mut out = BufWriter::new(std::fs::File::create(&csv).expect("create the CSV"));
	writeln!(out, "id,price,in_stock,label,category").unwrap();
	for i in 0..rows {
		writeln!(
			out,
			"{i},{}.{:02},{},item number {i},\"cat, {}\"",
			i % 1000,
			i % 100,
			i % 3 == 0,
			i % 17
		)
		.unwrap();
	}
	out.flush().unwrap();
	drop(out);
	println!(
		"generated {rows} rows ({:.1} MiB CSV) in {:.2?}; peak RSS so far {:.1} MiB",
		mib(&csv),
		began.elapsed(),
		peak_rss_mib()
	);
	let component = FileOperation::new(&Settings {
		roots: vec![dir.path().to_path_buf()],
		..Settings::default()
	});
	let ctx = RunContext {
		execution_id: ExecutionId::new(),
		workflow_id: WorkflowId::new(),
		component_id: "bench".to_owned(),
		attempt: 1,
		params: Arc::new(Map::new()),
		vars: Map::new(),
		cancel: Default::default(),
		started_by: None,
	};
	let began = Instant::now();
	let output = component
		.run(
			&ctx,
			&json!({"operation": "convert", "file_path": "big.csv",
				"destination_path": "big.parquet"}),
			json!(null),
		)
		.await
		.expect("the convert succeeds")
		.output;
	let elapsed = began.elapsed();
	println!(
		"csv → parquet: {} rows in {elapsed:.2?} ({:.0} rows/s), {:.1} MiB parquet; peak RSS \
		 {:.1} MiB",
		output["records"],
		rows as f64 / elapsed.as_secs_f64(),
		mib(&dir.path().join("big.parquet")),
		peak_rss_mib()
	);
	let began = Instant::now();
	component
		.run(
			&ctx,
			&json!({"operation": "convert", "file_path": "big.parquet",
				"destination_path": "big.jsonl"}),
			json!(null),
		)
		.await
		.expect("the convert back succeeds");
	println!(
		"parquet → jsonl: {:.2?}; peak RSS {:.1} MiB; cores: {}",
		began.elapsed(),
		peak_rss_mib(),
		std::thread::available_parallelism().map_or(0, |n| n.get())
	);
}
