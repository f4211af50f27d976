//! Both languages through the component: results, input, logs, and each failure's error.

use std::sync::Arc;

use apg_core::{Component, ComponentError, ExecutionId, LogLevel, Outcome, RunContext, WorkflowId};
use apg_script::{ScriptExecution, Settings};
use serde_json::{Map, Value, json};
use tokio_util::sync::CancellationToken;

fn ctx() -> RunContext {
	RunContext {
		execution_id: ExecutionId::new(),
		workflow_id: WorkflowId::new(),
		component_id: "script".into(),
		attempt: 1,
		params: Arc::new(Map::new()),
		vars: Map::new(),
		cancel: CancellationToken::new(),
		started_by: None,
	}
}

async fn run(config: Value, input: Value) -> Result<Outcome, ComponentError> {
	ScriptExecution::new(&Settings::default())
		.run(&ctx(), &config, input)
		.await
}

async fn fails(config: Value) -> String {
	match run(config, json!({})).await {
		Err(ComponentError::Fatal(m)) => m,
		other => panic!("expected a fatal error, got {other:?}"),
	}
}

#[tokio::test]
async fn javascript_main_gets_input_and_logs() {
	let code = "function main(input) { console.log('n is', input.n); console.warn({a: 1}); \
		return {doubled: input.n * 2}; }";
	let out = run(
		json!({"language": "javascript", "code": code}),
		json!({"n": 21}),
	)
	.await
	.unwrap();
	assert_eq!(out.output, json!({"doubled": 42}));
	assert_eq!(
		out.logs,
		vec![
			(LogLevel::Info, "n is 21".to_owned()),
			(LogLevel::Warning, r#"{"a":1}"#.to_owned())
		]
	);
}

#[tokio::test]
async fn javascript_last_expression_and_promises() {
	let out = run(
		json!({"language": "javascript", "script": "input.x + 1"}),
		json!({"x": 1}),
	)
	.await;
	assert_eq!(out.unwrap().output, json!(2));
	let code = "async function main(i) { const v = await Promise.resolve(i.x); return [v, v]; }";
	let out = run(
		json!({"language": "javascript", "code": code}),
		json!({"x": "a"}),
	)
	.await;
	assert_eq!(out.unwrap().output, json!(["a", "a"]));
}

#[tokio::test]
async fn javascript_failures_are_clear() {
	let e = fails(json!({"language": "javascript", "code": "1;\nnull.x"})).await;
	assert!(e.contains("TypeError") && e.contains("line 2"), "{e}");
	let e = fails(json!({"language": "javascript", "code": "while (true) {}", "wall_time_seconds": 1, "cpu_time_seconds": 5})).await;
	assert!(e.contains("timed out after 1 s"), "{e}");
	let e =
		fails(json!({"language": "javascript", "code": "while (true) {}", "cpu_time_seconds": 1}))
			.await;
	assert!(e.contains("CPU time limit of 1 s"), "{e}");
	let e = fails(json!({"language": "javascript", "memory_mb": 16,
		"code": "const a = []; while (true) a.push(new Array(100000).fill(1));"}))
	.await;
	assert!(e.contains("memory limit of 16 MB"), "{e}");
	let e = fails(json!({"language": "javascript", "code": "({a: 1n})"})).await;
	assert!(e.contains("not JSON"), "{e}");
	let e = fails(
		json!({"language": "javascript", "max_output_bytes": 100, "code": "'x'.repeat(1000)"}),
	)
	.await;
	assert!(e.contains("exceeds 100 bytes"), "{e}");
	let e = fails(json!({"language": "javascript", "max_output_bytes": 100,
		"code": "while (true) console.log('spam')"}))
	.await;
	assert!(e.contains("exceeds 100 bytes"), "{e}");
	// No quickjs-libc modules, no Node or browser I/O: only the ECMAScript built-ins.
	let code = "[typeof std, typeof os, typeof require, typeof fetch, typeof setTimeout]";
	let out = run(json!({"language": "javascript", "code": code}), json!(null))
		.await
		.unwrap();
	assert_eq!(
		out.output,
		json!([
			"undefined",
			"undefined",
			"undefined",
			"undefined",
			"undefined"
		])
	);
}

#[tokio::test]
async fn javascript_stops_when_cancelled() {
	let component = ScriptExecution::new(&Settings::default());
	let ctx = ctx();
	let cancel = ctx.cancel.clone();
	tokio::spawn(async move {
		tokio::time::sleep(std::time::Duration::from_millis(200)).await;
		cancel.cancel();
	});
	let e = component
		.run(
			&ctx,
			&json!({"language": "javascript", "code": "for (;;) {}"}),
			json!(null),
		)
		.await
		.unwrap_err();
	assert_eq!(e, ComponentError::Fatal("script cancelled".into()));
}

#[tokio::test]
async fn python_main_result_and_printed_output() {
	let code =
		"def main(input):\n    print('got', input['n'])\n    return {'doubled': input['n'] * 2}\n";
	let out = run(
		json!({"language": "python", "code": code}),
		json!({"n": 21}),
	)
	.await
	.unwrap();
	assert_eq!(out.output, json!({"doubled": 42}));
	assert_eq!(out.logs, vec![(LogLevel::Info, "got 21".to_owned())]);
	let out = run(
		json!({"language": "python", "code": "result = [input, 1]"}),
		json!("a"),
	)
	.await;
	assert_eq!(out.unwrap().output, json!(["a", 1]));
	let out = run(
		json!({"language": "python", "code": "import json\nprint(json.dumps({'k': input}))"}),
		json!(3),
	)
	.await;
	assert_eq!(out.unwrap().output, json!({"k": 3}));
}

#[tokio::test]
async fn python_failures_are_clear() {
	let e =
		fails(json!({"language": "python", "code": "x = 1\nraise ValueError('bad value')"})).await;
	assert!(
		e.contains("ValueError: bad value") && e.contains("line 2"),
		"{e}"
	);
	let e = fails(json!({"language": "python", "code": "def f(:\n"})).await;
	assert!(e.contains("SyntaxError") && e.contains("line 1"), "{e}");
	let e = fails(json!({"language": "python", "code": "print('not json')"})).await;
	assert!(e.contains("not JSON"), "{e}");
	let e = fails(json!({"language": "python", "code": "result = {1, 2}"})).await;
	assert!(e.contains("not JSON") && e.contains("set"), "{e}");
	let e =
		fails(json!({"language": "python", "code": "while True: pass", "wall_time_seconds": 1}))
			.await;
	assert!(e.contains("timed out after 1 s"), "{e}");
	let e = fails(json!({"language": "python", "code": "while True: pass", "cpu_time_seconds": 1}))
		.await;
	assert!(e.contains("CPU time limit of 1 s"), "{e}");
	let e = fails(json!({"language": "python", "code": "b = bytearray(4 * 1024**3)"})).await;
	assert!(e.contains("memory limit of 256 MB"), "{e}");
	let e = fails(
		json!({"language": "python", "max_output_bytes": 1000, "code": "while True: print('spam')"}),
	)
	.await;
	assert!(e.contains("exceeds 1000 bytes"), "{e}");
	let e = fails(json!({"language": "python", "code": "import os\nwhile True: os.fork()"})).await;
	assert!(e.contains("process limit"), "{e}");
}

#[tokio::test]
async fn python_sees_nothing_of_the_host() {
	let code = "import os, socket\n\
		env = dict(os.environ)\n\
		files = [p for p in ['/etc/shadow', '/etc/passwd', '/root', '/work'] if os.path.exists(p)]\n\
		try:\n    socket.create_connection(('127.0.0.1', 22), timeout=1); net = 'open'\n\
		except OSError as e:\n    net = 'refused'\n\
		result = {'env': sorted(env), 'files': files, 'net': net, 'pid': os.getpid()}\n";
	let out = run(json!({"language": "python", "code": code}), json!(null))
		.await
		.unwrap();
	// Ours, bubblewrap's PWD, and the LC_CTYPE python sets itself (C locale coercion).
	assert_eq!(
		out.output["env"],
		json!(["HOME", "LC_CTYPE", "PATH", "PWD"])
	);
	assert_eq!(out.output["files"], json!([]));
	assert_eq!(out.output["net"], json!("refused"));
	// A PID namespace of its own: bubblewrap's init is 1, the script 2.
	assert!(out.output["pid"].as_u64().unwrap() < 10, "{}", out.output);
}

#[tokio::test]
async fn without_bwrap_python_fails_closed() {
	let settings = Settings {
		bwrap: "/nonexistent/bwrap".into(),
		..Settings::default()
	};
	let e = ScriptExecution::new(&settings)
		.run(
			&ctx(),
			&json!({"language": "python", "code": "result = 1"}),
			json!(null),
		)
		.await
		.unwrap_err();
	assert!(
		e.to_string().contains("sandbox unavailable")
			&& e.to_string().contains("/nonexistent/bwrap"),
		"{e}"
	);
	let settings = Settings {
		python: Some("/nonexistent/python3".into()),
		..Settings::default()
	};
	let e = ScriptExecution::new(&settings)
		.run(
			&ctx(),
			&json!({"language": "python", "code": "result = 1"}),
			json!(null),
		)
		.await
		.unwrap_err();
	assert!(e.to_string().contains("/nonexistent/python3"), "{e}");
}

#[test]
fn config_checks() {
	let c = ScriptExecution::new(&Settings::default());
	let check = |v: Value| c.check_config(v.as_object().unwrap());
	assert!(check(json!({"language": "python", "code": "x"})).is_empty());
	let p = check(json!({"language": "ruby", "memory_mb": 999_999}));
	let fields: Vec<_> = p.iter().map(|(f, _)| f.as_str()).collect();
	assert_eq!(fields, ["language", "code", "memory_mb"], "{p:?}");
	let schema = c.config_schema();
	for (name, prop) in schema["properties"].as_object().unwrap() {
		assert!(prop["description"].is_string(), "{name} has no description");
	}
}

/// The process limit counts per uid: sandboxes running together each get a uid of their own,
/// so a dozen at once do not share one limit of 16 processes (three each: bubblewrap, its
/// init, the interpreter).
#[tokio::test]
async fn a_dozen_python_scripts_at_once_all_run() {
	let component = std::sync::Arc::new(ScriptExecution::new(&Settings::default()));
	let mut runs = tokio::task::JoinSet::new();
	for n in 0..12 {
		let component = std::sync::Arc::clone(&component);
		runs.spawn(async move {
			let config = json!({"language": "python",
				"code": "import time\ntime.sleep(0.3)\nresult = input['n'] * 2"});
			component.run(&ctx(), &config, json!({"n": n})).await
		});
	}
	let mut outputs = Vec::new();
	while let Some(done) = runs.join_next().await {
		outputs.push(done.unwrap().expect("every sandbox runs").output);
	}
	outputs.sort_by_key(|v| v.as_i64());
	assert_eq!(outputs, (0..12).map(|n| json!(n * 2)).collect::<Vec<_>>());
}
