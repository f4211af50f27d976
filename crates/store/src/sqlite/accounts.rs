//! [`AuthStore`] on SQLite: users, API keys, refresh families, workflow shares, credentials and
//! the audit log (tables of migrations 0005 and 0007).
//!
//! Writes go through the one writer thread like every other write ([`super::writer`]). Account
//! writes are rare, so speed is not why: SQLite has one writer at a time, and a second writing
//! connection (the sqlx pools are the read-only readers and the migrator) would only meet the
//! writer thread in SQLite's lock and wait out `busy_timeout` behind a burst of checkpoints,
//! where the writer's queue orders them for free. Reads use the reader pool, as elsewhere.

use apg_core::account::{KeyScope, RefreshFamily, Rotation, ScopedKey};
use apg_core::store::{StoreError, StoreResult};
use apg_core::{
	ApiKey, ApiKeyId, AuditEntry, AuditFilter, AuthStore, Credential, CredentialId, Millis, Role,
	Share, User, UserId, WorkflowAction, WorkflowId,
};
use async_trait::async_trait;
use rusqlite::{OptionalExtension, params};
use sqlx::sqlite::SqliteRow;
use sqlx::{QueryBuilder, Sqlite};
use uuid::Uuid;

use super::read::{corrupt, get, id, json};
use super::{SqliteStore, backend};

const USER_COLUMNS: &str = "id, username, password_hash, role, active, created_at, updated_at";
const KEY_COLUMNS: &str =
	"id, user_id, name, prefix, hash, created_at, expires_at, revoked_at, scopes";
const FAMILY_COLUMNS: &str = "id, user_id, current_token, created_at, expires_at, revoked_at";
const CREDENTIAL_COLUMNS: &str = "id, owner, name, description, token, created_at, updated_at";
const AUDIT_COLUMNS: &str = "id, at, actor_id, actor, action, resource, outcome, details";

/// Gives a unique violation of `column` (SQLite names it `table.column` in its message) the
/// caller's message; any other error is left as it is.
fn taken(e: StoreError, column: &str, message: impl FnOnce() -> String) -> StoreError {
	match e {
		StoreError::Conflict(m) if m.contains(column) => StoreError::Conflict(message()),
		other => other,
	}
}

/// A taken username, whichever of its two unique rules SQLite reports: the exact column of 0005
/// (`users.username`) or the case-insensitive index of 0007 (`index 'users_username_lower_key'`).
/// Either way the client reads our message, never SQLite's.
fn username_taken(e: StoreError, username: &str) -> StoreError {
	let message = || format!("username '{username}' is taken");
	match taken(e, "users.username", message) {
		StoreError::Conflict(m) if m.contains("users_username_lower_key") => {
			StoreError::Conflict(message())
		}
		other => other,
	}
}

fn to_json<T: serde::Serialize + ?Sized>(value: &T) -> StoreResult<String> {
	serde_json::to_string(value)
		.map_err(|e| StoreError::Backend(format!("cannot encode JSON: {e}")))
}

fn user(row: &SqliteRow) -> StoreResult<User> {
	let role: String = get(row, "role")?;
	Ok(User {
		id: id(row, "id")?,
		username: get(row, "username")?,
		password_hash: get(row, "password_hash")?,
		role: role.parse::<Role>().map_err(|e| corrupt("role", e))?,
		active: get(row, "active")?,
		created_at: get(row, "created_at")?,
		updated_at: get(row, "updated_at")?,
	})
}

fn api_key(row: &SqliteRow) -> StoreResult<ScopedKey> {
	Ok(ScopedKey {
		key: ApiKey {
			id: id(row, "id")?,
			user_id: id(row, "user_id")?,
			name: get(row, "name")?,
			prefix: get(row, "prefix")?,
			hash: get(row, "hash")?,
			created_at: get(row, "created_at")?,
			expires_at: get(row, "expires_at")?,
			revoked_at: get(row, "revoked_at")?,
		},
		scopes: json::<Vec<KeyScope>>(row, "scopes")?,
	})
}

