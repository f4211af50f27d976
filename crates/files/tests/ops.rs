//! `file_operation` on real files in temporary directories: every operation and format, the
//! roots (relative, absolute inside and outside, `..`, links out and in), paging, CSV options,
//! the output limit, a streamed convert, and parquet read back by pyarrow.

use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::{Map, Value, json};

use apg_core::{Component, ComponentError, ExecutionId, Registry, RunContext, WorkflowId};
use apg_files::{FileOperation, Settings};

struct Fixture {
	dir: tempfile::TempDir,
	component: FileOperation,
}

impl Fixture {
	fn new() -> Self {
		Self::with_limit(apg_files::DEFAULT_MAX_OUTPUT_BYTES)
	}

	fn with_limit(max_output_bytes: usize) -> Self {
		let dir = tempfile::tempdir().unwrap();
		std::fs::create_dir_all(dir.path().join("outside")).unwrap();
		std::fs::create_dir_all(dir.path().join("second")).unwrap();
		let settings = Settings {
			roots: vec![dir.path().join("root"), dir.path().join("second")],
			max_output_bytes,
		};
		Self {
			component: FileOperation::new(&settings),
			dir,
		}
	}

	fn root(&self) -> PathBuf {
		self.dir.path().join("root")
	}

	async fn run(&self, config: Value) -> Result<Value, ComponentError> {
		self.run_with_input(config, Value::Null).await
	}

	async fn run_with_input(&self, config: Value, input: Value) -> Result<Value, ComponentError> {
		let ctx = RunContext {
			execution_id: ExecutionId::new(),
			workflow_id: WorkflowId::new(),
			component_id: "files".to_owned(),
			attempt: 1,
			params: Arc::new(Map::new()),
			vars: Map::new(),
			cancel: Default::default(),
			started_by: None,
		};
		self.component
			.run(&ctx, &config, input)
			.await
			.map(|out| out.output)
	}

	async fn ok(&self, config: Value) -> Value {
		let shown = config.to_string();
		self.run(config)
			.await
			.unwrap_or_else(|e| panic!("{shown}: {e}"))
	}

	async fn fatal(&self, config: Value) -> String {
		match self.run(config).await {
			Err(ComponentError::Fatal(message)) => message,
			other => panic!("expected a fatal error, got {other:?}"),
		}
	}
}

fn people() -> Value {
	json!([
		{"id": 1, "name": "Ada", "score": 9.5, "active": true},
		{"id": 2, "name": "Grace, \"the admiral\"", "score": 7.25, "active": false},
		{"id": 3, "name": "Edsger", "score": 8.0, "active": true},
	])
}

#[tokio::test]
async fn every_format_reads_back_what_was_written() {
	let fx = Fixture::new();
	for format in ["json", "jsonl", "csv", "parquet"] {
		let path = format!("people.{format}");
		let out = fx
			.ok(
				json!({"operation": "write", "file_path": path, "format": format,
				"data": people()}),
			)
			.await;
		assert_eq!(out["records_written"], 3, "{format}");
		assert!(fx.root().join(&path).is_file(), "{format}");
		let out = fx.ok(json!({"operation": "read", "file_path": path})).await;
		let mut expected = people();
		if format == "csv" {
			// 8.0 prints as 8.0 and reads back as the float it was.
			expected[2]["score"] = json!(8.0);
		}
		assert_eq!(out["records"], expected, "{format}");
		assert_eq!(out["total"], 3, "{format}");
		assert_eq!(out["next_offset"], Value::Null, "{format}");
	}
}

#[tokio::test]
async fn write_takes_the_input_when_data_is_absent_and_refuses_a_string() {
	let fx = Fixture::new();
	let out = fx
		.run_with_input(
			json!({"operation": "write", "file_path": "in.jsonl"}),
			people(),
		)
		.await
		.unwrap();
	assert_eq!(out["records_written"], 3);
	let e = fx
		.run_with_input(
			json!({"operation": "write", "file_path": "in.jsonl"}),
			json!("id,name\n1,a"),
		)
		.await
		.unwrap_err();
	assert!(!e.is_retryable());
	assert!(e.to_string().starts_with("data: "), "{e}");
}

