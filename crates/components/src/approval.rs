//! `approval`: waits for people. It owns who may decide (`approvers`: users and roles),
//! how many must approve (`required`), whether the user who started the execution may
//! (`allow_self_approval`), an optional `form` whose values become the output, and a `timeout`
//! with `on_timeout`. The engine keeps the wait (it holds no worker); decisions arrive through
//! `POST /api/v1/executions/{id}/approvals/{component}`. One rejection rejects: the step fails
//! with it, so `failure` connections route a rejection.

use std::time::Duration;

use async_trait::async_trait;
use serde_json::{Map, Value, json};

use apg_core::{
	ApprovalRequest, Component, ComponentError, DurableWait, OnTimeout, Outcome, Role, RunContext,
};

/// The longest wait: one year, in seconds.
const MAX_SECONDS: f64 = 31_536_000.0;

/// The `approval` component.
pub struct Approval;

/// A `timeout` in seconds, when there is one.
pub(crate) fn timeout(config: &Value) -> Result<Option<Duration>, String> {
	match config.get("timeout") {
		None | Some(Value::Null) => Ok(None),
		Some(v) => match v.as_f64() {
			Some(s) if (0.0..=MAX_SECONDS).contains(&s) => Ok(Some(Duration::from_secs_f64(s))),
			_ => Err(format!(
				"'timeout' must be a number of seconds from 0 to {MAX_SECONDS}, got {v}"
			)),
		},
	}
}

fn request(config: &Value) -> Result<ApprovalRequest, String> {
	let approvers = config.get("approvers").cloned().unwrap_or(json!({}));
	let list = |field: &str| -> Result<Vec<String>, String> {
		match approvers.get(field) {
			None | Some(Value::Null) => Ok(Vec::new()),
			Some(Value::Array(items)) => items
				.iter()
				.map(|i| {
					i.as_str()
						.map(str::to_owned)
						.ok_or_else(|| format!("'approvers.{field}' must list strings"))
				})
				.collect(),
			Some(_) => Err(format!("'approvers.{field}' must be a list")),
		}
	};
	let roles = list("roles")?
		.iter()
		.map(|r| {
			serde_json::from_value::<Role>(Value::String(r.clone()))
				.map_err(|_| format!("'{r}' is not a role (admin, editor, operator, viewer)"))
		})
		.collect::<Result<Vec<_>, _>>()?;
	let required = match config.get("required") {
		None | Some(Value::Null) => 1,
		Some(v) => v
			.as_u64()
			.filter(|n| (1..=100).contains(n))
			.ok_or_else(|| format!("'required' must be a whole number from 1 to 100, got {v}"))?
			as u32,
	};
	let on_timeout = match config.get("on_timeout") {
		None | Some(Value::Null) => OnTimeout::default(),
		Some(v) => serde_json::from_value(v.clone())
			.map_err(|_| format!("'on_timeout' must be approve, reject or fail, got {v}"))?,
	};
	let form = match config.get("form") {
		None | Some(Value::Null) => None,
		Some(f @ Value::Object(_)) => {
			apg_core::schema::ConfigSchema::compile(f.clone())
				.map_err(|e| format!("'form' is not a schema: {e}"))?;
			Some(f.clone())
		}
		Some(_) => return Err("'form' must be a JSON schema object".to_owned()),
	};
	Ok(ApprovalRequest {
		message: config
			.get("message")
			.and_then(Value::as_str)
			.map(str::to_owned),
		users: list("users")?,
		roles,
		required,
		allow_self_approval: config
			.get("allow_self_approval")
			.and_then(Value::as_bool)
			.unwrap_or(false),
		form,
		on_timeout,
		..ApprovalRequest::default()
	})
}

#[async_trait]
impl Component for Approval {
	fn kind(&self) -> &'static str {
		"approval"
	}

	fn summary(&self) -> &'static str {
		"Waits for permitted users to approve or reject (holds no worker); outputs the decisions"
	}

	fn config_schema(&self) -> Value {
		json!({
			"type": "object",
			"properties": {
				"message": {"type": "string", "description": "What the approvers are asked"},
				"approvers": {
					"type": "object",
					"description": "Who may decide; with neither list, anyone who may run the \
						workflow",
					"properties": {
						"users": {"type": "array", "items": {"type": "string"},
							"description": "User names or ids"},
						"roles": {"type": "array", "items": {"enum": Role::ALL.map(Role::as_str)},
							"description": "Roles whose members may decide"}
					},
					"additionalProperties": false
				},
				"required": {"type": "integer", "minimum": 1, "maximum": 100, "default": 1,
					"description": "Approvals needed (one rejection rejects)"},
				"allow_self_approval": {"type": "boolean", "default": false,
					"description": "Whether the user who started the execution may decide"},
				"form": {"type": "object",
					"description": "A JSON schema of the fields an approver fills in; the values \
						become the output"},
				"timeout": {"type": "number", "minimum": 0, "maximum": MAX_SECONDS,
					"description": "Seconds to wait for the decisions"},
				"on_timeout": {"enum": ["approve", "reject", "fail"], "default": "fail",
					"description": "What happens when the timeout passes"}
			}
		})
	}

	fn check_config(&self, config: &Map<String, Value>) -> Vec<(String, String)> {
		let config = Value::Object(config.clone());
		let mut issues = Vec::new();
		if let Err(e) = request(&config) {
			issues.push(("approvers".to_owned(), e));
		}
		if let Err(e) = timeout(&config) {
			issues.push(("timeout".to_owned(), e));
		}
		issues
	}

	fn is_durable(&self) -> bool {
		true
	}

	fn waits_outside(&self) -> bool {
		true
	}

	fn durable_wait(&self, config: &Value) -> Result<DurableWait, String> {
		Ok(DurableWait::Approval(request(config)?, timeout(config)?))
	}

	async fn run(
		&self,
		_ctx: &RunContext,
		_config: &Value,
		_input: Value,
	) -> Result<Outcome, ComponentError> {
		// The engine ends an approval itself; `run` is only reached if it was not a wait.
		Err(ComponentError::Fatal(
			"an approval is decided through the API, not run".to_owned(),
		))
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn the_request_is_read_from_the_config_and_bad_fields_are_named() {
		let config = json!({
			"approvers": {"users": ["alice"], "roles": ["admin"]},
			"required": 2,
			"timeout": 60,
			"on_timeout": "reject",
			"form": {"type": "object", "properties": {"reason": {"type": "string"}}}
		});
		let Ok(DurableWait::Approval(req, timeout)) = Approval.durable_wait(&config) else {
			panic!("not an approval");
		};
		assert_eq!(req.users, vec!["alice"]);
		assert_eq!(req.roles, vec![Role::Admin]);
		assert_eq!(req.required, 2);
		assert_eq!(req.on_timeout, OnTimeout::Reject);
		assert!(!req.allow_self_approval);
		assert_eq!(timeout, Some(Duration::from_secs(60)));
		for (bad, says) in [
			(json!({"required": 0}), "'required'"),
			(json!({"approvers": {"roles": ["boss"]}}), "not a role"),
			(json!({"on_timeout": "maybe"}), "'on_timeout'"),
			(json!({"timeout": -1}), "'timeout'"),
			(json!({"form": 3}), "'form'"),
		] {
			let e = Approval.durable_wait(&bad).unwrap_err();
			assert!(e.contains(says), "{bad}: {e}");
		}
	}
}