fn family(row: &SqliteRow) -> StoreResult<RefreshFamily> {
	Ok(RefreshFamily {
		id: id(row, "id")?,
		user_id: id(row, "user_id")?,
		current: id(row, "current_token")?,
		created_at: get(row, "created_at")?,
		expires_at: get(row, "expires_at")?,
		revoked_at: get(row, "revoked_at")?,
	})
}

fn share(row: &SqliteRow) -> StoreResult<Share> {
	Ok(Share {
		workflow_id: id(row, "workflow_id")?,
		user_id: id(row, "user_id")?,
		actions: json::<Vec<WorkflowAction>>(row, "actions")?,
		created_at: get(row, "created_at")?,
	})
}

fn credential(row: &SqliteRow) -> StoreResult<Credential> {
	Ok(Credential {
		id: id(row, "id")?,
		owner: id(row, "owner")?,
		name: get(row, "name")?,
		description: get(row, "description")?,
		token: get(row, "token")?,
		created_at: get(row, "created_at")?,
		updated_at: get(row, "updated_at")?,
	})
}

fn audit(row: &SqliteRow) -> StoreResult<AuditEntry> {
	let actor_id: Option<String> = get(row, "actor_id")?;
	Ok(AuditEntry {
		id: get(row, "id")?,
		at: get(row, "at")?,
		actor_id: actor_id
			.map(|a| a.parse::<UserId>().map_err(|e| corrupt("actor_id", e)))
			.transpose()?,
		actor: get(row, "actor")?,
		action: get(row, "action")?,
		resource: get(row, "resource")?,
		outcome: get(row, "outcome")?,
		details: json(row, "details")?,
	})
}

impl SqliteStore {
	async fn fetch_optional<T>(
		&self,
		sql: &str,
		key: String,
		decode: fn(&SqliteRow) -> StoreResult<T>,
	) -> StoreResult<Option<T>> {
		let row = sqlx::query(sql)
			.bind(key)
			.fetch_optional(&self.reader)
			.await
			.map_err(backend)?;
		row.as_ref().map(decode).transpose()
	}
}

#[async_trait]
impl AuthStore for SqliteStore {
	async fn create_user(&self, user: &User) -> StoreResult<()> {
		let u = user.clone();
		self.writer
			.run(move |conn| {
				conn.prepare_cached(
					"INSERT INTO users (id, username, password_hash, role, active, created_at, \
					 updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
				)?
				.execute(params![
					u.id.to_string(),
					u.username,
					u.password_hash,
					u.role.as_str(),
					u.active,
					u.created_at,
					u.updated_at
				])?;
				Ok(())
			})
			.await
			.map_err(|e| username_taken(e, &user.username))
	}

	async fn get_user(&self, id: UserId) -> StoreResult<Option<User>> {
		let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE id = ?");
		self.fetch_optional(&sql, id.to_string(), user).await
	}

	async fn find_user(&self, username: &str) -> StoreResult<Option<User>> {
		// lower() on both sides: the unique index of 0007 answers it.
		let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE lower(username) = lower(?)");
		self.fetch_optional(&sql, username.to_owned(), user).await
	}

	async fn list_users(&self) -> StoreResult<Vec<User>> {
		let sql = format!("SELECT {USER_COLUMNS} FROM users ORDER BY username");
		let rows = sqlx::query(&sql)
			.fetch_all(&self.reader)
			.await
			.map_err(backend)?;
		rows.iter().map(user).collect()
	}

	async fn count_users(&self) -> StoreResult<i64> {
		sqlx::query_scalar("SELECT count(*) FROM users")
			.fetch_one(&self.reader)
			.await
			.map_err(backend)
	}

