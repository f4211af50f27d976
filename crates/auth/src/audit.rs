//! Writes the audit log: every mutation and every denied request, with who, what, on which
//! resource, when and details. Entries are append-only; the API only reads them.

use std::sync::Arc;

use serde_json::Value;

use apg_core::{AuditEntry, AuthStore, Principal, now_millis};

/// Appends audit entries.
#[derive(Clone)]
pub struct Auditor {
	accounts: Arc<dyn AuthStore>,
}

impl Auditor {
	/// An auditor writing to `accounts`.
	pub fn new(accounts: Arc<dyn AuthStore>) -> Self {
		Self { accounts }
	}

	/// Records that `actor` (or an anonymous caller) did, or was refused, `action` on
	/// `resource`. A failure to write is logged: the action it describes has happened already.
	pub async fn record(
		&self,
		actor: Option<&Principal>,
		action: &str,
		resource: &str,
		allowed: bool,
		details: Value,
	) {
		let entry = AuditEntry {
			id: 0,
			at: now_millis(),
			actor_id: actor.map(|p| p.user_id),
			actor: actor.map_or_else(|| "anonymous".to_owned(), |p| p.username.clone()),
			action: action.to_owned(),
			resource: resource.to_owned(),
			outcome: if allowed { "allowed" } else { "denied" }.to_owned(),
			details,
		};
		if let Err(e) = self.accounts.append_audit(&entry).await {
			tracing::error!(error = %e, action, resource, "cannot write the audit log");
		}
	}
}
