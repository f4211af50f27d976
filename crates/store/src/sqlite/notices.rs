//! [`NotificationStore`] on SQLite (the table of migration 0009): writes through the writer
//! thread, reads from the reader pool, as everywhere in this backend.

use apg_core::store::StoreResult;
use apg_core::{
	ExecutionId, Millis, Notification, NotificationId, NotificationLevel, NotificationStore, UserId,
};
use async_trait::async_trait;
use rusqlite::params;
use sqlx::sqlite::SqliteRow;
use sqlx::{QueryBuilder, Sqlite};

use super::read::{corrupt, get, id, id_opt, json};
use super::{SqliteStore, backend};

const COLUMNS: &str = "id, user_id, level, title, message, data, execution_id, created_at, read_at";

fn notification(row: &SqliteRow) -> StoreResult<Notification> {
	let level: String = get(row, "level")?;
	Ok(Notification {
		id: id(row, "id")?,
		user_id: id(row, "user_id")?,
		level: NotificationLevel::parse(&level).ok_or_else(|| corrupt("level", &level))?,
		title: get(row, "title")?,
		message: get(row, "message")?,
		data: json(row, "data")?,
		execution_id: id_opt::<ExecutionId>(row, "execution_id")?,
		created_at: get(row, "created_at")?,
		read_at: get(row, "read_at")?,
	})
}

#[async_trait]
impl NotificationStore for SqliteStore {
	async fn add_notification(&self, n: &Notification) -> StoreResult<()> {
		let data = serde_json::to_string(&n.data).map_err(|e| corrupt("data", e))?;
		let n = n.clone();
		self.writer
			.run(move |conn| {
				conn.prepare_cached(
					"INSERT INTO wo_notifications (id, user_id, level, title, message, data, \
					 execution_id, created_at, read_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
				)?
				.execute(params![
					n.id.to_string(),
					n.user_id.to_string(),
					n.level.as_str(),
					n.title,
					n.message,
					data,
					n.execution_id.map(|e| e.to_string()),
					n.created_at,
					n.read_at
				])?;
				Ok(())
			})
			.await
	}

	async fn list_notifications(
		&self,
		user: UserId,
		unread_only: bool,
		limit: i64,
	) -> StoreResult<Vec<Notification>> {
		let mut q = QueryBuilder::<Sqlite>::new(format!(
			"SELECT {COLUMNS} FROM wo_notifications WHERE user_id = "
		));
		q.push_bind(user.to_string());
		if unread_only {
			q.push(" AND read_at IS NULL");
		}
		q.push(" ORDER BY id DESC LIMIT ")
			.push_bind(if limit <= 0 { -1 } else { limit });
		let rows = q.build().fetch_all(&self.reader).await.map_err(backend)?;
		rows.iter().map(notification).collect()
	}

	async fn mark_notification_read(
		&self,
		user: UserId,
		id: NotificationId,
		at: Millis,
	) -> StoreResult<bool> {
		let (user, id) = (user.to_string(), id.to_string());
		self.writer
			.run(move |conn| {
				let changed = conn
					.prepare_cached(
						"UPDATE wo_notifications SET read_at = COALESCE(read_at, ?1) \
						 WHERE id = ?2 AND user_id = ?3",
					)?
					.execute(params![at, id, user])?;
				Ok(changed > 0)
			})
			.await
	}
}