	async fn update_user(&self, user: &User) -> StoreResult<bool> {
		let u = user.clone();
		self.writer
			.run(move |conn| {
				let tx = conn.savepoint()?;
				let id = u.id.to_string();
				// Before the user row changes, while the old hash is there to compare with.
				tx.prepare_cached(
					"UPDATE api_keys SET revoked_at = ?1 WHERE user_id = ?2 AND revoked_at IS NULL \
					 AND EXISTS (SELECT 1 FROM users WHERE id = ?2 AND password_hash <> ?3)",
				)?
				.execute(params![u.updated_at, id, u.password_hash])?;
				let changed = tx
					.prepare_cached(
						"UPDATE users SET username = ?1, password_hash = ?2, role = ?3, \
						 active = ?4, updated_at = ?5 WHERE id = ?6",
					)?
					.execute(params![
						u.username,
						u.password_hash,
						u.role.as_str(),
						u.active,
						u.updated_at,
						id
					])?;
				tx.commit()?;
				Ok(changed > 0)
			})
			.await
			.map_err(|e| username_taken(e, &user.username))
	}

	async fn delete_user(&self, id: UserId) -> StoreResult<bool> {
		let id = id.to_string();
		self.writer
			.run(move |conn| {
				let tx = conn.savepoint()?;
				tx.prepare_cached("DELETE FROM api_keys WHERE user_id = ?1")?
					.execute([&id])?;
				tx.prepare_cached("DELETE FROM refresh_families WHERE user_id = ?1")?
					.execute([&id])?;
				tx.prepare_cached("DELETE FROM workflow_shares WHERE user_id = ?1")?
					.execute([&id])?;
				tx.prepare_cached("DELETE FROM credentials WHERE owner = ?1")?
					.execute([&id])?;
				let deleted = tx
					.prepare_cached("DELETE FROM users WHERE id = ?1")?
					.execute([&id])?;
				tx.commit()?;
				Ok(deleted > 0)
			})
			.await
	}

	async fn create_scoped_api_key(&self, key: &ScopedKey) -> StoreResult<()> {
		let scopes = to_json(&key.scopes)?;
		let k = key.key.clone();
		self.writer
			.run(move |conn| {
				conn.prepare_cached(
					"INSERT INTO api_keys (id, user_id, name, prefix, hash, created_at, \
					 expires_at, revoked_at, scopes) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
				)?
				.execute(params![
					k.id.to_string(),
					k.user_id.to_string(),
					k.name,
					k.prefix,
					k.hash,
					k.created_at,
					k.expires_at,
					k.revoked_at,
					scopes
				])?;
				Ok(())
			})
			.await
			.map_err(|e| {
				taken(e, "api_keys.hash", || {
					"an API key with this hash already exists".to_owned()
				})
			})
	}

	async fn find_scoped_api_key(&self, hash: &str) -> StoreResult<Option<ScopedKey>> {
		let sql = format!("SELECT {KEY_COLUMNS} FROM api_keys WHERE hash = ?");
		self.fetch_optional(&sql, hash.to_owned(), api_key).await
	}

	async fn list_scoped_api_keys(&self, user: UserId) -> StoreResult<Vec<ScopedKey>> {
		let sql = format!(
			"SELECT {KEY_COLUMNS} FROM api_keys WHERE user_id = ? \
			 ORDER BY created_at DESC, id DESC"
		);
		let rows = sqlx::query(&sql)
			.bind(user.to_string())
			.fetch_all(&self.reader)
			.await
			.map_err(backend)?;
		rows.iter().map(api_key).collect()
	}

	async fn revoke_api_key(&self, user: UserId, id: ApiKeyId, at: Millis) -> StoreResult<bool> {
		let (user, id) = (user.to_string(), id.to_string());
		self.writer
			.run(move |conn| {
				let changed = conn
					.prepare_cached(
						"UPDATE api_keys SET revoked_at = ?1 \
						 WHERE id = ?2 AND user_id = ?3 AND revoked_at IS NULL",
					)?
					.execute(params![at, id, user])?;
				Ok(changed > 0)
			})
			.await
	}

	async fn create_refresh_family(&self, f: &RefreshFamily) -> StoreResult<()> {
		let f = f.clone();
		self.writer
			.run(move |conn| {
				let tx = conn.savepoint()?;
				tx.prepare_cached("DELETE FROM refresh_families WHERE expires_at < ?1")?
					.execute([f.created_at])?;
				tx.prepare_cached(
					"INSERT INTO refresh_families (id, user_id, current_token, created_at, \
					 expires_at, revoked_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
				)?
				.execute(params![
					f.id.to_string(),
					f.user_id.to_string(),
					f.current.to_string(),
					f.created_at,
					f.expires_at,
					f.revoked_at
				])?;
				tx.commit()
			})
			.await
	}

