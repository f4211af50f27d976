//! [`HookStore`] on SQLite (the table of migration 0011): writes through the writer thread,
//! reads from the reader pool.

use apg_core::store::StoreResult;
use apg_core::{Hook, HookId, HookStore, WorkflowId};
use async_trait::async_trait;
use rusqlite::params;
use sqlx::sqlite::SqliteRow;

use super::read::{corrupt, get, id, json};
use super::{SqliteStore, backend};

const COLUMNS: &str = "id, workflow_id, token_hash, settings, created_by, created_at, updated_at";

fn hook(row: &SqliteRow) -> StoreResult<Hook> {
	Ok(Hook {
		id: id(row, "id")?,
		workflow_id: id(row, "workflow_id")?,
		token_hash: get(row, "token_hash")?,
		settings: json(row, "settings")?,
		created_by: id(row, "created_by")?,
		created_at: get(row, "created_at")?,
		updated_at: get(row, "updated_at")?,
	})
}

async fn one(store: &SqliteStore, column: &str, value: String) -> StoreResult<Option<Hook>> {
	let sql = format!("SELECT {COLUMNS} FROM wo_hooks WHERE {column} = ?");
	let row = sqlx::query(&sql)
		.bind(value)
		.fetch_optional(&store.reader)
		.await
		.map_err(backend)?;
	row.as_ref().map(hook).transpose()
}

#[async_trait]
impl HookStore for SqliteStore {
	async fn create_hook(&self, h: &Hook) -> StoreResult<()> {
		let settings = serde_json::to_string(&h.settings).map_err(|e| corrupt("settings", e))?;
		let h = h.clone();
		self.writer
			.run(move |conn| {
				conn.prepare_cached(
					"INSERT INTO wo_hooks (id, workflow_id, token_hash, settings, created_by, \
					 created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
				)?
				.execute(params![
					h.id.to_string(),
					h.workflow_id.to_string(),
					h.token_hash,
					settings,
					h.created_by.to_string(),
					h.created_at,
					h.updated_at
				])?;
				Ok(())
			})
			.await
	}

	async fn get_hook(&self, id: HookId) -> StoreResult<Option<Hook>> {
		one(self, "id", id.to_string()).await
	}

	async fn find_hook(&self, token_hash: &str) -> StoreResult<Option<Hook>> {
		one(self, "token_hash", token_hash.to_owned()).await
	}

	async fn list_hooks(&self, workflow: WorkflowId) -> StoreResult<Vec<Hook>> {
		let sql =
			format!("SELECT {COLUMNS} FROM wo_hooks WHERE workflow_id = ? ORDER BY created_at, id");
		let rows = sqlx::query(&sql)
			.bind(workflow.to_string())
			.fetch_all(&self.reader)
			.await
			.map_err(backend)?;
		rows.iter().map(hook).collect()
	}

	async fn update_hook(&self, h: &Hook) -> StoreResult<bool> {
		let settings = serde_json::to_string(&h.settings).map_err(|e| corrupt("settings", e))?;
		let h = h.clone();
		self.writer
			.run(move |conn| {
				let changed = conn
					.prepare_cached(
						"UPDATE wo_hooks SET token_hash = ?2, settings = ?3, updated_at = ?4 \
						 WHERE id = ?1",
					)?
					.execute(params![
						h.id.to_string(),
						h.token_hash,
						settings,
						h.updated_at
					])?;
				Ok(changed > 0)
			})
			.await
	}

	async fn delete_hook(&self, id: HookId) -> StoreResult<bool> {
		let id = id.to_string();
		self.writer
			.run(move |conn| {
				let changed = conn
					.prepare_cached("DELETE FROM wo_hooks WHERE id = ?1")?
					.execute(params![id])?;
				Ok(changed > 0)
			})
			.await
	}
}
