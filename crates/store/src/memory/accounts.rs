//! [`AuthStore`] in memory: users, API keys, refresh families, workflow shares, credentials and
//! the audit log, kept in the same [`State`] (and behind the same lock) as the workflows, so a
//! deleted workflow takes its shares with it atomically, as the SQL stores' cascade does.

use std::collections::HashMap;

use apg_core::account::{RefreshFamily, Rotation, ScopedKey};
use apg_core::store::{StoreError, StoreResult};
use apg_core::{
	ApiKeyId, AuditEntry, AuditFilter, AuthStore, Credential, CredentialId, Millis, Notification,
	NotificationId, NotificationStore, Share, User, UserId, Workflow, WorkflowId,
};
use async_trait::async_trait;
use uuid::Uuid;

use super::{MemoryStore, page};

/// The account records of a [`super::MemoryStore`].
#[derive(Default)]
pub(super) struct Accounts {
	users: HashMap<UserId, User>,
	keys: HashMap<ApiKeyId, ScopedKey>,
	families: HashMap<Uuid, RefreshFamily>,
	shares: HashMap<(WorkflowId, UserId), Share>,
	credentials: HashMap<CredentialId, Credential>,
	audit: Vec<AuditEntry>,
	notifications: Vec<Notification>,
}

impl Accounts {
	/// Drops the shares of a deleted workflow.
	pub(super) fn forget_workflow(&mut self, id: WorkflowId) {
		self.shares.retain(|(w, _), _| *w != id);
	}

	/// Whether `user` (as in `created_by`) owns `w` or has a share of it.
	pub(super) fn visible(&self, w: &Workflow, user: &str) -> bool {
		w.created_by == user
			|| user
				.parse::<UserId>()
				.is_ok_and(|u| self.shares.contains_key(&(w.id, u)))
	}
}

/// Usernames are unique ignoring ASCII case, as the SQL stores' `lower(username)` indexes say.
fn same_name(a: &str, b: &str) -> bool {
	a.eq_ignore_ascii_case(b)
}

#[async_trait]
impl AuthStore for MemoryStore {
	async fn create_user(&self, user: &User) -> StoreResult<()> {
		let mut s = self.lock();
		let a = &mut s.accounts;
		if a.users
			.values()
			.any(|u| same_name(&u.username, &user.username))
		{
			return Err(StoreError::Conflict(format!(
				"username '{}' is taken",
				user.username
			)));
		}
		if a.users.contains_key(&user.id) {
			return Err(StoreError::Conflict(format!(
				"user {} already exists",
				user.id
			)));
		}
		a.users.insert(user.id, user.clone());
		Ok(())
	}

	async fn get_user(&self, id: UserId) -> StoreResult<Option<User>> {
		Ok(self.lock().accounts.users.get(&id).cloned())
	}

	async fn find_user(&self, username: &str) -> StoreResult<Option<User>> {
		let s = self.lock();
		Ok(s.accounts
			.users
			.values()
			.find(|u| same_name(&u.username, username))
			.cloned())
	}

	async fn list_users(&self) -> StoreResult<Vec<User>> {
		let s = self.lock();
		let mut users: Vec<User> = s.accounts.users.values().cloned().collect();
		users.sort_by(|a, b| a.username.cmp(&b.username));
		Ok(users)
	}

	async fn count_users(&self) -> StoreResult<i64> {
		Ok(self.lock().accounts.users.len() as i64)
	}

	async fn update_user(&self, user: &User) -> StoreResult<bool> {
		let mut s = self.lock();
		let a = &mut s.accounts;
		let Some(current) = a.users.get(&user.id) else {
			return Ok(false);
		};
		let created_at = current.created_at;
		let new_password = current.password_hash != user.password_hash;
		if a.users
			.values()
			.any(|u| u.id != user.id && same_name(&u.username, &user.username))
		{
			return Err(StoreError::Conflict(format!(
				"username '{}' is taken",
				user.username
			)));
		}
		if new_password {
			for k in a.keys.values_mut() {
				if k.key.user_id == user.id && k.key.revoked_at.is_none() {
					k.key.revoked_at = Some(user.updated_at);
				}
			}
		}
		// The SQL stores never rewrite created_at; neither does this one.
		a.users.insert(
			user.id,
			User {
				created_at,
				..user.clone()
			},
		);
		Ok(true)
	}

	async fn delete_user(&self, id: UserId) -> StoreResult<bool> {
		let mut s = self.lock();
		let a = &mut s.accounts;
		a.keys.retain(|_, k| k.key.user_id != id);
		a.families.retain(|_, f| f.user_id != id);
		a.shares.retain(|(_, u), _| *u != id);
		a.credentials.retain(|_, c| c.owner != id);
		Ok(a.users.remove(&id).is_some())
	}

