//! [`AuthStore`] on PostgreSQL: users, API keys, refresh families, workflow shares, credentials
//! and the audit log (tables of migrations 0004 and 0006), through the one pool like everything
//! else.
//!
//! Unique violations are told apart by constraint name (named in the migration) so each gets a
//! message a user can act on. Lists sorted by name use `COLLATE "C"`: byte order, as SQLite and
//! the memory store sort, whatever the database's collation.

use apg_core::account::{KeyScope, RefreshFamily, Rotation, ScopedKey};
use apg_core::store::{StoreError, StoreResult};
use apg_core::{
	ApiKey, ApiKeyId, AuditEntry, AuditFilter, AuthStore, Credential, CredentialId, Millis, Role,
	Share, User, UserId, WorkflowAction, WorkflowId,
};
use async_trait::async_trait;
use serde_json::Value;
use sqlx::postgres::PgRow;
use sqlx::{Postgres, QueryBuilder};
use uuid::Uuid;

use super::read::{corrupt, get, json};
use super::{PgStore, backend};

const USER_COLUMNS: &str = "id, username, password_hash, role, active, created_at, updated_at";
const KEY_COLUMNS: &str =
	"id, user_id, name, prefix, hash, created_at, expires_at, revoked_at, scopes";
const FAMILY_COLUMNS: &str = "id, user_id, current_token, created_at, expires_at, revoked_at";
const CREDENTIAL_COLUMNS: &str = "id, owner, name, description, token, created_at, updated_at";
const SHARE_COLUMNS: &str = "workflow_id, user_id, actions, created_at";
const AUDIT_COLUMNS: &str = "id, at, actor_id, actor, action, resource, outcome, details";

/// Maps a violation of the unique constraint `constraint` to a conflict with the caller's
/// message; any other error as [`backend`] does.
fn taken(e: sqlx::Error, constraint: &str, message: impl FnOnce() -> String) -> StoreError {
	if let sqlx::Error::Database(db) = &e
		&& db.is_unique_violation()
		&& db.constraint() == Some(constraint)
	{
		return StoreError::Conflict(message());
	}
	backend(e)
}

/// A taken username, whichever of its two unique rules was broken: the exact one of 0004 or the
/// case-insensitive index of 0006.
fn username_taken(e: sqlx::Error, username: &str) -> StoreError {
	let message = || format!("username '{username}' is taken");
	match taken(e, "users_username_key", message) {
		StoreError::Conflict(m) if m.contains("users_username_lower_key") => {
			StoreError::Conflict(message())
		}
		other => other,
	}
}

fn user(row: &PgRow) -> StoreResult<User> {
	let role: String = get(row, "role")?;
	Ok(User {
		id: UserId(get::<Uuid>(row, "id")?),
		username: get(row, "username")?,
		password_hash: get(row, "password_hash")?,
		role: role.parse::<Role>().map_err(|e| corrupt("role", e))?,
		active: get(row, "active")?,
		created_at: get(row, "created_at")?,
		updated_at: get(row, "updated_at")?,
	})
}