#[tokio::test]
async fn append_adds_records_in_every_format_and_a_csv_header_once() {
	let fx = Fixture::new();
	for format in ["json", "jsonl", "csv", "parquet"] {
		let path = format!("log.{format}");
		for _ in 0..2 {
			fx.ok(json!({"operation": "append", "file_path": path, "data": people()}))
				.await;
		}
		let out = fx.ok(json!({"operation": "read", "file_path": path})).await;
		assert_eq!(out["count"], 6, "{format}: {out}");
		assert_eq!(out["records"][3]["name"], "Ada", "{format}");
	}
	let text = std::fs::read_to_string(fx.root().join("log.csv")).unwrap();
	assert_eq!(text.matches("id,name,score,active").count(), 1, "{text}");
}

#[tokio::test]
async fn read_pages_with_offset_and_limit() {
	let fx = Fixture::new();
	let rows: Vec<Value> = (0..10).map(|i| json!({"i": i})).collect();
	for format in ["json", "jsonl", "csv", "parquet"] {
		let path = format!("pages.{format}");
		fx.ok(json!({"operation": "write", "file_path": path, "data": rows}))
			.await;
		let out = fx
			.ok(json!({"operation": "read", "file_path": path, "offset": 3, "limit": 4}))
			.await;
		assert_eq!(
			out["records"],
			json!([{"i": 3}, {"i": 4}, {"i": 5}, {"i": 6}]),
			"{format}"
		);
		assert_eq!(out["next_offset"], 7, "{format}");
		let last = fx
			.ok(json!({"operation": "read", "file_path": path, "offset": 7, "limit": 4}))
			.await;
		assert_eq!(last["count"], 3, "{format}");
		assert_eq!(last["next_offset"], Value::Null, "{format}");
		assert_eq!(last["total"], 10, "{format}");
	}
}

#[tokio::test]
async fn an_output_over_the_limit_is_refused_with_a_pointer_to_paging() {
	let fx = Fixture::with_limit(2000);
	let rows: Vec<Value> = (0..200)
		.map(|i| json!({"i": i, "text": "some words to fill the page"}))
		.collect();
	fx.ok(json!({"operation": "write", "file_path": "big.jsonl", "data": rows}))
		.await;
	let e = fx
		.fatal(json!({"operation": "read", "file_path": "big.jsonl"}))
		.await;
	assert!(e.contains("read in pages with offset and limit"), "{e}");
	let page = fx
		.ok(json!({"operation": "read", "file_path": "big.jsonl", "limit": 10}))
		.await;
	assert_eq!(page["count"], 10);
	assert_eq!(page["next_offset"], 10);
}

#[tokio::test]
async fn csv_options_shape_the_file_and_read_it_back() {
	let fx = Fixture::new();
	let csv = json!({"delimiter": ";", "header": false, "quoting": "always"});
	fx.ok(
		json!({"operation": "write", "file_path": "semi.csv", "csv": csv,
		"data": [{"a": 1, "b": "x;y"}, {"a": 2, "b": "z"}]}),
	)
	.await;
	let text = std::fs::read_to_string(fx.root().join("semi.csv")).unwrap();
	assert_eq!(text, "\"1\";\"x;y\"\n\"2\";\"z\"\n");
	let out = fx
		.ok(json!({"operation": "read", "file_path": "semi.csv", "csv": csv}))
		.await;
	assert_eq!(
		out["records"],
		json!([{"column_1": 1, "column_2": "x;y"}, {"column_1": 2, "column_2": "z"}])
	);
	let untyped = fx
		.ok(json!({"operation": "read", "file_path": "semi.csv",
			"csv": {"delimiter": ";", "header": false, "infer_types": false}}))
		.await;
	assert_eq!(untyped["records"][0]["column_1"], "1");
	std::fs::write(fx.root().join("tabs.csv"), "code\tn\n007\t\n").unwrap();
	let tabs = fx
		.ok(json!({"operation": "read", "file_path": "tabs.csv", "csv": {"delimiter": "\\t"}}))
		.await;
	assert_eq!(tabs["records"], json!([{"code": "007", "n": null}]));
}