	async fn create_scoped_api_key(&self, key: &ScopedKey) -> StoreResult<()> {
		let mut s = self.lock();
		let a = &mut s.accounts;
		if a.keys.values().any(|k| k.key.hash == key.key.hash) {
			return Err(StoreError::Conflict(
				"an API key with this hash already exists".to_owned(),
			));
		}
		if a.keys.contains_key(&key.key.id) {
			return Err(StoreError::Conflict(format!(
				"API key {} already exists",
				key.key.id
			)));
		}
		a.keys.insert(key.key.id, key.clone());
		Ok(())
	}

	async fn find_scoped_api_key(&self, hash: &str) -> StoreResult<Option<ScopedKey>> {
		let s = self.lock();
		Ok(s.accounts
			.keys
			.values()
			.find(|k| k.key.hash == hash)
			.cloned())
	}

	async fn list_scoped_api_keys(&self, user: UserId) -> StoreResult<Vec<ScopedKey>> {
		let s = self.lock();
		let mut keys: Vec<ScopedKey> = s
			.accounts
			.keys
			.values()
			.filter(|k| k.key.user_id == user)
			.cloned()
			.collect();
		keys.sort_by(|a, b| {
			(b.key.created_at.cmp(&a.key.created_at)).then(b.key.id.cmp(&a.key.id))
		});
		Ok(keys)
	}

	async fn revoke_api_key(&self, user: UserId, id: ApiKeyId, at: Millis) -> StoreResult<bool> {
		let mut s = self.lock();
		match s.accounts.keys.get_mut(&id) {
			Some(k) if k.key.user_id == user && k.key.revoked_at.is_none() => {
				k.key.revoked_at = Some(at);
				Ok(true)
			}
			_ => Ok(false),
		}
	}

	async fn create_refresh_family(&self, family: &RefreshFamily) -> StoreResult<()> {
		let mut s = self.lock();
		let families = &mut s.accounts.families;
		families.retain(|_, f| f.expires_at >= family.created_at);
		if families.contains_key(&family.id) {
			return Err(StoreError::Conflict(format!(
				"refresh family {} already exists",
				family.id
			)));
		}
		families.insert(family.id, family.clone());
		Ok(())
	}

	async fn rotate_refresh(
		&self,
		family: Uuid,
		presented: Uuid,
		next: Uuid,
		expires_at: Millis,
		at: Millis,
	) -> StoreResult<Rotation> {
		let mut s = self.lock();
		let Some(f) = s.accounts.families.get_mut(&family) else {
			return Ok(Rotation::Unknown);
		};
		Ok(if f.revoked_at.is_some() {
			Rotation::Revoked
		} else if f.current == presented {
			f.current = next;
			f.expires_at = expires_at;
			Rotation::Rotated
		} else {
			f.revoked_at = Some(at);
			Rotation::Reused
		})
	}

	async fn get_refresh_family(&self, id: Uuid) -> StoreResult<Option<RefreshFamily>> {
		Ok(self.lock().accounts.families.get(&id).cloned())
	}

	async fn set_shares(&self, workflow: WorkflowId, shares: &[Share]) -> StoreResult<()> {
		let mut s = self.lock();
		// Checked before anything changes, as the SQL stores roll back.
		if !shares.is_empty() && !s.workflows.contains_key(&workflow) {
			return Err(StoreError::Dangling(format!("unknown workflow {workflow}")));
		}
		for (i, share) in shares.iter().enumerate() {
			if shares[..i].iter().any(|o| o.user_id == share.user_id) {
				return Err(StoreError::Conflict(
					"a user appears twice in the shares".to_owned(),
				));
			}
		}
		let a = &mut s.accounts;
		a.forget_workflow(workflow);
		for share in shares {
			a.shares.insert(
				(workflow, share.user_id),
				Share {
					workflow_id: workflow,
					..share.clone()
				},
			);
		}
		Ok(())
	}

	async fn shares(&self, workflow: WorkflowId) -> StoreResult<Vec<Share>> {
		let s = self.lock();
		let mut shares: Vec<Share> = s
			.accounts
			.shares
			.values()
			.filter(|sh| sh.workflow_id == workflow)
			.cloned()
			.collect();
		shares.sort_by(|a, b| {
			a.created_at
				.cmp(&b.created_at)
				.then(a.user_id.cmp(&b.user_id))
		});
		Ok(shares)
	}

