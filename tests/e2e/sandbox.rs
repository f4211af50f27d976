//! `script_execution` through the binary: hostile scripts fail their step, the server stays up.
//!
//! Each attack, in Python and in JavaScript, is its own workflow `start → script → end`; every
//! one must end `failed` with the error the attack deserves, the server's encryption key (in the
//! server's environment) must appear nowhere in what the execution exposes, a loopback listener
//! must see no connection, and afterwards `/health` answers 200 and a normal workflow completes.

use std::net::TcpListener;

use serde_json::{Value, json};

use crate::security::{create, execute, get_text, wait_ended};
use crate::server::Server;
use crate::util::{ENCRYPTION_KEY, admin_client};

/// A workflow running `code` in `language` with `limits` added to the step's config.
fn script_workflow(name: &str, language: &str, code: &str, limits: Value) -> Value {
	let mut config = json!({"language": language, "code": code});
	for (k, v) in limits.as_object().unwrap() {
		config[k] = v.clone();
	}
	json!({"name": name, "definition": {
		"components": [
			{"id": "start", "type": "start"},
			{"id": "script", "type": "script_execution", "config": config},
			{"id": "end", "type": "end"}
		],
		"connections": [
			{"source": "start", "target": "script"},
			{"source": "script", "target": "end"}
		]
	}})
}

/// Creates and starts `workflow`, returning the execution id.
async fn start(server: &Server, admin: &reqwest::Client, workflow: &Value) -> String {
	let r = admin
		.post(server.url("/api/v1/workflows"))
		.json(workflow)
		.send()
		.await
		.unwrap();
	assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
	let body: Value = r.json().await.unwrap();
	execute(server, admin, body["data"]["id"].as_str().unwrap()).await
}

/// Everything the API shows of an execution: its detail, its logs, its trace, the step's detail.
async fn everything(server: &Server, admin: &reqwest::Client, id: &str) -> String {
	let mut all = String::new();
	for path in ["", "/logs", "/trace", "/components/script"] {
		all += &get_text(admin, server.url(&format!("/api/v1/executions/{id}{path}"))).await;
	}
	all
}