	async fn rotate_refresh(
		&self,
		family: Uuid,
		presented: Uuid,
		next: Uuid,
		expires_at: Millis,
		at: Millis,
	) -> StoreResult<Rotation> {
		let (family, presented, next) =
			(family.to_string(), presented.to_string(), next.to_string());
		// One job on the one writer: nothing else writes between the steps.
		self.writer
			.run(move |conn| {
				let tx = conn.savepoint()?;
				let rotated = tx
					.prepare_cached(
						"UPDATE refresh_families SET current_token = ?1, expires_at = ?2 \
						 WHERE id = ?3 AND current_token = ?4 AND revoked_at IS NULL",
					)?
					.execute(params![next, expires_at, family, presented])?;
				let outcome = if rotated > 0 {
					Rotation::Rotated
				} else {
					let revoked: Option<Option<Millis>> = tx
						.prepare_cached("SELECT revoked_at FROM refresh_families WHERE id = ?1")?
						.query_row([&family], |r| r.get(0))
						.optional()?;
					match revoked {
						None => Rotation::Unknown,
						Some(Some(_)) => Rotation::Revoked,
						Some(None) => {
							tx.prepare_cached(
								"UPDATE refresh_families SET revoked_at = ?1 WHERE id = ?2",
							)?
							.execute(params![at, family])?;
							Rotation::Reused
						}
					}
				};
				tx.commit()?;
				Ok(outcome)
			})
			.await
	}

	async fn get_refresh_family(&self, id: Uuid) -> StoreResult<Option<RefreshFamily>> {
		let sql = format!("SELECT {FAMILY_COLUMNS} FROM refresh_families WHERE id = ?");
		self.fetch_optional(&sql, id.to_string(), family).await
	}

	async fn set_shares(&self, workflow: WorkflowId, shares: &[Share]) -> StoreResult<()> {
		let rows = shares
			.iter()
			.map(|s| Ok((s.user_id.to_string(), to_json(&s.actions)?, s.created_at)))
			.collect::<StoreResult<Vec<_>>>()?;
		let workflow = workflow.to_string();
		self.writer
			.run(move |conn| {
				let tx = conn.savepoint()?;
				tx.prepare_cached("DELETE FROM workflow_shares WHERE workflow_id = ?1")?
					.execute([&workflow])?;
				{
					let mut insert = tx.prepare_cached(
						"INSERT INTO workflow_shares (workflow_id, user_id, actions, created_at) \
						 VALUES (?1, ?2, ?3, ?4)",
					)?;
					for (user, actions, created_at) in &rows {
						insert.execute(params![workflow, user, actions, created_at])?;
					}
				}
				tx.commit()
			})
			.await
			.map_err(|e| {
				taken(e, "workflow_shares.user_id", || {
					"a user appears twice in the shares".to_owned()
				})
			})
	}

	async fn shares(&self, workflow: WorkflowId) -> StoreResult<Vec<Share>> {
		let rows = sqlx::query(
			"SELECT workflow_id, user_id, actions, created_at FROM workflow_shares \
			 WHERE workflow_id = ? ORDER BY created_at, user_id",
		)
		.bind(workflow.to_string())
		.fetch_all(&self.reader)
		.await
		.map_err(backend)?;
		rows.iter().map(share).collect()
	}

	async fn share_for(&self, workflow: WorkflowId, user: UserId) -> StoreResult<Option<Share>> {
		let row = sqlx::query(
			"SELECT workflow_id, user_id, actions, created_at FROM workflow_shares \
			 WHERE workflow_id = ? AND user_id = ?",
		)
		.bind(workflow.to_string())
		.bind(user.to_string())
		.fetch_optional(&self.reader)
		.await
		.map_err(backend)?;
		row.as_ref().map(share).transpose()
	}