#[tokio::test]
async fn a_csv_row_with_a_new_column_or_a_ragged_line_is_a_clear_error() {
	let fx = Fixture::new();
	let e = fx
		.fatal(json!({"operation": "write", "file_path": "bad.csv",
			"data": [{"a": 1}, {"a": 2, "b": 3}]}))
		.await;
	assert!(e.contains("row 2: field 'b' is not a column"), "{e}");
	std::fs::write(fx.root().join("ragged.csv"), "a,b\n1,2\n3\n").unwrap();
	let e = fx
		.fatal(json!({"operation": "read", "file_path": "ragged.csv"}))
		.await;
	assert!(
		e.contains("ragged.csv: line 3: 1 fields where the header has 2"),
		"{e}"
	);
	std::fs::write(fx.root().join("broken.json"), "[{\"a\": 1}, {\"a\": ").unwrap();
	let e = fx
		.fatal(json!({"operation": "read", "file_path": "broken.json"}))
		.await;
	assert!(e.starts_with("broken.json: "), "{e}");
}

#[tokio::test]
async fn relative_paths_lie_under_the_first_root_and_absolute_ones_inside_any() {
	let fx = Fixture::new();
	let out = fx
		.ok(json!({"operation": "write", "file_path": "a/b/c.json", "data": people()}))
		.await;
	assert_eq!(out["path"], "a/b/c.json");
	assert!(fx.root().join("a/b/c.json").is_file());
	let second = fx.dir.path().join("second/s.jsonl");
	let out = fx
		.ok(json!({"operation": "write", "file_path": second, "data": people()}))
		.await;
	assert_eq!(out["path"], "s.jsonl");
	assert!(second.is_file());
}

#[tokio::test]
async fn paths_outside_the_roots_are_refused_with_field_and_path() {
	let fx = Fixture::new();
	let outside = fx.dir.path().join("outside");
	std::fs::write(outside.join("secret.json"), "[{\"s\": 1}]").unwrap();
	symlink(&outside, fx.dir.path().join("second/out")).unwrap();
	let cases = [
		(
			json!(outside.join("secret.json")),
			"is outside the allowed file roots",
		),
		(json!("../outside/secret.json"), "contains '..'"),
		(
			json!(fx.dir.path().join("second/../outside/secret.json")),
			"contains '..'",
		),
		(
			json!(fx.dir.path().join("second/out/secret.json")),
			"is outside the allowed file roots",
		),
		(json!("/etc/passwd"), "is outside the allowed file roots"),
	];
	for (path, expected) in cases {
		for op in ["read", "write"] {
			let e = fx
				.fatal(json!({"operation": op, "file_path": path, "format": "json",
					"data": [{"x": 1}]}))
				.await;
			assert!(e.starts_with("file_path: '"), "{path}: {e}");
			assert!(e.contains(expected), "{path}: {e}");
		}
	}
	assert_eq!(
		std::fs::read_to_string(outside.join("secret.json")).unwrap(),
		"[{\"s\": 1}]"
	);
	let e = fx
		.fatal(json!({"operation": "convert", "file_path": "x.json",
			"destination_path": outside.join("x.parquet")}))
		.await;
	assert!(e.starts_with("destination_path: '"), "{e}");
	assert!(e.ends_with("is outside the allowed file roots"), "{e}");
}

#[tokio::test]
async fn a_symlink_that_stays_inside_the_roots_is_followed() {
	let fx = Fixture::new();
	std::fs::create_dir_all(fx.root().join("real")).unwrap();
	symlink(fx.root().join("real"), fx.root().join("alias")).unwrap();
	let out = fx
		.ok(json!({"operation": "write", "file_path": "alias/x.jsonl", "data": people()}))
		.await;
	assert_eq!(out["path"], "real/x.jsonl");
	assert!(fx.root().join("real/x.jsonl").is_file());
}

