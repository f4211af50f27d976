//! The seed's Data Processing Pipeline (http_request → transform → file_operation) through the
//! binary: `examples/data_pipeline.json` with `run` and over the API, against a loopback HTTP
//! source, writing json, csv and parquet (parquet read back by pyarrow when `APG_TEST_PYTHON`
//! names a Python that has it).

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::server::Server;
use crate::util::{bin, example, text};

/// The records the source serves; the pipeline keeps `id`, `name`, `value` as `record_*`.
fn source_records() -> Value {
	json!([
		{"id": 1, "name": "Ada", "value": 10.5, "extra": "dropped"},
		{"id": 2, "name": "Grace", "value": 7.25, "extra": "dropped"},
		{"id": 3, "name": "Edsger", "value": 3.0, "extra": "dropped"},
	])
}

fn expected_records() -> Value {
	json!([
		{"record_id": 1, "record_name": "Ada", "record_value": 10.5},
		{"record_id": 2, "record_name": "Grace", "record_value": 7.25},
		{"record_id": 3, "record_name": "Edsger", "record_value": 3.0},
	])
}

/// A loopback HTTP source serving [`source_records`] at `/records`; its URL.
async fn source() -> String {
	let app = axum::Router::new().route(
		"/records",
		axum::routing::get(|| async { axum::Json(source_records()) }),
	);
	let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
	let addr = listener.local_addr().unwrap();
	tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
	format!("http://{addr}/records")
}

/// The environment that lets the pipeline reach the loopback source and write under `dir`.
fn env(dir: &Path) -> Vec<(&'static str, String)> {
	vec![
		("APG_HTTP_ALLOW", "127.0.0.1".to_owned()),
		(
			"APG_COMPONENTS__FILES__ROOTS",
			format!("[{}]", dir.display()),
		),
	]
}

/// Checks `processed_data.{format}` under `dir` holds the expected records.
fn check_output(dir: &Path, format: &str) {
	let path = dir.join(format!("processed_data.{format}"));
	let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
	match format {
		"json" => {
			let records: Value = serde_json::from_slice(&bytes).unwrap();
			assert_eq!(records, expected_records());
		}
		"csv" => {
			let text = String::from_utf8(bytes).unwrap();
			assert_eq!(
				text,
				"record_id,record_name,record_value\n1,Ada,10.5\n2,Grace,7.25\n3,Edsger,3.0\n"
			);
		}
		"parquet" => {
			assert!(
				bytes.starts_with(b"PAR1") && bytes.ends_with(b"PAR1"),
				"not parquet"
			);
			check_with_pyarrow(&path);
		}
		other => unreachable!("{other}"),
	}
}

fn check_with_pyarrow(path: &Path) {
	let Ok(python) = std::env::var("APG_TEST_PYTHON") else {
		eprintln!("skipped: APG_TEST_PYTHON is not set");
		return;
	};
	let script = "import json, sys, pyarrow.parquet as pq\n\
		t = pq.read_table(sys.argv[1])\n\
		print(json.dumps({'schema': {f.name: str(f.type) for f in t.schema}, \
		'rows': t.to_pylist()}))";
	let out = std::process::Command::new(python)
		.args(["-c", script])
		.arg(path)
		.output()
		.unwrap();
	assert!(
		out.status.success(),
		"{}",
		String::from_utf8_lossy(&out.stderr)
	);
	let seen: Value = serde_json::from_slice(&out.stdout).unwrap();
	assert_eq!(
		seen["schema"],
		json!({"record_id": "int64", "record_name": "string", "record_value": "double"})
	);
	assert_eq!(seen["rows"], expected_records());
}

#[tokio::test(flavor = "multi_thread")]
async fn the_data_pipeline_runs_with_the_cli_in_every_output_format() {
	let url = source().await;
	let dir = tempfile::tempdir().unwrap();
	for format in ["json", "csv", "parquet"] {
		let mut command = bin();
		command
			.args(["run", example("data_pipeline.json").to_str().unwrap()])
			.args(["-p", &format!("source_url={url}")])
			.args(["-p", &format!("output_format={format}")])
			.args(["-p", &format!("output_dir={}", dir.path().display())])
			.envs(env(dir.path()));
		let out = tokio::task::spawn_blocking(move || command.output().unwrap())
			.await
			.unwrap();
		assert!(out.status.success(), "{format}: {}", text(&out));
		check_output(dir.path(), format);
	}
}

#[tokio::test(flavor = "multi_thread")]
async fn the_data_pipeline_runs_over_the_api_in_every_output_format() {
	let url = source().await;
	let dir = tempfile::tempdir().unwrap();
	let data = dir.path().join("data");
	let files = dir.path().join("files");
	std::fs::create_dir_all(&files).unwrap();
	let env = env(&files);
	let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
	let server = Server::start_in(&data, &env);
	let client = crate::util::admin_client(&server.base).await;
	let workflow: Value =
		serde_json::from_slice(&std::fs::read(example("data_pipeline.json")).unwrap()).unwrap();
	let response = client
		.post(server.url("/api/v1/workflows"))
		.json(&workflow)
		.send()
		.await
		.unwrap();
	assert_eq!(response.status(), 201);
	let created: Value = response.json().await.unwrap();
	let id = created["data"]["id"].as_str().unwrap().to_owned();
	for format in ["json", "csv", "parquet"] {
		let response = client
			.post(server.url(&format!("/api/v1/workflows/{id}/execute")))
			.json(
				&json!({"parameters": {"source_url": url, "output_format": format,
				"output_dir": files.display().to_string()}}),
			)
			.send()
			.await
			.unwrap();
		assert_eq!(response.status(), 200, "{format}");
		let body: Value = response.json().await.unwrap();
		let execution = body["data"]["id"].as_str().unwrap().to_owned();
		let ended = wait(&client, &server, &execution).await;
		assert_eq!(ended["status"], "completed", "{format}: {ended}");
		check_output(&files, format);
		let load: Value = client
			.get(server.url(&format!("/api/v1/executions/{execution}/components/load")))
			.send()
			.await
			.unwrap()
			.json()
			.await
			.unwrap();
		let output = &load["data"]["output_data"];
		assert_eq!(output["records_written"], 3, "{load}");
		assert_eq!(output["path"], format!("processed_data.{format}"), "{load}");
	}
}

/// The execution `id` once it has ended.
async fn wait(client: &reqwest::Client, server: &Server, id: &str) -> Value {
	let began = Instant::now();
	loop {
		let body: Value = client
			.get(server.url(&format!("/api/v1/executions/{id}")))
			.send()
			.await
			.unwrap()
			.json()
			.await
			.unwrap();
		let status = body["data"]["status"]
			.as_str()
			.unwrap_or_default()
			.to_owned();
		if ["completed", "failed", "cancelled"].contains(&status.as_str()) {
			return body["data"].clone();
		}
		assert!(
			began.elapsed() < Duration::from_secs(30),
			"still {status}: {body}"
		);
		tokio::time::sleep(Duration::from_millis(50)).await;
	}
}
