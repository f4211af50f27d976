//! `apg_audit`: writes an entry to the audit log, or queries it (`audit.read`), as the user who
//! started the execution.
//!
//! A workflow's entries are named `custom.<action>`, so no workflow can forge an entry that
//! reads like one of the server's own (`user.create`, `auth.login`).

use apg_core::{AuditFilter, Component, ComponentError, Outcome, Permission, RunContext};
use async_trait::async_trait;
use serde_json::{Value, json};

use crate::acting::{audit, platform, principal, require, required, text};
use crate::error::{fatal, retryable};
use crate::platform::Platform;

const KIND: &str = "apg_audit";
/// The most entries one query returns.
const MAX_LIMIT: i64 = 1000;

/// The component.
pub(crate) struct Audit {
	platform: Option<Platform>,
}

impl Audit {
	pub(crate) fn new(platform: Option<Platform>) -> Self {
		Self { platform }
	}
}

#[async_trait]
impl Component for Audit {
	fn kind(&self) -> &'static str {
		KIND
	}

	fn summary(&self) -> &'static str {
		"Writes an entry to the audit log, or queries it (audit.read)"
	}

	fn config_schema(&self) -> Value {
		json!({
			"type": "object",
			"required": ["operation"],
			"properties": {
				"operation": {"type": "string", "enum": ["write", "query"]},
				"action": {"type": "string", "description": "write: what happened (recorded as \
					custom.<action>); query: only entries of this action"},
				"resource": {"type": "string", "description": "write: what it happened to"},
				"details": {"description": "write: anything else worth keeping (never a secret)"},
				"actor": {"type": "string", "description": "query: only this username"},
				"outcome": {"type": "string", "enum": ["allowed", "denied"],
					"description": "query: only this outcome"},
				"limit": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": 100},
				"offset": {"type": "integer", "minimum": 0, "default": 0}
			}
		})
	}

	async fn run(
		&self,
		ctx: &RunContext,
		config: &Value,
		_input: Value,
	) -> Result<Outcome, ComponentError> {
		let p = platform(&self.platform, KIND)?;
		let who = principal(p, ctx).await?;
		match text(config, "operation").unwrap_or_default() {
			"write" => {
				let action = required(config, "action", "write")?;
				if action.len() > 100 || action.chars().any(char::is_whitespace) {
					return Err(fatal(
						"write: 'action' must be at most 100 characters, no spaces",
					));
				}
				let action = format!("custom.{action}");
				let resource = text(config, "resource").unwrap_or("-");
				let details = config.get("details").cloned().unwrap_or(Value::Null);
				audit(p, &who, ctx, &action, resource, json!({"details": details})).await;
				Ok(Outcome::output(json!({"written": true, "action": action})))
			}
			"query" => {
				require(p, &who, Permission::AuditRead, "query").await?;
				let filter = AuditFilter {
					actor: text(config, "actor").map(str::to_owned),
					action: text(config, "action").map(str::to_owned),
					outcome: text(config, "outcome").map(str::to_owned),
					limit: config
						.get("limit")
						.and_then(Value::as_i64)
						.unwrap_or(100)
						.clamp(1, MAX_LIMIT),
					offset: config
						.get("offset")
						.and_then(Value::as_i64)
						.unwrap_or(0)
						.max(0),
				};
				let entries = p
					.security
					.accounts
					.list_audit(&filter)
					.await
					.map_err(retryable)?;
				let entries: Vec<Value> = entries
					.iter()
					.map(|e| serde_json::to_value(e).unwrap_or(Value::Null))
					.collect();
				Ok(Outcome::output(
					json!({"entries": entries, "count": entries.len()}),
				))
			}
			other => Err(fatal(format!("unknown operation '{other}'"))),
		}
	}
}
