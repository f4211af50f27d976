//! Helpers the integration tests of `apg-components` share: a run context, settings that allow
//! the loopback peers the tests start, and the environment switches for external databases.

#![allow(dead_code, unreachable_pub)]

use std::path::PathBuf;
use std::sync::Arc;

use serde_json::{Map, Value};

use apg_components::Settings;
use apg_core::{Component, ComponentError, ExecutionId, Outcome, RunContext, WorkflowId};

/// A context for the first attempt of component `c` in a fresh execution.
pub fn ctx() -> RunContext {
	RunContext {
		execution_id: ExecutionId::new(),
		workflow_id: WorkflowId::new(),
		component_id: "c".to_owned(),
		attempt: 1,
		params: Arc::new(Map::new()),
		vars: Map::new(),
		cancel: Default::default(),
		started_by: None,
	}
}

/// Settings allowing loopback peers, with `roots` as the file roots.
pub fn loopback(roots: Vec<PathBuf>) -> Settings {
	Settings {
		http_allow: vec!["127.0.0.1".to_owned(), "localhost".to_owned()],
		file_roots: roots,
		..Settings::default()
	}
}

/// Runs `component` once with `config`.
pub async fn run(component: &dyn Component, config: Value) -> Result<Outcome, ComponentError> {
	component.run(&ctx(), &config, Value::Null).await
}

/// The value of `var`, or `None` after printing that the test is skipped.
pub fn env_or_skip(var: &str) -> Option<String> {
	match std::env::var(var) {
		Ok(v) if !v.is_empty() => Some(v),
		_ => {
			println!("skipped: {var} is not set");
			None
		}
	}
}

/// A name no other test run uses (schemas, tables).
pub fn unique(prefix: &str) -> String {
	let nanos = std::time::SystemTime::now()
		.duration_since(std::time::UNIX_EPOCH)
		.map(|d| d.as_nanos())
		.unwrap_or_default();
	format!("{prefix}_{}_{}", std::process::id(), nanos % 1_000_000_000)
}