	async fn share_for(&self, workflow: WorkflowId, user: UserId) -> StoreResult<Option<Share>> {
		Ok(self.lock().accounts.shares.get(&(workflow, user)).cloned())
	}

	async fn create_credential(&self, credential: &Credential) -> StoreResult<()> {
		let mut s = self.lock();
		let a = &mut s.accounts;
		if a.credentials
			.values()
			.any(|c| c.owner == credential.owner && c.name == credential.name)
		{
			return Err(StoreError::Conflict(format!(
				"credential '{}' already exists",
				credential.name
			)));
		}
		if a.credentials.contains_key(&credential.id) {
			return Err(StoreError::Conflict(format!(
				"credential {} already exists",
				credential.id
			)));
		}
		a.credentials.insert(credential.id, credential.clone());
		Ok(())
	}

	async fn get_credential(&self, id: CredentialId) -> StoreResult<Option<Credential>> {
		Ok(self.lock().accounts.credentials.get(&id).cloned())
	}

	async fn find_credential(&self, owner: UserId, name: &str) -> StoreResult<Option<Credential>> {
		let s = self.lock();
		Ok(s.accounts
			.credentials
			.values()
			.find(|c| c.owner == owner && c.name == name)
			.cloned())
	}

	async fn list_credentials(&self, owner: Option<UserId>) -> StoreResult<Vec<Credential>> {
		let s = self.lock();
		let mut list: Vec<Credential> = s
			.accounts
			.credentials
			.values()
			.filter(|c| owner.is_none_or(|o| c.owner == o))
			.cloned()
			.collect();
		list.sort_by(|a, b| {
			a.name
				.cmp(&b.name)
				.then(a.owner.cmp(&b.owner))
				.then(a.id.cmp(&b.id))
		});
		Ok(list)
	}

	async fn update_credential(&self, credential: &Credential) -> StoreResult<bool> {
		let mut s = self.lock();
		let Some(c) = s.accounts.credentials.get_mut(&credential.id) else {
			return Ok(false);
		};
		c.description = credential.description.clone();
		c.token = credential.token.clone();
		c.updated_at = credential.updated_at;
		Ok(true)
	}

	async fn delete_credential(&self, id: CredentialId) -> StoreResult<bool> {
		Ok(self.lock().accounts.credentials.remove(&id).is_some())
	}

	async fn append_audit(&self, entry: &AuditEntry) -> StoreResult<()> {
		let mut s = self.lock();
		let audit = &mut s.accounts.audit;
		// Entries are never deleted, so the next sequence number is the count plus one.
		let id = audit.len() as i64 + 1;
		audit.push(AuditEntry {
			id,
			..entry.clone()
		});
		Ok(())
	}

	async fn list_audit(&self, f: &AuditFilter) -> StoreResult<Vec<AuditEntry>> {
		let s = self.lock();
		let is = |want: &Option<String>, have: &str| want.as_deref().is_none_or(|w| w == have);
		let mut rows: Vec<AuditEntry> = s
			.accounts
			.audit
			.iter()
			.filter(|e| is(&f.actor, &e.actor))
			.filter(|e| is(&f.action, &e.action))
			.filter(|e| is(&f.outcome, &e.outcome))
			.cloned()
			.collect();
		rows.sort_by(|a, b| b.at.cmp(&a.at).then(b.id.cmp(&a.id)));
		Ok(page(rows, f.limit, f.offset))
	}
}

#[async_trait]
impl NotificationStore for MemoryStore {
	async fn add_notification(&self, n: &Notification) -> StoreResult<()> {
		self.lock().accounts.notifications.push(n.clone());
		Ok(())
	}

	async fn list_notifications(
		&self,
		user: UserId,
		unread_only: bool,
		limit: i64,
	) -> StoreResult<Vec<Notification>> {
		let s = self.lock();
		let mut rows: Vec<Notification> = s
			.accounts
			.notifications
			.iter()
			.filter(|n| n.user_id == user && (!unread_only || n.read_at.is_none()))
			.cloned()
			.collect();
		rows.sort_by_key(|n| std::cmp::Reverse(n.id));
		if limit > 0 {
			rows.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
		}
		Ok(rows)
	}

	async fn mark_notification_read(
		&self,
		user: UserId,
		id: NotificationId,
		at: Millis,
	) -> StoreResult<bool> {
		let mut s = self.lock();
		let found = s
			.accounts
			.notifications
			.iter_mut()
			.find(|n| n.id == id && n.user_id == user);
		Ok(found.map(|n| n.read_at = n.read_at.or(Some(at))).is_some())
	}
}
