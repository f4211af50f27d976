//! The callers' accounts, cached: every request needs its caller's role, state and version, and
//! reading them from the store was one query per request. The cache is the engine's (Redis
//! shared by every node, or memory in one process; none for several nodes without Redis, where
//! every request reads the store as before).
//!
//! The security rules need a change to an account (disabled, deleted, a new role or password)
//! to hold from the next request on. So the cache is dropped by the store itself:
//! [`Invalidating`] wraps the [`AuthStore`] that every part of [`crate::Security`] holds and
//! deletes a user's entry after each write to that user, on every node when the cache is
//! shared. A change made outside the server, by the `user` CLI on a running server's data
//! directory, touches [`ACCOUNTS_CHANGED`] there ([`mark_accounts_changed`]); a server given
//! that file (`SecurityConfig::accounts_marker`) checks its modification time on every
//! request (one `stat`, far cheaper than the query it replaces) and takes no entry cached
//! before it. One gap remains, bounded by [`TTL`]: a request on another node that read the
//! account just before a change may store it again just after (on this node a generation
//! count refuses such a late entry), as may the CLI's change when the cache is Redis. Only
//! what a request needs is cached, never the password hash.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, UNIX_EPOCH};

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use apg_core::account::{
	ApiKey, AuditEntry, AuditFilter, Credential, RefreshFamily, Rotation, ScopedKey, Share, User,
};
use apg_core::store::StoreResult;
use apg_core::{
	ApiKeyId, AuthStore, Cache, CredentialId, Millis, Principal, Role, UserId, WorkflowId,
};

/// How long an entry lives: the most a change can go unseen (see the module comment).
const TTL: Duration = Duration::from_secs(2);

/// The file in a data directory whose change means accounts were changed outside the server.
pub const ACCOUNTS_CHANGED: &str = "accounts.changed";

/// Tells a server running on `data_dir` that accounts changed under it: call after writing
/// them from another process.
pub fn mark_accounts_changed(data_dir: &Path) -> std::io::Result<()> {
	let stamp = format!("{}\n", apg_core::now_millis());
	std::fs::write(data_dir.join(ACCOUNTS_CHANGED), stamp)
}

/// The state of the marker file: its modification time and size, 0 while it does not exist.
fn marker_state(path: &Path) -> u64 {
	let Ok(meta) = std::fs::metadata(path) else {
		return 0;
	};
	let nanos = meta
		.modified()
		.ok()
		.and_then(|t| t.duration_since(UNIX_EPOCH).ok())
		.map_or(0, |d| d.as_nanos() as u64);
	nanos ^ meta.len().rotate_left(48)
}

/// What a request needs of its caller's account.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct Account {
	pub(crate) id: UserId,
	pub(crate) username: String,
	pub(crate) role: Role,
	pub(crate) active: bool,
	/// The account's version, which tokens carry.
	pub(crate) updated_at: Millis,
	/// The marker's state when the account was read: an entry read before an outside change
	/// is not used.
	#[serde(default)]
	marker: u64,
}

impl Account {
	pub(crate) fn of(user: &User) -> Self {
		Self {
			id: user.id,
			username: user.username.clone(),
			role: user.role,
			active: user.active,
			updated_at: user.updated_at,
			marker: 0,
		}
	}

	pub(crate) fn principal(self) -> Principal {
		Principal {
			user_id: self.id,
			username: self.username,
			role: self.role,
		}
	}
}

fn key(id: UserId) -> String {
	format!("auth:user:{id}")
}

/// The cache of accounts, the count of invalidations this process has seen, and the marker of
/// changes made outside it.
#[derive(Default)]
pub(crate) struct UserCache {
	cache: Option<Arc<dyn Cache>>,
	generation: AtomicU64,
	marker: Option<PathBuf>,
}

/// When a read from the store began, to tell whether an invalidation came after it.
pub(crate) struct ReadTicket {
	generation: u64,
	marker: u64,
}

impl UserCache {
	pub(crate) fn new(cache: Option<Arc<dyn Cache>>, marker: Option<PathBuf>) -> Self {
		Self {
			cache,
			generation: AtomicU64::new(0),
			marker,
		}
	}

	/// The cached account of `id`, or a ticket for reading it from the store.
	pub(crate) async fn get(&self, id: UserId) -> Result<Account, ReadTicket> {
		let Some(cache) = &self.cache else {
			return Err(ReadTicket {
				generation: 0,
				marker: 0,
			});
		};
		let ticket = ReadTicket {
			generation: self.generation.load(Ordering::Acquire),
			marker: self.marker.as_deref().map_or(0, marker_state),
		};
		match cache.get(&key(id)).await {
			Some(text) => match serde_json::from_str::<Account>(&text) {
				Ok(account) if account.marker == ticket.marker => Ok(account),
				_ => Err(ticket),
			},
			None => Err(ticket),
		}
	}

	/// Caches an account read from the store under `ticket`, unless an account changed since.
	pub(crate) async fn put(&self, account: &Account, ticket: ReadTicket) {
		let Some(cache) = &self.cache else { return };
		if self.generation.load(Ordering::Acquire) != ticket.generation {
			return;
		}
		let entry = Account {
			marker: ticket.marker,
			..account.clone()
		};
		if let Ok(text) = serde_json::to_string(&entry) {
			cache.set(&key(account.id), &text, TTL).await;
		}
	}