#[tokio::test]
async fn hostile_scripts_fail_their_step_and_the_server_stays_healthy() {
	let data = tempfile::tempdir().unwrap();
	let server = Server::start_in(data.path(), &[]);
	let admin = admin_client(&server.base).await;
	let listener = TcpListener::bind("127.0.0.1:0").unwrap();
	listener.set_nonblocking(true).unwrap();
	let port = listener.local_addr().unwrap().port();
	let db = data.path().join("apg.db");
	let db = db.to_str().unwrap();
	let quick = json!({"wall_time_seconds": 3, "cpu_time_seconds": 2});
	let none = json!({});

	let py_env = "import os\nseen = repr(dict(os.environ))\n\
		for p in ['/proc/1/environ', '/proc/self/environ']:\n\
		\x20   try:\n        seen += open(p).read()\n    except OSError as e:\n        seen += str(e)\n\
		raise RuntimeError('saw ' + seen)\n";
	let py_socket = format!(
		"import socket\nsocket.create_connection(('127.0.0.1', {port}), timeout=2)\nresult = 'connected'"
	);
	let js_env = "const key = process.env.WORKFLOW_ENCRYPTION_KEY; key";
	let js_socket = format!("fetch('http://127.0.0.1:{port}/')");
	let js_memory =
		"const a = []; for (let i = 0; i < 512; i++) a.push(new Float64Array(1 << 20)); a.length";
	// (name, language, code, limits, what the error must say, alternatives split by `|`)
	let attacks: Vec<(&str, &str, String, &Value, &str)> = vec![
		(
			"py-env",
			"python",
			py_env.into(),
			&none,
			"RuntimeError: saw",
		),
		(
			"py-shadow",
			"python",
			"open('/etc/shadow').read()".into(),
			&none,
			"FileNotFoundError",
		),
		(
			"py-data",
			"python",
			format!("open({db:?}, 'rb').read()"),
			&none,
			"FileNotFoundError",
		),
		(
			"py-socket",
			"python",
			py_socket,
			&none,
			"ConnectionRefusedError",
		),
		(
			"py-fork",
			"python",
			"import os\nwhile True:\n    os.fork()".into(),
			&none,
			"process limit",
		),
		(
			"py-loop",
			"python",
			"while True:\n    pass".into(),
			&quick,
			"CPU time limit of 2 s",
		),
		(
			"py-4gb",
			"python",
			"b = bytearray(4 * 1024**3)".into(),
			&none,
			"memory limit of 256 MB",
		),
		(
			"js-env",
			"javascript",
			js_env.into(),
			&none,
			"ReferenceError",
		),
		(
			"js-shadow",
			"javascript",
			"std.loadFile('/etc/shadow')".into(),
			&none,
			"ReferenceError",
		),
		(
			"js-data",
			"javascript",
			format!("std.open({db:?}, 'r')"),
			&none,
			"ReferenceError",
		),
		(
			"js-socket",
			"javascript",
			js_socket,
			&none,
			"ReferenceError",
		),
		(
			"js-fork",
			"javascript",
			"os.exec(['/bin/sh', '-c', ':(){ :|:& };:'])".into(),
			&none,
			"ReferenceError",
		),
		(
			"js-loop",
			"javascript",
			"for (;;) {}".into(),
			&quick,
			"CPU time limit of 2 s",
		),
		(
			"js-4gb",
			"javascript",
			js_memory.into(),
			&none,
			"memory limit of 256 MB",
		),
	];
	let mut started = Vec::new();
	for (name, language, code, limits, _) in &attacks {
		let workflow = script_workflow(name, language, code, (*limits).clone());
		started.push(start(&server, &admin, &workflow).await);
	}
	for ((name, _, _, _, expected), id) in attacks.iter().zip(&started) {
		let ended = wait_ended(&server, &admin, id).await;
		assert_eq!(ended["status"], "failed", "{name}: {ended}");
		let all = everything(&server, &admin, id).await;
		// `a|b`: either; a loop on a loaded machine may reach its wall time before its CPU time.
		let found = expected.split('|').any(|e| all.contains(e));
		assert!(found, "{name}: no {expected:?} in {all}");
		assert!(
			!all.contains(ENCRYPTION_KEY),
			"{name} exposed the encryption key: {all}"
		);
	}
	assert!(
		listener.accept().is_err(),
		"a script reached the loopback listener"
	);

	let health = reqwest::get(server.url("/health")).await.unwrap();
	assert_eq!(health.status(), 200);
	let normal = script_workflow(
		"normal",
		"python",
		"def main(i):\n    return {'ok': True}",
		json!({}),
	);
	let id = start(&server, &admin, &normal).await;
	let ended = wait_ended(&server, &admin, &id).await;
	assert_eq!(ended["status"], "completed", "{ended}");
	let id = execute(&server, &admin, &create(&server, &admin, "plain").await).await;
	assert_eq!(
		wait_ended(&server, &admin, &id).await["status"],
		"completed"
	);
}

#[tokio::test]
async fn without_bubblewrap_a_python_step_fails_closed() {
	let data = tempfile::tempdir().unwrap();
	let server = Server::start_in(
		data.path(),
		&[("APG_COMPONENTS__SCRIPT__BWRAP", "/nonexistent/bwrap")],
	);
	let admin = admin_client(&server.base).await;
	let workflow = script_workflow("closed", "python", "result = 'ran'", json!({}));
	let id = start(&server, &admin, &workflow).await;
	let ended = wait_ended(&server, &admin, &id).await;
	assert_eq!(ended["status"], "failed", "{ended}");
	let all = everything(&server, &admin, &id).await;
	assert!(
		all.contains("sandbox unavailable") && all.contains("/nonexistent/bwrap"),
		"{all}"
	);
	assert!(!all.contains("\"ran\""), "{all}");
	// JavaScript needs no outside sandbox and still runs.
	let js = script_workflow("js", "javascript", "({ok: true})", json!({}));
	let id = start(&server, &admin, &js).await;
	assert_eq!(
		wait_ended(&server, &admin, &id).await["status"],
		"completed"
	);
}