	async fn create_credential(&self, credential: &Credential) -> StoreResult<()> {
		let c = credential.clone();
		self.writer
			.run(move |conn| {
				conn.prepare_cached(
					"INSERT INTO credentials (id, owner, name, description, token, created_at, \
					 updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
				)?
				.execute(params![
					c.id.to_string(),
					c.owner.to_string(),
					c.name,
					c.description,
					c.token,
					c.created_at,
					c.updated_at
				])?;
				Ok(())
			})
			.await
			.map_err(|e| {
				taken(e, "credentials.name", || {
					format!("credential '{}' already exists", credential.name)
				})
			})
	}

	async fn get_credential(&self, id: CredentialId) -> StoreResult<Option<Credential>> {
		let sql = format!("SELECT {CREDENTIAL_COLUMNS} FROM credentials WHERE id = ?");
		self.fetch_optional(&sql, id.to_string(), credential).await
	}

	async fn find_credential(&self, owner: UserId, name: &str) -> StoreResult<Option<Credential>> {
		let sql =
			format!("SELECT {CREDENTIAL_COLUMNS} FROM credentials WHERE owner = ? AND name = ?");
		let row = sqlx::query(&sql)
			.bind(owner.to_string())
			.bind(name)
			.fetch_optional(&self.reader)
			.await
			.map_err(backend)?;
		row.as_ref().map(credential).transpose()
	}

	async fn list_credentials(&self, owner: Option<UserId>) -> StoreResult<Vec<Credential>> {
		let mut q =
			QueryBuilder::<Sqlite>::new(format!("SELECT {CREDENTIAL_COLUMNS} FROM credentials"));
		if let Some(owner) = owner {
			q.push(" WHERE owner = ").push_bind(owner.to_string());
		}
		q.push(" ORDER BY name, owner, id");
		let rows = q.build().fetch_all(&self.reader).await.map_err(backend)?;
		rows.iter().map(credential).collect()
	}

	async fn update_credential(&self, credential: &Credential) -> StoreResult<bool> {
		let c = credential.clone();
		self.writer
			.run(move |conn| {
				let changed = conn
					.prepare_cached(
						"UPDATE credentials SET description = ?1, token = ?2, updated_at = ?3 \
						 WHERE id = ?4",
					)?
					.execute(params![
						c.description,
						c.token,
						c.updated_at,
						c.id.to_string()
					])?;
				Ok(changed > 0)
			})
			.await
	}

	async fn delete_credential(&self, id: CredentialId) -> StoreResult<bool> {
		let id = id.to_string();
		self.writer
			.run(move |conn| {
				Ok(conn
					.prepare_cached("DELETE FROM credentials WHERE id = ?1")?
					.execute([&id])?
					> 0)
			})
			.await
	}

	async fn append_audit(&self, entry: &AuditEntry) -> StoreResult<()> {
		let details = to_json(&entry.details)?;
		let e = entry.clone();
		self.writer
			.run(move |conn| {
				conn.prepare_cached(
					"INSERT INTO audit_log (at, actor_id, actor, action, resource, outcome, \
					 details) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
				)?
				.execute(params![
					e.at,
					e.actor_id.map(|a| a.to_string()),
					e.actor,
					e.action,
					e.resource,
					e.outcome,
					details
				])?;
				Ok(())
			})
			.await
	}

	async fn list_audit(&self, f: &AuditFilter) -> StoreResult<Vec<AuditEntry>> {
		let mut q =
			QueryBuilder::<Sqlite>::new(format!("SELECT {AUDIT_COLUMNS} FROM audit_log WHERE 1=1"));
		if let Some(actor) = &f.actor {
			q.push(" AND actor = ").push_bind(actor.clone());
		}
		if let Some(action) = &f.action {
			q.push(" AND action = ").push_bind(action.clone());
		}
		if let Some(outcome) = &f.outcome {
			q.push(" AND outcome = ").push_bind(outcome.clone());
		}
		q.push(" ORDER BY at DESC, id DESC LIMIT ")
			.push_bind(if f.limit <= 0 { -1 } else { f.limit });
		q.push(" OFFSET ").push_bind(f.offset.max(0));
		let rows = q.build().fetch_all(&self.reader).await.map_err(backend)?;
		rows.iter().map(audit).collect()
	}
}