	/// Drops the entry of `id` after a change to it.
	async fn invalidate(&self, id: UserId) {
		self.generation.fetch_add(1, Ordering::AcqRel);
		if let Some(cache) = &self.cache {
			cache.delete(&key(id)).await;
		}
	}
}

/// The accounts store, dropping a user's cached account after every write to the user.
pub(crate) struct Invalidating {
	inner: Arc<dyn AuthStore>,
	users: Arc<UserCache>,
}

impl Invalidating {
	pub(crate) fn new(inner: Arc<dyn AuthStore>, users: Arc<UserCache>) -> Self {
		Self { inner, users }
	}
}

#[async_trait]
impl AuthStore for Invalidating {
	async fn create_user(&self, user: &User) -> StoreResult<()> {
		self.inner.create_user(user).await
	}

	async fn get_user(&self, id: UserId) -> StoreResult<Option<User>> {
		self.inner.get_user(id).await
	}

	async fn find_user(&self, username: &str) -> StoreResult<Option<User>> {
		self.inner.find_user(username).await
	}

	async fn list_users(&self) -> StoreResult<Vec<User>> {
		self.inner.list_users().await
	}

	async fn count_users(&self) -> StoreResult<i64> {
		self.inner.count_users().await
	}

	async fn update_user(&self, user: &User) -> StoreResult<bool> {
		let written = self.inner.update_user(user).await;
		// Even after an error: the write may have gone in before the answer was lost.
		self.users.invalidate(user.id).await;
		written
	}

	async fn delete_user(&self, id: UserId) -> StoreResult<bool> {
		let written = self.inner.delete_user(id).await;
		self.users.invalidate(id).await;
		written
	}

	async fn create_api_key(&self, key: &ApiKey) -> StoreResult<()> {
		self.inner.create_api_key(key).await
	}

	async fn create_scoped_api_key(&self, key: &ScopedKey) -> StoreResult<()> {
		self.inner.create_scoped_api_key(key).await
	}

	async fn find_api_key(&self, hash: &str) -> StoreResult<Option<ApiKey>> {
		self.inner.find_api_key(hash).await
	}

	async fn find_scoped_api_key(&self, hash: &str) -> StoreResult<Option<ScopedKey>> {
		self.inner.find_scoped_api_key(hash).await
	}

	async fn list_api_keys(&self, user: UserId) -> StoreResult<Vec<ApiKey>> {
		self.inner.list_api_keys(user).await
	}

	async fn list_scoped_api_keys(&self, user: UserId) -> StoreResult<Vec<ScopedKey>> {
		self.inner.list_scoped_api_keys(user).await
	}

	async fn revoke_api_key(&self, user: UserId, id: ApiKeyId, at: Millis) -> StoreResult<bool> {
		self.inner.revoke_api_key(user, id, at).await
	}

	async fn create_refresh_family(&self, family: &RefreshFamily) -> StoreResult<()> {
		self.inner.create_refresh_family(family).await
	}

	async fn rotate_refresh(
		&self,
		family: Uuid,
		presented: Uuid,
		next: Uuid,
		expires_at: Millis,
		at: Millis,
	) -> StoreResult<Rotation> {
		self.inner
			.rotate_refresh(family, presented, next, expires_at, at)
			.await
	}

	async fn get_refresh_family(&self, id: Uuid) -> StoreResult<Option<RefreshFamily>> {
		self.inner.get_refresh_family(id).await
	}

	async fn set_shares(&self, workflow: WorkflowId, shares: &[Share]) -> StoreResult<()> {
		self.inner.set_shares(workflow, shares).await
	}

	async fn shares(&self, workflow: WorkflowId) -> StoreResult<Vec<Share>> {
		self.inner.shares(workflow).await
	}

	async fn share_for(&self, workflow: WorkflowId, user: UserId) -> StoreResult<Option<Share>> {
		self.inner.share_for(workflow, user).await
	}

	async fn create_credential(&self, credential: &Credential) -> StoreResult<()> {
		self.inner.create_credential(credential).await
	}

	async fn get_credential(&self, id: CredentialId) -> StoreResult<Option<Credential>> {
		self.inner.get_credential(id).await
	}

	async fn find_credential(&self, owner: UserId, name: &str) -> StoreResult<Option<Credential>> {
		self.inner.find_credential(owner, name).await
	}

	async fn list_credentials(&self, owner: Option<UserId>) -> StoreResult<Vec<Credential>> {
		self.inner.list_credentials(owner).await
	}

	async fn update_credential(&self, credential: &Credential) -> StoreResult<bool> {
		self.inner.update_credential(credential).await
	}

	async fn delete_credential(&self, id: CredentialId) -> StoreResult<bool> {
		self.inner.delete_credential(id).await
	}

	async fn append_audit(&self, entry: &AuditEntry) -> StoreResult<()> {
		self.inner.append_audit(entry).await
	}

	async fn list_audit(&self, filter: &AuditFilter) -> StoreResult<Vec<AuditEntry>> {
		self.inner.list_audit(filter).await
	}
}
