//! Who a connector acts as: the user who started the execution, as they are now (a user
//! disabled or demoted since the start gets what they have now, not what they had).

use apg_core::{ComponentError, Permission, Principal, RunContext};
use serde_json::{Map, Value};

use crate::error::{fatal, refused, retryable};
use crate::platform::Platform;

/// The platform, or the error of a process that has none (`run`, `validate`, `bench`).
pub(crate) fn platform<'p>(
	platform: &'p Option<Platform>,
	kind: &str,
) -> Result<&'p Platform, ComponentError> {
	platform.as_ref().ok_or_else(|| {
		fatal(format!(
			"{kind} works on the server's users, files and logs: run the workflow on a server \
			 (`apg-workflow serve`), not with `run`"
		))
	})
}

/// The principal of the user who started the execution.
pub(crate) async fn principal(
	platform: &Platform,
	ctx: &RunContext,
) -> Result<Principal, ComponentError> {
	let id = ctx.started_by.ok_or_else(|| {
		fatal(
			"this connector acts as the user who started the execution, and this execution has \
			 none (it was started from the CLI)",
		)
	})?;
	let user = platform
		.security
		.accounts
		.get_user(id)
		.await
		.map_err(retryable)?
		.filter(|u| u.active)
		.ok_or_else(|| {
			fatal("the user who started this execution no longer exists or is disabled")
		})?;
	Ok(Principal {
		user_id: user.id,
		username: user.username,
		role: user.role,
	})
}

/// Refuses (and audits the refusal) unless `principal`'s role has `permission`.
pub(crate) async fn require(
	platform: &Platform,
	principal: &Principal,
	permission: Permission,
	operation: &str,
) -> Result<(), ComponentError> {
	platform
		.security
		.guard
		.require(principal, permission)
		.await
		.map_err(|e| refused(operation, e))
}

/// Records what a connector did, as its user, noting the execution it did it in.
pub(crate) async fn audit(
	platform: &Platform,
	principal: &Principal,
	ctx: &RunContext,
	action: &str,
	resource: &str,
	details: Value,
) {
	let mut details = match details {
		Value::Object(m) => m,
		other => Map::from_iter([("value".to_owned(), other)]),
	};
	details.insert("execution_id".into(), ctx.execution_id.to_string().into());
	details.insert("component_id".into(), ctx.component_id.clone().into());
	platform
		.security
		.audit
		.record(
			Some(principal),
			action,
			resource,
			true,
			Value::Object(details),
		)
		.await;
}

/// `config[field]` as a string, if it is one.
pub(crate) fn text<'c>(config: &'c Value, field: &str) -> Option<&'c str> {
	config.get(field).and_then(Value::as_str)
}

/// `config[field]` as a non-empty string, or an error naming the field.
pub(crate) fn required<'c>(
	config: &'c Value,
	field: &str,
	operation: &str,
) -> Result<&'c str, ComponentError> {
	text(config, field)
		.filter(|s| !s.is_empty())
		.ok_or_else(|| fatal(format!("{operation} needs '{field}'")))
}
