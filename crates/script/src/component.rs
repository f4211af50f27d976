//! [`ScriptExecution`], the `script_execution` component: its config schema, its checks, and the
//! dispatch to the language's runner.

use std::sync::Arc;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use apg_core::{Component, ComponentError, Outcome, RunContext};

use crate::Settings;
use crate::error::ScriptError;
use crate::js;
use crate::limits::{self, Limits};
use crate::python::Python;

/// The languages a script may be written in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Language {
	/// ECMAScript 2023 in QuickJS, in process.
	Javascript,
	/// CPython in a bubblewrap sandbox.
	Python,
}

impl Language {
	const ALL: [(&'static str, Self); 2] =
		[("javascript", Self::Javascript), ("python", Self::Python)];

	fn parse(name: &str) -> Option<Self> {
		Self::ALL.iter().find(|(n, _)| *n == name).map(|(_, l)| *l)
	}
}

/// User code with CPU, memory, wall-time and output limits (see the crate's documentation).
pub struct ScriptExecution {
	settings: Settings,
	python: Arc<Python>,
}

impl ScriptExecution {
	/// The component, configured by `settings`.
	pub fn new(settings: &Settings) -> Self {
		Self {
			settings: settings.clone(),
			python: Arc::new(Python::new(settings.clone())),
		}
	}

	/// The step's code: `code`, or the seed's `script`.
	fn code(config: &Map<String, Value>) -> Option<&Value> {
		config.get("code").or_else(|| config.get("script"))
	}

	async fn execute(
		&self,
		ctx: &RunContext,
		config: &Map<String, Value>,
		input: Value,
	) -> Result<Outcome, ScriptError> {
		let language = config
			.get("language")
			.and_then(Value::as_str)
			.and_then(Language::parse)
			.ok_or_else(|| ScriptError::Config("language: must be javascript or python".into()))?;
		let code = Self::code(config)
			.and_then(Value::as_str)
			.ok_or_else(|| ScriptError::Config("code: the script's source is required".into()))?
			.to_owned();
		let limits = Limits::resolve(config, &self.settings.defaults, &self.settings.maximum)?;
		let run = match language {
			Language::Javascript => {
				let cancel = ctx.cancel.clone();
				// QuickJS blocks its thread until the script ends; the interrupt handler bounds
				// that by the deadline and the cancellation token.
				tokio::task::spawn_blocking(move || js::run(&code, &input, &limits, &cancel))
					.await
					.map_err(|e| ScriptError::Crashed(format!("the JavaScript thread: {e}")))??
			}
			Language::Python => self.python.run(&code, &input, &limits, &ctx.cancel).await?,
		};
		Ok(Outcome {
			output: run.output,
			logs: run.logs,
			..Outcome::default()
		})
	}
}

#[async_trait]
impl Component for ScriptExecution {
	fn kind(&self) -> &'static str {
		"script_execution"
	}

	fn summary(&self) -> &'static str {
		"Run JavaScript or Python on the input, sandboxed, with time, memory and output limits"
	}

	fn config_schema(&self) -> Value {
		let mut properties = Map::new();
		properties.insert(
			"language".into(),
			json!({
				"type": "string",
				"enum": Language::ALL.map(|(n, _)| n),
				"description": "The script's language: javascript (QuickJS, in process) or \
					python (python3 under bubblewrap).",
			}),
		);
		let code = "The script. It sees the step's input as `input`; its output is \
			`main(input)` when it defines `main`, else (JavaScript) the value of its last \
			expression, or (Python) its global `result`, else the last line it printed, as JSON.";
		properties.insert(
			"code".into(),
			json!({"type": "string", "minLength": 1, "description": code}),
		);
		properties.insert(
			"script".into(),
			json!({"type": "string", "minLength": 1, "description": "The seed's name for `code`."}),
		);
		for (field, description) in limits::FIELDS {
			properties.insert(
				(*field).into(),
				json!({"type": "integer", "minimum": 1, "description": description}),
			);
		}
		json!({
			"required": ["language"],
			"properties": properties,
		})
	}

	fn check_config(&self, config: &Map<String, Value>) -> Vec<(String, String)> {
		let mut problems = Vec::new();
		match config.get("language").and_then(Value::as_str) {
			Some(l) if l.contains("{{") || Language::parse(l).is_some() => {}
			_ => problems.push(("language".into(), "must be javascript or python".into())),
		}
		match (config.get("code"), config.get("script")) {
			(Some(_), Some(_)) => {
				problems.push(("script".into(), "give `code` or `script`, not both".into()));
			}
			(None, None) => {
				problems.push(("code".into(), "the script's source is required".into()))
			}
			_ => {}
		}
		problems.extend(Limits::check(config, &self.settings.maximum));
		problems
	}

	async fn run(
		&self,
		ctx: &RunContext,
		config: &Value,
		input: Value,
	) -> Result<Outcome, ComponentError> {
		let empty = Map::new();
		let config = config.as_object().unwrap_or(&empty);
		self.execute(ctx, config, input)
			.await
			.map_err(ComponentError::from)
	}
}
