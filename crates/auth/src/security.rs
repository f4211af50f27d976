//! Everything an edge (REST, GraphQL, WebSocket) needs to secure a request, bundled so the
//! binary builds it once and every edge shares it.

use std::sync::Arc;

use apg_core::{AuthStore, Cache, Definition, Issue, NotificationStore, Registry, Store, validate};
use serde_json::Value;

use crate::audit::Auditor;
use crate::authn::Authenticator;
use crate::connections::Connections;
use crate::guard::Guard;
use crate::keyring::Keyring;
use crate::limiter::LoginLimiter;
use crate::notices::Notices;
use crate::sealing::seal_definition;
use crate::token::TokenIssuer;
use crate::user_cache::{Invalidating, UserCache};

/// Settings of [`Security`].
#[derive(Clone, Debug)]
pub struct SecurityConfig {
	/// Seconds an access token lives.
	pub access_ttl: i64,
	/// Seconds a refresh token lives.
	pub refresh_ttl: i64,
	/// Failed logins allowed per client and username, per username and (twice as many) per
	/// client before a lock-out with back-off; also attempts a minute per client and username
	/// (see [`LoginLimiter`]).
	pub login_attempts_per_minute: u32,
	/// Refuse definitions with hard-coded secrets (422) instead of warning.
	pub reject_hardcoded_secrets: bool,
	/// Token-signing secret; `None` derives one from the primary encryption key.
	pub signing_key: Option<Vec<u8>>,
	/// Open WebSocket connections per user (`/ws` and GraphQL together).
	pub max_ws_per_user: usize,
	/// The file whose change means accounts were changed outside the server (the data
	/// directory's [`crate::ACCOUNTS_CHANGED`]): cached accounts read before it changed are not
	/// used. `None` when no other process writes the accounts this server caches.
	pub accounts_marker: Option<std::path::PathBuf>,
}

impl Default for SecurityConfig {
	fn default() -> Self {
		Self {
			access_ttl: 900,
			refresh_ttl: 7 * 24 * 3600,
			login_attempts_per_minute: 10,
			reject_hardcoded_secrets: false,
			signing_key: None,
			max_ws_per_user: 16,
			accounts_marker: None,
		}
	}
}

/// Authentication, authorization, audit and keys.
#[derive(Clone)]
pub struct Security {
	/// Who is calling.
	pub authn: Authenticator,
	/// What they may do.
	pub guard: Guard,
	/// What was done and refused.
	pub audit: Auditor,
	/// Users, keys, shares, credentials.
	pub accounts: Arc<dyn AuthStore>,
	/// Sealing keys.
	pub keys: Arc<Keyring>,
	/// Open WebSocket connections per user.
	pub connections: Arc<Connections>,
	/// In-app notifications.
	pub notices: Notices,
	/// Settings.
	pub config: Arc<SecurityConfig>,
}

impl Security {
	/// Builds the bundle.
	pub fn new(
		store: Arc<dyn Store>,
		accounts: Arc<dyn AuthStore>,
		notifications: Arc<dyn NotificationStore>,
		keys: Arc<Keyring>,
		config: SecurityConfig,
	) -> Self {
		Self::cached(store, accounts, notifications, keys, config, None)
	}

	/// As [`Security::new`], with callers' accounts cached in `cache` (see
	/// [`crate::user_cache`]): the engine's cache, shared by every node that serves requests.
	pub fn cached(
		store: Arc<dyn Store>,
		accounts: Arc<dyn AuthStore>,
		notifications: Arc<dyn NotificationStore>,
		keys: Arc<Keyring>,
		config: SecurityConfig,
		cache: Option<Arc<dyn Cache>>,
	) -> Self {
		let users = Arc::new(UserCache::new(
			cache.clone(),
			config.accounts_marker.clone(),
		));
		let accounts: Arc<dyn AuthStore> = Arc::new(Invalidating::new(accounts, users.clone()));
		let signing = config
			.signing_key
			.clone()
			.unwrap_or_else(|| keys.derived_signing_key());
		let issuer = TokenIssuer::new(&signing, config.access_ttl, config.refresh_ttl);
		let audit = Auditor::new(Arc::clone(&accounts));
		Self {
			authn: Authenticator::cached(
				Arc::clone(&accounts),
				users,
				issuer,
				LoginLimiter::new(config.login_attempts_per_minute),
			),
			guard: Guard::new(store, cache, Arc::clone(&accounts), audit.clone()),
			audit,
			accounts,
			keys,
			connections: Connections::new(config.max_ws_per_user),
			notices: Notices::new(notifications),
			config: Arc::new(config),
		}
	}
}

/// Why [`Security::seal`] refused a definition.
#[derive(Debug)]
pub enum SealRefusal {
	/// The definition is invalid: every problem.
	Invalid(Vec<Issue>),
	/// It holds hard-coded secrets and the policy refuses them: each warning.
	HardCodedSecrets(Vec<Issue>),
}

impl Security {
	/// Validates a definition as the user sent it, applies the hard-coded-secret policy (the
	/// warnings are computed before sealing hides the values), then seals its sensitive fields.
	/// `previous` is the stored definition it replaces. Returns the security warnings.
	pub fn seal(
		&self,
		definition: &mut Value,
		previous: Option<&Definition>,
		registry: &Registry,
	) -> Result<Vec<Issue>, SealRefusal> {
		let (_, report) = validate(definition, registry);
		if !report.is_valid {
			return Err(SealRefusal::Invalid(report.errors));
		}
		if self.config.reject_hardcoded_secrets && !report.warnings.is_empty() {
			return Err(SealRefusal::HardCodedSecrets(report.warnings));
		}
		seal_definition(definition, previous, &self.keys);
		Ok(report.warnings)
	}
}

impl SealRefusal {
	/// What to tell the user.
	pub fn message(&self) -> &'static str {
		match self {
			Self::Invalid(_) => "invalid definition",
			Self::HardCodedSecrets(_) => {
				"the definition contains hard-coded secrets: store them as credentials and use \
				 {{secrets.<name>}}"
			}
		}
	}

	/// Each problem, with its path.
	pub fn issues(self) -> Vec<Issue> {
		match self {
			Self::Invalid(i) | Self::HardCodedSecrets(i) => i,
		}
	}
}
