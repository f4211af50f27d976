//! [`Platform`]: the services a connector reaches, built once by `serve`.

use std::sync::Arc;

use apg_auth::Security;
use apg_core::Cache;

use crate::files::UserFiles;
use crate::settings::Settings;

/// What the connectors act on.
#[derive(Clone)]
pub struct Platform {
	/// Accounts, the guard, the audit log and notifications: the same the API uses.
	pub security: Security,
	/// The per-user file store (also `/api/v1/files`).
	pub files: UserFiles,
	/// Where `apg_capability` calls, how large a stored file may be.
	pub settings: Settings,
	/// The shared cache of `apg_capability` (Redis when configured, else in process); `None`
	/// caches nothing.
	pub cache: Option<Arc<dyn Cache>>,
}
