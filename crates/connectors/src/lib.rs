//! The APG connectors: the seed's `apg_user_management`, `apg_notification`,
//! `apg_file_management` and `apg_audit`, and `apg_capability` for a remote APG endpoint.
//!
//! Where the seed calls out to an `APGClient`, these call the platform's own services (the
//! account store, the audit log, in-app notifications, the per-user file store) in process, and
//! always **as the user who started the execution** ([`apg_core::RunContext::started_by`]): every
//! operation asks that user's role through the same [`apg_auth::Guard`] the API uses, and a
//! refusal is audited like the API's. So a workflow can never do more than whoever ran it (an
//! editor's workflow cannot create an admin), and an execution with no user (the CLI's `run`)
//! gets no connector at all.
//!
//! `run`, `validate` and `bench` have no server: [`register`] with no [`Platform`] still
//! declares the five kinds (so definitions using them validate everywhere), and each fails its
//! step with an error that says so.

mod acting;
mod audit;
mod capability;
mod error;
mod files;
mod notify;
mod platform;
mod settings;
mod users;

use std::sync::Arc;

use apg_core::Registry;

pub use error::FileError;
pub use files::{StoredFile, UserFiles};
pub use platform::Platform;
pub use settings::{DEFAULT_MAX_FILE_BYTES, Settings};

/// Adds the connectors to `registry`. `apg_notification` sends email and webhooks through the
/// registry's own `email` and `http_request` (its SMTP defaults, credentials and SSRF guard), so
/// register those first.
pub fn register(registry: &mut Registry, platform: Option<Platform>) {
	let email = registry.get("email").cloned();
	let http = registry.get("http_request").cloned();
	registry.register(Arc::new(users::UserManagement::new(platform.clone())));
	registry.register(Arc::new(audit::Audit::new(platform.clone())));
	registry.register(Arc::new(files::FileManagement::new(platform.clone())));
	registry.register(Arc::new(notify::Notification::new(
		platform.clone(),
		email,
		http,
	)));
	registry.register(Arc::new(capability::Capability::new(platform)));
}
