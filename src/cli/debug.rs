//! The interactive debugger of `run --debug` (the seed's `WorkflowDebugger`): when the execution
//! pauses at a breakpoint it shows the component's input and the variables and reads commands at
//! a `Debug>` prompt: `continue`/`c`, `step`/`s` (run this component and pause before the next),
//! `print VAR` and `help`/`h`. End of input continues.

use std::io::Write;
use std::sync::Arc;

use apg_core::{Event, EventKind, ExecutionId};
use apg_engine::Engine;
use serde_json::{Map, Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::sync::broadcast;

pub(crate) async fn session(
	engine: Engine,
	exec: ExecutionId,
	mut events: broadcast::Receiver<Arc<Event>>,
) {
	let mut lines = BufReader::new(tokio::io::stdin()).lines();
	loop {
		let event = match events.recv().await {
			Ok(e) => e,
			Err(broadcast::error::RecvError::Lagged(_)) => continue,
			Err(_) => return,
		};
		if event.execution_id != exec {
			continue;
		}
		match &event.kind {
			EventKind::Paused { component_id } => {
				let step = prompt(&engine, exec, component_id, &mut lines).await;
				if let Err(e) = engine.resume(exec, step).await {
					eprintln!("cannot resume: {e}");
				}
			}
			EventKind::Component {
				component_id,
				status,
				attempt,
				..
			} => {
				println!("  {component_id}: {status} (attempt {attempt})");
			}
			EventKind::Execution { .. } if event.is_terminal() => return,
			EventKind::Execution { .. } => {}
		}
	}
}

/// Shows the breakpoint and reads commands; returns whether to step.
async fn prompt<R: tokio::io::AsyncBufRead + Unpin>(
	engine: &Engine,
	exec: ExecutionId,
	component: &str,
	lines: &mut tokio::io::Lines<R>,
) -> bool {
	let context = context(engine, exec, component).await;
	println!("🔴 Breakpoint hit: {component}");
	println!("Input data: {}", pretty(&context["input"]));
	println!("Variables: {}", pretty(&context["vars"]));
	loop {
		print!("Debug> ");
		let _ = std::io::stdout().flush();
		let Ok(Some(line)) = lines.next_line().await else {
			println!();
			return false;
		};
		let command = line.trim();
		let lower = command.to_lowercase();
		match lower.as_str() {
			"continue" | "c" => return false,
			"step" | "s" => return true,
			"help" | "h" => {
				println!("Available commands:");
				println!("  continue, c - Continue execution");
				println!("  step, s     - Step to next component");
				println!("  print <var> - Print variable value");
				println!("  help, h     - Show this help");
			}
			"" => {}
			_ if lower.starts_with("print ") => {
				let name = command[6..].trim();
				match lookup(&context, name) {
					Some(value) => println!("{name}: {}", pretty(value)),
					None => println!("Variable '{name}' not found"),
				}
			}
			_ => println!("Unknown command: {command}"),
		}
	}
}

/// What `print` can reach: variables first (as the seed), then parameters, `input`, `params`,
/// `vars` and `steps.<id>.output…` by dotted path.
async fn context(engine: &Engine, exec: ExecutionId, component: &str) -> Value {
	let store = engine.store();
	let execution = store.get_execution(exec).await.ok().flatten();
	let steps = store.steps(exec).await.unwrap_or_default();
	let mut step_map = Map::new();
	let mut input = Value::Null;
	for s in steps {
		if s.component_id == component {
			input = s.input.clone().unwrap_or(Value::Null);
		}
		step_map.insert(
			s.component_id.clone(),
			json!({"output": s.output, "status": s.status, "input": s.input}),
		);
	}
	let (params, vars) = execution
		.map(|e| (e.parameters, e.vars))
		.unwrap_or_default();
	json!({"input": input, "vars": vars, "params": params, "steps": step_map})
}

fn lookup<'a>(context: &'a Value, name: &str) -> Option<&'a Value> {
	if let Some(v) = context["vars"].get(name) {
		return Some(v);
	}
	if let Some(v) = context["params"].get(name) {
		return Some(v);
	}
	let mut current = context;
	for part in name.split('.') {
		current = match current {
			Value::Object(map) => map.get(part)?,
			Value::Array(items) => items.get(part.parse::<usize>().ok()?)?,
			_ => return None,
		};
	}
	Some(current)
}

fn pretty(value: &Value) -> String {
	serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string())
}
