//! The CLI verbs as a user runs them.

use crate::util::{example, run, text};

#[test]
fn validate_accepts_every_example() {
	for entry in std::fs::read_dir(example("")).unwrap() {
		let path = entry.unwrap().path();
		let out = run(&["validate", path.to_str().unwrap()]);
		assert!(out.status.success(), "{}: {}", path.display(), text(&out));
	}
}

#[test]
fn validate_reports_every_problem_with_its_path_and_exits_1() {
	let dir = tempfile::tempdir().unwrap();
	let file = dir.path().join("bad.json");
	std::fs::write(
		&file,
		r#"{"components": [
			{"id": "start", "type": "start"},
			{"id": "a", "type": "dance"},
			{"id": "b", "type": "delay", "config": {"seconds": -1}},
			{"id": "b", "type": "task", "config": {"task_type": "echo", "message": "{{ steps.ghost.output }}"}},
			{"id": "c", "type": "task", "config": {"task_type": "noop", "api_token": "abcdefghijklmnop"}}
		],
		"connections": [{"source": "start", "target": "a"}, {"source": "a", "target": "nowhere"},
			{"source": "c", "target": "c"}]}"#,
	)
	.unwrap();
	let out = run(&["validate", file.to_str().unwrap()]);
	let report = text(&out);
	assert_eq!(out.status.code(), Some(1), "{report}");
	for expected in [
		"definition.components[1].type: unknown component type 'dance'",
		"definition.components[2].config.seconds: must be at least 0",
		"definition.components[3].id: duplicate id 'b'",
		"definition.components[3].config.message: 'steps.ghost.output' names unknown component 'ghost'",
		"definition.connections[1].target: unknown component 'nowhere'",
		"cycle: c → c",
		"warning: definition.components[4].config.api_token",
	] {
		assert!(
			report.contains(expected),
			"missing '{expected}' in:\n{report}"
		);
	}
}

#[test]
fn run_completes_the_seed_integration_workflow() {
	let out = run(&["run", example("integration_test.json").to_str().unwrap()]);
	let report = text(&out);
	assert!(out.status.success(), "{report}");
	assert!(
		report.contains("completed") && report.contains("Hello World"),
		"{report}"
	);
}

#[test]
fn run_completes_the_thousand_component_chain_and_fifty_concurrent_delays() {
	let out = run(&[
		"run",
		"-q",
		example("large_workflow_1000.json").to_str().unwrap(),
	]);
	assert!(out.status.success(), "{}", text(&out));
	let out = run(&[
		"run",
		"--count",
		"50",
		example("concurrent_delay.json").to_str().unwrap(),
	]);
	assert!(
		text(&out).contains("50/50 executions completed"),
		"{}",
		text(&out)
	);
}

#[test]
fn run_follows_branches_with_parameters() {
	let file = example("order_routing.json");
	let out = run(&[
		"run",
		file.to_str().unwrap(),
		"--param",
		"amount=2500",
		"-p",
		"customer=Ada",
	]);
	let report = text(&out);
	assert!(out.status.success(), "{report}");
	assert!(report.contains("Ada: review 2500 by hand"), "{report}");
	let out = run(&["run", file.to_str().unwrap()]);
	assert_eq!(
		out.status.code(),
		Some(1),
		"a required parameter is missing: {}",
		text(&out)
	);
	assert!(text(&out).contains("parameters.amount: is required"));
}

#[test]
fn a_handled_failure_completes_through_the_failure_path_after_its_retries() {
	let dir = tempfile::tempdir().unwrap();
	let trace = dir.path().join("trace.json");
	let file = example("retry_then_recover.json");
	let out = run(&[
		"run",
		file.to_str().unwrap(),
		"--trace",
		trace.to_str().unwrap(),
	]);
	let report = text(&out);
	assert!(out.status.success(), "{report}");
	assert!(report.contains("sent to the dead-letter queue"), "{report}");
	let trace: serde_json::Value = serde_json::from_slice(&std::fs::read(&trace).unwrap()).unwrap();
	let flaky = trace
		.as_array()
		.unwrap()
		.iter()
		.find(|e| e["component_id"] == "flaky")
		.unwrap();
	assert_eq!(flaky["attempts"].as_array().unwrap().len(), 3, "{flaky}");
	assert_eq!(flaky["result"]["success"], true);
}

#[test]
fn an_unhandled_failure_fails_with_the_component_error_and_exit_code_1() {
	let out = run(&["run", example("unhandled_failure.json").to_str().unwrap()]);
	let report = text(&out);
	assert_eq!(out.status.code(), Some(1), "{report}");
	assert!(
		report.contains("component 'validate_orders' failed: filter needs a list input"),
		"{report}"
	);
}

#[test]
fn the_debugger_pauses_at_a_breakpoint_and_answers_at_its_prompt() {
	use std::io::Write;
	use std::process::Stdio;
	let mut child = crate::util::bin()
		.args([
			"run",
			example("order_routing.json").to_str().unwrap(),
			"-p",
			"amount=5",
			"--break",
			"route",
		])
		.stdin(Stdio::piped())
		.stdout(Stdio::piped())
		.stderr(Stdio::piped())
		.spawn()
		.unwrap();
	child
		.stdin
		.take()
		.unwrap()
		.write_all(b"help\nprint customer\nprint missing\nstep\ncontinue\n")
		.unwrap();
	let out = child.wait_with_output().unwrap();
	let report = text(&out);
	assert!(out.status.success(), "{report}");
	for expected in [
		"Breakpoint hit: route",
		"Debug> ",
		"continue, c - Continue execution",
		"customer: \"anonymous\"",
		"Variable 'missing' not found",
		"Breakpoint hit: fast_track",
		"fast-tracked 5",
	] {
		assert!(
			report.contains(expected),
			"missing '{expected}' in:\n{report}"
		);
	}
}

#[test]
fn run_with_a_data_dir_persists_and_migrate_is_idempotent() {
	let dir = tempfile::tempdir().unwrap();
	let data = dir.path().to_str().unwrap();
	assert!(run(&["migrate", "--data-dir", data]).status.success());
	assert!(run(&["migrate", "--data-dir", data]).status.success());
	let file = example("integration_test.json");
	for _ in 0..2 {
		let out = run(&["run", file.to_str().unwrap(), "--data-dir", data]);
		assert!(out.status.success(), "{}", text(&out));
	}
	assert!(dir.path().join("apg.db").exists());
	let out = run(&["resume", "--data-dir", data]);
	assert!(
		text(&out).contains("resumed 0 unfinished executions"),
		"{}",
		text(&out)
	);
}
