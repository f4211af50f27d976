//! [`NotificationStore`] on PostgreSQL (the table of migration 0008), through the one pool.

use apg_core::store::StoreResult;
use apg_core::{
	ExecutionId, Millis, Notification, NotificationId, NotificationLevel, NotificationStore, UserId,
};
use async_trait::async_trait;
use serde_json::Value;
use sqlx::postgres::PgRow;
use sqlx::{Postgres, QueryBuilder};
use uuid::Uuid;

use super::read::{corrupt, get};
use super::{PgStore, backend};

const COLUMNS: &str = "id, user_id, level, title, message, data, execution_id, created_at, read_at";

fn notification(row: &PgRow) -> StoreResult<Notification> {
	let level: String = get(row, "level")?;
	Ok(Notification {
		id: NotificationId(get::<Uuid>(row, "id")?),
		user_id: UserId(get::<Uuid>(row, "user_id")?),
		level: NotificationLevel::parse(&level).ok_or_else(|| corrupt("level", &level))?,
		title: get(row, "title")?,
		message: get(row, "message")?,
		data: get::<Value>(row, "data")?,
		execution_id: get::<Option<Uuid>>(row, "execution_id")?.map(ExecutionId),
		created_at: get(row, "created_at")?,
		read_at: get(row, "read_at")?,
	})
}

#[async_trait]
impl NotificationStore for PgStore {
	async fn add_notification(&self, n: &Notification) -> StoreResult<()> {
		sqlx::query(
			"INSERT INTO wo_notifications (id, user_id, level, title, message, data, execution_id, \
			 created_at, read_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
		)
		.bind(n.id.0)
		.bind(n.user_id.0)
		.bind(n.level.as_str())
		.bind(&n.title)
		.bind(&n.message)
		.bind(&n.data)
		.bind(n.execution_id.map(|e| e.0))
		.bind(n.created_at)
		.bind(n.read_at)
		.execute(&self.pool)
		.await
		.map_err(backend)?;
		Ok(())
	}

	async fn list_notifications(
		&self,
		user: UserId,
		unread_only: bool,
		limit: i64,
	) -> StoreResult<Vec<Notification>> {
		let mut q = QueryBuilder::<Postgres>::new(format!(
			"SELECT {COLUMNS} FROM wo_notifications WHERE user_id = "
		));
		q.push_bind(user.0);
		if unread_only {
			q.push(" AND read_at IS NULL");
		}
		q.push(" ORDER BY id DESC");
		if limit > 0 {
			q.push(" LIMIT ").push_bind(limit);
		}
		let rows = q.build().fetch_all(&self.pool).await.map_err(backend)?;
		rows.iter().map(notification).collect()
	}

	async fn mark_notification_read(
		&self,
		user: UserId,
		id: NotificationId,
		at: Millis,
	) -> StoreResult<bool> {
		let done = sqlx::query(
			"UPDATE wo_notifications SET read_at = COALESCE(read_at, $1) \
			 WHERE id = $2 AND user_id = $3",
		)
		.bind(at)
		.bind(id.0)
		.bind(user.0)
		.execute(&self.pool)
		.await
		.map_err(backend)?;
		Ok(done.rows_affected() > 0)
	}
}