#[tokio::test]
async fn delete_removes_a_file_or_a_link_itself_and_says_when_nothing_was_there() {
	let fx = Fixture::new();
	fx.ok(json!({"operation": "write", "file_path": "gone.json", "data": people()}))
		.await;
	let out = fx
		.ok(json!({"operation": "delete", "file_path": "gone.json"}))
		.await;
	assert_eq!(out, json!({"path": "gone.json", "deleted": true}));
	assert!(!fx.root().join("gone.json").exists());
	let e = fx
		.fatal(json!({"operation": "delete", "file_path": "gone.json"}))
		.await;
	assert_eq!(e, "file_path: 'gone.json' does not exist");
	let out = fx
		.ok(json!({"operation": "delete", "file_path": "gone.json", "missing_ok": true}))
		.await;
	assert_eq!(out["deleted"], false);
	let outside = fx.dir.path().join("outside/keep.txt");
	std::fs::write(&outside, "keep").unwrap();
	symlink(&outside, fx.root().join("link")).unwrap();
	fx.ok(json!({"operation": "delete", "file_path": "link"}))
		.await;
	assert!(outside.is_file(), "the link's target stays");
	assert!(fx.root().join("link").symlink_metadata().is_err());
}

#[tokio::test]
async fn list_gives_sorted_entries_in_pages() {
	let fx = Fixture::new();
	for name in ["c.json", "a.json", "b.json"] {
		fx.ok(
			json!({"operation": "write", "file_path": format!("dir/{name}"),
			"data": people()}),
		)
		.await;
	}
	std::fs::create_dir_all(fx.root().join("dir/sub")).unwrap();
	let out = fx
		.ok(json!({"operation": "list", "file_path": "dir", "limit": 2}))
		.await;
	let names: Vec<&str> = out["entries"]
		.as_array()
		.unwrap()
		.iter()
		.map(|e| e["name"].as_str().unwrap())
		.collect();
	assert_eq!(names, ["a.json", "b.json"]);
	assert_eq!(out["entries"][0]["type"], "file");
	assert_eq!(out["next_offset"], 2);
	assert_eq!(out["total"], 4);
	let rest = fx
		.ok(json!({"operation": "list", "file_path": "dir", "offset": 2}))
		.await;
	assert_eq!(rest["entries"][1]["name"], "sub");
	assert_eq!(rest["entries"][1]["type"], "directory");
}

#[tokio::test]
async fn a_missing_file_is_a_fatal_error_naming_the_field_and_path() {
	let fx = Fixture::new();
	let e = fx
		.fatal(json!({"operation": "read", "file_path": "nope/none.csv"}))
		.await;
	assert_eq!(e, "file_path: 'nope/none.csv' does not exist");
	let e = fx
		.fatal(json!({"operation": "read", "file_path": "noext"}))
		.await;
	assert!(e.starts_with("format: "), "{e}");
}

/// A CSV of `rows` rows with int, float, bool and string columns.
fn write_csv(path: &Path, rows: usize) {
	use std::io::Write;
	let mut out = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
	writeln!(out, "id,price,flag,label").unwrap();
	for i in 0..rows {
		writeln!(out, "{i},{}.5,{},item {i}", i % 100, i % 2 == 0).unwrap();
	}
}

#[tokio::test]
async fn convert_streams_a_csv_into_parquet_and_back_to_jsonl() {
	let fx = Fixture::new();
	std::fs::create_dir_all(fx.root()).unwrap();
	let rows = 50_000;
	write_csv(&fx.root().join("many.csv"), rows);
	let out = fx
		.ok(json!({"operation": "convert", "file_path": "many.csv",
			"destination_path": "out/many.parquet"}))
		.await;
	assert_eq!(out["records"], rows);
	assert_eq!(out["destination_format"], "parquet");
	let page = fx
		.ok(
			json!({"operation": "read", "file_path": "out/many.parquet", "offset": 40_000,
			"limit": 1}),
		)
		.await;
	assert_eq!(
		page["records"],
		json!([{"id": 40_000, "price": 0.5, "flag": true, "label": "item 40000"}])
	);
	assert_eq!(page["total"], rows);
	let back = fx
		.ok(
			json!({"operation": "convert", "file_path": "out/many.parquet",
			"destination_path": "many.jsonl"}),
		)
		.await;
	assert_eq!(back["records"], rows);
	let text = std::fs::read_to_string(fx.root().join("many.jsonl")).unwrap();
	assert_eq!(text.lines().count(), rows);
	assert_eq!(
		text.lines().nth(7).unwrap(),
		r#"{"id":7,"price":7.5,"flag":false,"label":"item 7"}"#
	);
	let leftovers: Vec<_> = std::fs::read_dir(fx.root().join("out"))
		.unwrap()
		.map(|e| e.unwrap().file_name())
		.collect();
	assert_eq!(
		leftovers.len(),
		1,
		"no temporary file remains: {leftovers:?}"
	);
}

