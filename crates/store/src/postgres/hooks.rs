//! [`HookStore`] on PostgreSQL (the table of migration 0010), through the one pool.

use apg_core::store::StoreResult;
use apg_core::{Hook, HookId, HookStore, UserId, WorkflowId};
use async_trait::async_trait;
use sqlx::postgres::PgRow;
use uuid::Uuid;

use super::read::{corrupt, get, json};
use super::{PgStore, backend};

const COLUMNS: &str = "id, workflow_id, token_hash, settings, created_by, created_at, updated_at";

fn hook(row: &PgRow) -> StoreResult<Hook> {
	Ok(Hook {
		id: HookId(get::<Uuid>(row, "id")?),
		workflow_id: WorkflowId(get::<Uuid>(row, "workflow_id")?),
		token_hash: get(row, "token_hash")?,
		settings: json(row, "settings")?,
		created_by: UserId(get::<Uuid>(row, "created_by")?),
		created_at: get(row, "created_at")?,
		updated_at: get(row, "updated_at")?,
	})
}

fn settings(h: &Hook) -> StoreResult<serde_json::Value> {
	serde_json::to_value(&h.settings).map_err(|e| corrupt("settings", e))
}

#[async_trait]
impl HookStore for PgStore {
	async fn create_hook(&self, h: &Hook) -> StoreResult<()> {
		sqlx::query(
			"INSERT INTO wo_hooks (id, workflow_id, token_hash, settings, created_by, created_at, \
			 updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
		)
		.bind(h.id.0)
		.bind(h.workflow_id.0)
		.bind(&h.token_hash)
		.bind(settings(h)?)
		.bind(h.created_by.0)
		.bind(h.created_at)
		.bind(h.updated_at)
		.execute(&self.pool)
		.await
		.map_err(backend)?;
		Ok(())
	}

	async fn get_hook(&self, id: HookId) -> StoreResult<Option<Hook>> {
		let sql = format!("SELECT {COLUMNS} FROM wo_hooks WHERE id = $1");
		let row = sqlx::query(&sql)
			.bind(id.0)
			.fetch_optional(&self.pool)
			.await
			.map_err(backend)?;
		row.as_ref().map(hook).transpose()
	}

	async fn find_hook(&self, token_hash: &str) -> StoreResult<Option<Hook>> {
		let sql = format!("SELECT {COLUMNS} FROM wo_hooks WHERE token_hash = $1");
		let row = sqlx::query(&sql)
			.bind(token_hash)
			.fetch_optional(&self.pool)
			.await
			.map_err(backend)?;
		row.as_ref().map(hook).transpose()
	}

	async fn list_hooks(&self, workflow: WorkflowId) -> StoreResult<Vec<Hook>> {
		let sql = format!(
			"SELECT {COLUMNS} FROM wo_hooks WHERE workflow_id = $1 ORDER BY created_at, id"
		);
		let rows = sqlx::query(&sql)
			.bind(workflow.0)
			.fetch_all(&self.pool)
			.await
			.map_err(backend)?;
		rows.iter().map(hook).collect()
	}

	async fn update_hook(&self, h: &Hook) -> StoreResult<bool> {
		let done = sqlx::query(
			"UPDATE wo_hooks SET token_hash = $2, settings = $3, updated_at = $4 WHERE id = $1",
		)
		.bind(h.id.0)
		.bind(&h.token_hash)
		.bind(settings(h)?)
		.bind(h.updated_at)
		.execute(&self.pool)
		.await
		.map_err(backend)?;
		Ok(done.rows_affected() > 0)
	}

	async fn delete_hook(&self, id: HookId) -> StoreResult<bool> {
		let done = sqlx::query("DELETE FROM wo_hooks WHERE id = $1")
			.bind(id.0)
			.execute(&self.pool)
			.await
			.map_err(backend)?;
		Ok(done.rows_affected() > 0)
	}
}