fn api_key(row: &PgRow) -> StoreResult<ScopedKey> {
	Ok(ScopedKey {
		key: ApiKey {
			id: ApiKeyId(get::<Uuid>(row, "id")?),
			user_id: UserId(get::<Uuid>(row, "user_id")?),
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

fn family(row: &PgRow) -> StoreResult<RefreshFamily> {
	Ok(RefreshFamily {
		id: get(row, "id")?,
		user_id: UserId(get::<Uuid>(row, "user_id")?),
		current: get(row, "current_token")?,
		created_at: get(row, "created_at")?,
		expires_at: get(row, "expires_at")?,
		revoked_at: get(row, "revoked_at")?,
	})
}

fn share(row: &PgRow) -> StoreResult<Share> {
	Ok(Share {
		workflow_id: WorkflowId(get::<Uuid>(row, "workflow_id")?),
		user_id: UserId(get::<Uuid>(row, "user_id")?),
		actions: json::<Vec<WorkflowAction>>(row, "actions")?,
		created_at: get(row, "created_at")?,
	})
}

fn credential(row: &PgRow) -> StoreResult<Credential> {
	Ok(Credential {
		id: CredentialId(get::<Uuid>(row, "id")?),
		owner: UserId(get::<Uuid>(row, "owner")?),
		name: get(row, "name")?,
		description: get(row, "description")?,
		token: get(row, "token")?,
		created_at: get(row, "created_at")?,
		updated_at: get(row, "updated_at")?,
	})
}

fn audit(row: &PgRow) -> StoreResult<AuditEntry> {
	Ok(AuditEntry {
		id: get(row, "id")?,
		at: get(row, "at")?,
		actor_id: get::<Option<Uuid>>(row, "actor_id")?.map(UserId),
		actor: get(row, "actor")?,
		action: get(row, "action")?,
		resource: get(row, "resource")?,
		outcome: get(row, "outcome")?,
		details: get(row, "details")?,
	})
}

fn actions(actions: &[WorkflowAction]) -> Value {
	Value::Array(
		actions
			.iter()
			.map(|a| Value::String(a.as_str().to_owned()))
			.collect(),
	)
}

#[async_trait]
impl AuthStore for PgStore {
	async fn create_user(&self, u: &User) -> StoreResult<()> {
		sqlx::query(
			"INSERT INTO users (id, username, password_hash, role, active, created_at, updated_at) \
			 VALUES ($1, $2, $3, $4, $5, $6, $7)",
		)
		.bind(u.id.0)
		.bind(&u.username)
		.bind(&u.password_hash)
		.bind(u.role.as_str())
		.bind(u.active)
		.bind(u.created_at)
		.bind(u.updated_at)
		.execute(&self.pool)
		.await
		.map_err(|e| username_taken(e, &u.username))?;
		Ok(())
	}

	async fn get_user(&self, id: UserId) -> StoreResult<Option<User>> {
		let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1");
		let row = sqlx::query(&sql)
			.bind(id.0)
			.fetch_optional(&self.pool)
			.await
			.map_err(backend)?;
		row.as_ref().map(user).transpose()
	}

	async fn find_user(&self, username: &str) -> StoreResult<Option<User>> {
		// lower() on both sides: the unique index of 0006 answers it.
		let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE lower(username) = lower($1)");
		let row = sqlx::query(&sql)
			.bind(username)
			.fetch_optional(&self.pool)
			.await
			.map_err(backend)?;
		row.as_ref().map(user).transpose()
	}

	async fn list_users(&self) -> StoreResult<Vec<User>> {
		let sql = format!("SELECT {USER_COLUMNS} FROM users ORDER BY username COLLATE \"C\"");
		let rows = sqlx::query(&sql)
			.fetch_all(&self.pool)
			.await
			.map_err(backend)?;
		rows.iter().map(user).collect()
	}

	async fn count_users(&self) -> StoreResult<i64> {
		sqlx::query_scalar("SELECT count(*) FROM users")
			.fetch_one(&self.pool)
			.await
			.map_err(backend)
	}

	async fn update_user(&self, u: &User) -> StoreResult<bool> {
		let mut tx = self.pool.begin().await.map_err(backend)?;
		// Before the user row changes, while the old hash is there to compare with.
		sqlx::query(
			"UPDATE api_keys SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL \
			 AND EXISTS (SELECT 1 FROM users WHERE id = $2 AND password_hash <> $3)",
		)
		.bind(u.updated_at)
		.bind(u.id.0)
		.bind(&u.password_hash)
		.execute(&mut *tx)
		.await
		.map_err(backend)?;
		let done = sqlx::query(
			"UPDATE users SET username = $1, password_hash = $2, role = $3, active = $4, \
			 updated_at = $5 WHERE id = $6",
		)
		.bind(&u.username)
		.bind(&u.password_hash)
		.bind(u.role.as_str())
		.bind(u.active)
		.bind(u.updated_at)
		.bind(u.id.0)
		.execute(&mut *tx)
		.await
		.map_err(|e| username_taken(e, &u.username))?;
		tx.commit().await.map_err(backend)?;
		Ok(done.rows_affected() > 0)
	}

	async fn delete_user(&self, id: UserId) -> StoreResult<bool> {
		let mut tx = self.pool.begin().await.map_err(backend)?;
		for sql in [
			"DELETE FROM api_keys WHERE user_id = $1",
			"DELETE FROM refresh_families WHERE user_id = $1",
			"DELETE FROM workflow_shares WHERE user_id = $1",
			"DELETE FROM credentials WHERE owner = $1",
		] {
			sqlx::query(sql)
				.bind(id.0)
				.execute(&mut *tx)
				.await
				.map_err(backend)?;
		}
		let done = sqlx::query("DELETE FROM users WHERE id = $1")
			.bind(id.0)
			.execute(&mut *tx)
			.await
			.map_err(backend)?;
		tx.commit().await.map_err(backend)?;
		Ok(done.rows_affected() > 0)
	}

	async fn create_scoped_api_key(&self, key: &ScopedKey) -> StoreResult<()> {
		let k = &key.key;
		let scopes = Value::Array(
			key.scopes
				.iter()
				.map(|s| Value::String(s.as_str().to_owned()))
				.collect(),
		);
		sqlx::query(
			"INSERT INTO api_keys (id, user_id, name, prefix, hash, created_at, expires_at, \
			 revoked_at, scopes) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
		)
		.bind(k.id.0)
		.bind(k.user_id.0)
		.bind(&k.name)
		.bind(&k.prefix)
		.bind(&k.hash)
		.bind(k.created_at)
		.bind(k.expires_at)
		.bind(k.revoked_at)
		.bind(scopes)
		.execute(&self.pool)
		.await
		.map_err(|e| {
			taken(e, "api_keys_hash_key", || {
				"an API key with this hash already exists".to_owned()
			})
		})?;
		Ok(())
	}

	async fn find_scoped_api_key(&self, hash: &str) -> StoreResult<Option<ScopedKey>> {
		let sql = format!("SELECT {KEY_COLUMNS} FROM api_keys WHERE hash = $1");
		let row = sqlx::query(&sql)
			.bind(hash)
			.fetch_optional(&self.pool)
			.await
			.map_err(backend)?;
		row.as_ref().map(api_key).transpose()
	}

	async fn list_scoped_api_keys(&self, user: UserId) -> StoreResult<Vec<ScopedKey>> {
		let sql = format!(
			"SELECT {KEY_COLUMNS} FROM api_keys WHERE user_id = $1 \
			 ORDER BY created_at DESC, id DESC"
		);
		let rows = sqlx::query(&sql)
			.bind(user.0)
			.fetch_all(&self.pool)
			.await
			.map_err(backend)?;
		rows.iter().map(api_key).collect()
	}

	async fn revoke_api_key(&self, user: UserId, id: ApiKeyId, at: Millis) -> StoreResult<bool> {
		let done = sqlx::query(
			"UPDATE api_keys SET revoked_at = $1 \
			 WHERE id = $2 AND user_id = $3 AND revoked_at IS NULL",
		)
		.bind(at)
		.bind(id.0)
		.bind(user.0)
		.execute(&self.pool)
		.await
		.map_err(backend)?;
		Ok(done.rows_affected() > 0)
	}

	async fn create_refresh_family(&self, f: &RefreshFamily) -> StoreResult<()> {
		let mut tx = self.pool.begin().await.map_err(backend)?;
		sqlx::query("DELETE FROM refresh_families WHERE expires_at < $1")
			.bind(f.created_at)
			.execute(&mut *tx)
			.await
			.map_err(backend)?;
		sqlx::query(
			"INSERT INTO refresh_families (id, user_id, current_token, created_at, expires_at, \
			 revoked_at) VALUES ($1, $2, $3, $4, $5, $6)",
		)
		.bind(f.id)
		.bind(f.user_id.0)
		.bind(f.current)
		.bind(f.created_at)
		.bind(f.expires_at)
		.bind(f.revoked_at)
		.execute(&mut *tx)
		.await
		.map_err(backend)?;
		tx.commit().await.map_err(backend)
	}

	async fn rotate_refresh(
		&self,
		family: Uuid,
		presented: Uuid,
		next: Uuid,
		expires_at: Millis,
		at: Millis,
	) -> StoreResult<Rotation> {
		// The compare-and-set is one statement, so of two concurrent uses of one token exactly
		// one matches `current_token`; the other finds it changed and revokes the family.
		let rotated = sqlx::query(
			"UPDATE refresh_families SET current_token = $1, expires_at = $2 \
			 WHERE id = $3 AND current_token = $4 AND revoked_at IS NULL",
		)
		.bind(next)
		.bind(expires_at)
		.bind(family)
		.bind(presented)
		.execute(&self.pool)
		.await
		.map_err(backend)?;
		if rotated.rows_affected() > 0 {
			return Ok(Rotation::Rotated);
		}
		let revoked = sqlx::query(
			"UPDATE refresh_families SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL",
		)
		.bind(at)
		.bind(family)
		.execute(&self.pool)
		.await
		.map_err(backend)?;
		if revoked.rows_affected() > 0 {
			return Ok(Rotation::Reused);
		}
		Ok(match self.get_refresh_family(family).await? {
			Some(_) => Rotation::Revoked,
			None => Rotation::Unknown,
		})
	}

	async fn get_refresh_family(&self, id: Uuid) -> StoreResult<Option<RefreshFamily>> {
		let sql = format!("SELECT {FAMILY_COLUMNS} FROM refresh_families WHERE id = $1");
		let row = sqlx::query(&sql)
			.bind(id)
			.fetch_optional(&self.pool)
			.await
			.map_err(backend)?;
		row.as_ref().map(family).transpose()
	}

	async fn set_shares(&self, workflow: WorkflowId, shares: &[Share]) -> StoreResult<()> {
		let mut tx = self.pool.begin().await.map_err(backend)?;
		sqlx::query("DELETE FROM workflow_shares WHERE workflow_id = $1")
			.bind(workflow.0)
			.execute(&mut *tx)
			.await
			.map_err(backend)?;
		if !shares.is_empty() {
			let mut q = QueryBuilder::<Postgres>::new(
				"INSERT INTO workflow_shares (workflow_id, user_id, actions, created_at) ",
			);
			q.push_values(shares, |mut b, s| {
				b.push_bind(workflow.0)
					.push_bind(s.user_id.0)
					.push_bind(actions(&s.actions))
					.push_bind(s.created_at);
			});
			q.build().execute(&mut *tx).await.map_err(|e| {
				taken(e, "workflow_shares_pkey", || {
					"a user appears twice in the shares".to_owned()
				})
			})?;
		}
		tx.commit().await.map_err(backend)
	}

	async fn shares(&self, workflow: WorkflowId) -> StoreResult<Vec<Share>> {
		let sql = format!(
			"SELECT {SHARE_COLUMNS} FROM workflow_shares WHERE workflow_id = $1 \
			 ORDER BY created_at, user_id"
		);
		let rows = sqlx::query(&sql)
			.bind(workflow.0)
			.fetch_all(&self.pool)
			.await
			.map_err(backend)?;
		rows.iter().map(share).collect()
	}

	async fn share_for(&self, workflow: WorkflowId, user: UserId) -> StoreResult<Option<Share>> {
		let sql = format!(
			"SELECT {SHARE_COLUMNS} FROM workflow_shares WHERE workflow_id = $1 AND user_id = $2"
		);
		let row = sqlx::query(&sql)
			.bind(workflow.0)
			.bind(user.0)
			.fetch_optional(&self.pool)
			.await
			.map_err(backend)?;
		row.as_ref().map(share).transpose()
	}

	async fn create_credential(&self, c: &Credential) -> StoreResult<()> {
		sqlx::query(
			"INSERT INTO credentials (id, owner, name, description, token, created_at, updated_at) \
			 VALUES ($1, $2, $3, $4, $5, $6, $7)",
		)
		.bind(c.id.0)
		.bind(c.owner.0)
		.bind(&c.name)
		.bind(&c.description)
		.bind(&c.token)
		.bind(c.created_at)
		.bind(c.updated_at)
		.execute(&self.pool)
		.await
		.map_err(|e| {
			taken(e, "credentials_owner_name_key", || {
				format!("credential '{}' already exists", c.name)
			})
		})?;
		Ok(())
	}

	async fn get_credential(&self, id: CredentialId) -> StoreResult<Option<Credential>> {
		let sql = format!("SELECT {CREDENTIAL_COLUMNS} FROM credentials WHERE id = $1");
		let row = sqlx::query(&sql)
			.bind(id.0)
			.fetch_optional(&self.pool)
			.await
			.map_err(backend)?;
		row.as_ref().map(credential).transpose()
	}

	async fn find_credential(&self, owner: UserId, name: &str) -> StoreResult<Option<Credential>> {
		let sql =
			format!("SELECT {CREDENTIAL_COLUMNS} FROM credentials WHERE owner = $1 AND name = $2");
		let row = sqlx::query(&sql)
			.bind(owner.0)
			.bind(name)
			.fetch_optional(&self.pool)
			.await
			.map_err(backend)?;
		row.as_ref().map(credential).transpose()
	}

	async fn list_credentials(&self, owner: Option<UserId>) -> StoreResult<Vec<Credential>> {
		let mut q =
			QueryBuilder::<Postgres>::new(format!("SELECT {CREDENTIAL_COLUMNS} FROM credentials"));
		if let Some(owner) = owner {
			q.push(" WHERE owner = ").push_bind(owner.0);
		}
		q.push(" ORDER BY name COLLATE \"C\", owner, id");
		let rows = q.build().fetch_all(&self.pool).await.map_err(backend)?;
		rows.iter().map(credential).collect()
	}

	async fn update_credential(&self, c: &Credential) -> StoreResult<bool> {
		let done = sqlx::query(
			"UPDATE credentials SET description = $1, token = $2, updated_at = $3 WHERE id = $4",
		)
		.bind(&c.description)
		.bind(&c.token)
		.bind(c.updated_at)
		.bind(c.id.0)
		.execute(&self.pool)
		.await
		.map_err(backend)?;
		Ok(done.rows_affected() > 0)
	}

	async fn delete_credential(&self, id: CredentialId) -> StoreResult<bool> {
		let done = sqlx::query("DELETE FROM credentials WHERE id = $1")
			.bind(id.0)
			.execute(&self.pool)
			.await
			.map_err(backend)?;
		Ok(done.rows_affected() > 0)
	}

	async fn append_audit(&self, e: &AuditEntry) -> StoreResult<()> {
		sqlx::query(
			"INSERT INTO audit_log (at, actor_id, actor, action, resource, outcome, details) \
			 VALUES ($1, $2, $3, $4, $5, $6, $7)",
		)
		.bind(e.at)
		.bind(e.actor_id.map(|a| a.0))
		.bind(&e.actor)
		.bind(&e.action)
		.bind(&e.resource)
		.bind(&e.outcome)
		.bind(&e.details)
		.execute(&self.pool)
		.await
		.map_err(backend)?;
		Ok(())
	}

	async fn list_audit(&self, f: &AuditFilter) -> StoreResult<Vec<AuditEntry>> {
		let mut q = QueryBuilder::<Postgres>::new(format!(
			"SELECT {AUDIT_COLUMNS} FROM audit_log WHERE TRUE"
		));
		if let Some(actor) = &f.actor {
			q.push(" AND actor = ").push_bind(actor.clone());
		}
		if let Some(action) = &f.action {
			q.push(" AND action = ").push_bind(action.clone());
		}
		if let Some(outcome) = &f.outcome {
			q.push(" AND outcome = ").push_bind(outcome.clone());
		}
		q.push(" ORDER BY at DESC, id DESC");
		if f.limit > 0 {
			q.push(" LIMIT ").push_bind(f.limit);
		}
		q.push(" OFFSET ").push_bind(f.offset.max(0));
		let rows = q.build().fetch_all(&self.pool).await.map_err(backend)?;
		rows.iter().map(audit).collect()
	}
}