#[tokio::test]
async fn a_parquet_value_that_does_not_fit_its_inferred_column_names_row_and_column() {
	let fx = Fixture::new();
	let mut rows: Vec<Value> = (0..9000).map(|i| json!({"n": i})).collect();
	rows.push(json!({"n": 1.5}));
	let e = fx
		.fatal(json!({"operation": "write", "file_path": "t.parquet", "data": rows}))
		.await;
	assert!(e.contains("row 9001: column 'n' is Int64"), "{e}");
	assert!(
		!fx.root().join("t.parquet").exists(),
		"a failed write leaves nothing"
	);
}

#[tokio::test]
async fn pyarrow_reads_our_parquet_with_the_inferred_columns_and_types() {
	let Ok(python) = std::env::var("APG_TEST_PYTHON") else {
		eprintln!("skipped: APG_TEST_PYTHON is not set");
		return;
	};
	let fx = Fixture::new();
	let rows = json!([
		{"i": 1, "f": 1.5, "b": true, "s": "x", "nested": {"k": [1, 2]}, "none": null,
			"mixed": 1, "widened": 1},
		{"i": null, "f": 2.0, "b": false, "s": "y", "nested": [1], "none": null,
			"mixed": "two", "widened": 2.5},
	]);
	fx.ok(json!({"operation": "write", "file_path": "typed.parquet", "data": rows}))
		.await;
	let script = r#"
import json, sys, pyarrow.parquet as pq
t = pq.read_table(sys.argv[1])
print(json.dumps({"schema": {f.name: str(f.type) for f in t.schema}, "rows": t.to_pylist()}))
"#;
	let out = std::process::Command::new(python)
		.args(["-c", script])
		.arg(fx.root().join("typed.parquet"))
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
		json!({"i": "int64", "f": "double", "b": "bool", "s": "string", "nested": "string",
			"none": "string", "mixed": "string", "widened": "double"})
	);
	assert_eq!(
		seen["rows"][0],
		json!({"i": 1, "f": 1.5, "b": true, "s": "x", "nested": "{\"k\":[1,2]}", "none": null,
			"mixed": "1", "widened": 1.0})
	);
	assert_eq!(seen["rows"][1]["i"], Value::Null);
}

#[test]
fn the_schema_compiles_and_check_config_catches_what_it_cannot_say() {
	let mut registry = Registry::new();
	apg_files::register(&mut registry, &Settings::default());
	let component = registry.get("file_operation").expect("registered");
	// The registry compiled the full schema (it panics otherwise); our own fields say what they
	// are.
	assert!(registry.schema("file_operation").is_some());
	let schema = component.config_schema();
	for (name, property) in schema["properties"].as_object().unwrap() {
		assert!(
			property.get("description").is_some(),
			"{name} has no description"
		);
	}
	for (name, property) in schema["properties"]["csv"]["properties"]
		.as_object()
		.unwrap()
	{
		assert!(
			property.get("description").is_some(),
			"csv.{name} has no description"
		);
	}
	assert!(schema["properties"]["data"].get("type").is_none());
	let check = |config: Value| component.check_config(config.as_object().unwrap());
	assert!(
		check(
			json!({"operation": "write", "file_path": "/tmp/processed_data.{{output_format}}",
		"format": "{{output_format}}"})
		)
		.is_empty()
	);
	let problems = check(json!({"operation": "convert", "file_path": "../x.csv", "limit": 3}));
	let fields: Vec<&str> = problems.iter().map(|(f, _)| f.as_str()).collect();
	assert_eq!(
		fields,
		["limit", "destination_path", "file_path"],
		"{problems:?}"
	);
	let problems = check(json!({"operation": "read", "file_path": "x.data",
		"csv": {"delimiter": "é"}}));
	let fields: Vec<&str> = problems.iter().map(|(f, _)| f.as_str()).collect();
	assert_eq!(fields, ["format", "csv.delimiter"], "{problems:?}");
}
