//! The [`AuthStore`] seam: users, API keys, refresh-token families, shares, credentials and the
//! audit log. Kept apart from [`crate::Store`] because the engine never needs it; every backend
//! implements both.
//!
//! Two security rules live here rather than in callers, so no path (REST, GraphQL, the CLI)
//! can forget them: usernames are unique ignoring ASCII case, and a new password hash revokes
//! the user's API keys in the same write.

use async_trait::async_trait;
use uuid::Uuid;

use crate::Millis;
use crate::account::{
	ApiKey, AuditEntry, AuditFilter, Credential, KeyScope, RefreshFamily, Rotation, ScopedKey,
	Share, User,
};
use crate::ids::{ApiKeyId, CredentialId, UserId, WorkflowId};
use crate::store::StoreResult;

/// Persistence of accounts and governance. Implementations: SQLite, PostgreSQL and memory, all
/// held to one contract suite.
#[async_trait]
pub trait AuthStore: Send + Sync {
	/// Adds a user; [`crate::store::StoreError::Conflict`] when the username is taken, ignoring
	/// ASCII case (`ADMIN` when `admin` exists).
	async fn create_user(&self, user: &User) -> StoreResult<()>;
	/// One user.
	async fn get_user(&self, id: UserId) -> StoreResult<Option<User>>;
	/// The user with this username, ignoring ASCII case.
	async fn find_user(&self, username: &str) -> StoreResult<Option<User>>;
	/// Every user, by username.
	async fn list_users(&self) -> StoreResult<Vec<User>>;
	/// How many users exist.
	async fn count_users(&self) -> StoreResult<i64>;
	/// Replaces a user (username, hash, role, active, updated_at); false when absent; Conflict
	/// when the new username is taken (ignoring case). When the password hash changes, every
	/// unrevoked API key of the user is revoked at `updated_at` in the same transaction: a key
	/// does not outlive the password it was made under.
	async fn update_user(&self, user: &User) -> StoreResult<bool>;
	/// Deletes a user with their API keys, refresh families, shares and credentials; false
	/// when absent.
	async fn delete_user(&self, id: UserId) -> StoreResult<bool>;

	/// Adds an API key with [`KeyScope::DEFAULT`].
	async fn create_api_key(&self, key: &ApiKey) -> StoreResult<()> {
		self.create_scoped_api_key(&ScopedKey {
			key: key.clone(),
			scopes: KeyScope::DEFAULT.to_vec(),
		})
		.await
	}
	/// Adds an API key with its scopes.
	async fn create_scoped_api_key(&self, key: &ScopedKey) -> StoreResult<()>;
	/// The key with this hash, revoked or not.
	async fn find_api_key(&self, hash: &str) -> StoreResult<Option<ApiKey>> {
		Ok(self.find_scoped_api_key(hash).await?.map(|k| k.key))
	}
	/// The key with this hash and its scopes, revoked or not.
	async fn find_scoped_api_key(&self, hash: &str) -> StoreResult<Option<ScopedKey>>;
	/// The keys of a user, newest first.
	async fn list_api_keys(&self, user: UserId) -> StoreResult<Vec<ApiKey>> {
		let keys = self.list_scoped_api_keys(user).await?;
		Ok(keys.into_iter().map(|k| k.key).collect())
	}
	/// The keys of a user with their scopes, newest first.
	async fn list_scoped_api_keys(&self, user: UserId) -> StoreResult<Vec<ScopedKey>>;
	/// Marks a key of `user` revoked at `at`; false when no such unrevoked key exists.
	async fn revoke_api_key(&self, user: UserId, id: ApiKeyId, at: Millis) -> StoreResult<bool>;

	/// Starts the refresh family of a login, and forgets families that expired before
	/// `family.created_at` (so the table holds live logins only).
	async fn create_refresh_family(&self, family: &RefreshFamily) -> StoreResult<()>;
	/// Presents refresh token `presented` of `family`: when it is the current one, `next`
	/// (expiring at `expires_at`) becomes current, atomically, so two concurrent uses of one
	/// token cannot both succeed; when it is an older one, the family is revoked at `at`.
	async fn rotate_refresh(
		&self,
		family: Uuid,
		presented: Uuid,
		next: Uuid,
		expires_at: Millis,
		at: Millis,
	) -> StoreResult<Rotation>;
	/// One family (tests and diagnostics).
	async fn get_refresh_family(&self, id: Uuid) -> StoreResult<Option<RefreshFamily>>;

	/// Replaces every share of a workflow.
	async fn set_shares(&self, workflow: WorkflowId, shares: &[Share]) -> StoreResult<()>;
	/// The shares of a workflow.
	async fn shares(&self, workflow: WorkflowId) -> StoreResult<Vec<Share>>;
	/// What is shared with `user` on `workflow`, if anything.
	async fn share_for(&self, workflow: WorkflowId, user: UserId) -> StoreResult<Option<Share>>;

	/// Adds a credential; Conflict when its owner already has one of that name.
	async fn create_credential(&self, credential: &Credential) -> StoreResult<()>;
	/// One credential.
	async fn get_credential(&self, id: CredentialId) -> StoreResult<Option<Credential>>;
	/// The credential `name` of `owner`.
	async fn find_credential(&self, owner: UserId, name: &str) -> StoreResult<Option<Credential>>;
	/// Credentials of one owner, or of everyone; by name.
	async fn list_credentials(&self, owner: Option<UserId>) -> StoreResult<Vec<Credential>>;
	/// Replaces a credential (description, token, updated_at); false when absent.
	async fn update_credential(&self, credential: &Credential) -> StoreResult<bool>;
	/// Deletes a credential; false when absent.
	async fn delete_credential(&self, id: CredentialId) -> StoreResult<bool>;

	/// Appends an audit entry (its `id` is ignored and assigned).
	async fn append_audit(&self, entry: &AuditEntry) -> StoreResult<()>;
	/// Audit entries, newest first.
	async fn list_audit(&self, filter: &AuditFilter) -> StoreResult<Vec<AuditEntry>>;
}
