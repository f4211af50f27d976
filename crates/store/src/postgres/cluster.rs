//! [`WorkQueue`] and [`WakeBus`] on PostgreSQL: claims with `FOR UPDATE SKIP LOCKED`, leases renewed in one
//! statement, cancel requests as a column, and LISTEN/NOTIFY for wake-ups and cross-node events
//! (so idle nodes wait instead of polling tightly, and a subscriber on any node sees every
//! execution's events).

use std::time::Duration;

use apg_core::store::StoreResult;
use apg_core::{Execution, ExecutionId, Renewal, Signal, WakeBus, WorkQueue, now_millis};
use async_trait::async_trait;
use sqlx::postgres::{PgListener, PgPool};
use tokio::sync::Mutex;
use uuid::Uuid;

use super::{EXECUTION_COLUMNS, PgStore, backend, read};

const WORK: &str = "apg_work";
const EVENTS: &str = "apg_events";
const INBOX: &str = "apg_inbox";

/// This node's view of the cluster.
pub struct PgCluster {
	pool: PgPool,
	node: String,
	listener: Mutex<PgListener>,
}

impl PgCluster {
	/// Joins the cluster of `store`'s database as `node`.
	pub async fn join(store: &PgStore, node: String) -> StoreResult<Self> {
		let mut listener = PgListener::connect_with(&store.pool)
			.await
			.map_err(backend)?;
		listener
			.listen_all([WORK, EVENTS, INBOX])
			.await
			.map_err(backend)?;
		Ok(Self {
			pool: store.pool.clone(),
			node,
			listener: Mutex::new(listener),
		})
	}
}

#[async_trait]
impl WorkQueue for PgCluster {
	fn node(&self) -> &str {
		&self.node
	}

	async fn claim(
		&self,
		limit: i64,
		lease: Duration,
		aging: Duration,
	) -> StoreResult<Vec<(Execution, i64)>> {
		let now = now_millis();
		let sql = format!(
			"UPDATE wo_executions e SET lease_owner = $1, lease_token = e.lease_token + 1, lease_until = $2 \
			 FROM (SELECT id FROM wo_executions \
			       WHERE status NOT IN ('completed', 'failed', 'cancelled') \
			         AND status <> 'pending' \
			         AND (lease_owner IS NULL OR lease_until < $3) \
			       ORDER BY created_at - priority * $4, id LIMIT $5 FOR UPDATE SKIP LOCKED) c \
			 WHERE e.id = c.id RETURNING {}, e.lease_token",
			EXECUTION_COLUMNS
				.split(", ")
				.map(|c| format!("e.{c}"))
				.collect::<Vec<_>>()
				.join(", ")
		);
		let rows = sqlx::query(&sql)
			.bind(&self.node)
			.bind(now + lease.as_millis() as i64)
			.bind(now)
			.bind(aging.as_millis() as i64)
			.bind(limit)
			.fetch_all(&self.pool)
			.await
			.map_err(backend)?;
		rows.iter()
			.map(|r| {
				let token: i64 = sqlx::Row::try_get(r, "lease_token").map_err(backend)?;
				Ok((read::execution(r)?, token))
			})
			.collect()
	}

	async fn renew(&self, leases: &[(ExecutionId, i64)], lease: Duration) -> StoreResult<Renewal> {
		if leases.is_empty() {
			return Ok(Renewal::default());
		}
		let ids: Vec<Uuid> = leases.iter().map(|(id, _)| id.0).collect();
		let tokens: Vec<i64> = leases.iter().map(|(_, t)| *t).collect();
		let rows: Vec<(Uuid, bool)> = sqlx::query_as(
			"UPDATE wo_executions e SET lease_until = $1 \
			 FROM unnest($2::uuid[], $3::bigint[]) AS f(id, token) \
			 WHERE e.id = f.id AND e.lease_token = f.token AND e.lease_owner = $4 \
			 RETURNING e.id, e.cancel_requested",
		)
		.bind(now_millis() + lease.as_millis() as i64)
		.bind(&ids)
		.bind(&tokens)
		.bind(&self.node)
		.fetch_all(&self.pool)
		.await
		.map_err(backend)?;
		Ok(Renewal {
			held: rows.iter().map(|(id, _)| ExecutionId(*id)).collect(),
			cancel_requested: rows
				.iter()
				.filter(|(_, c)| *c)
				.map(|(id, _)| ExecutionId(*id))
				.collect(),
		})
	}

	async fn claim_one(
		&self,
		id: ExecutionId,
		lease: Duration,
	) -> StoreResult<Option<(Execution, i64)>> {
		let now = now_millis();
		let sql = format!(
			"UPDATE wo_executions SET lease_owner = $1, lease_token = lease_token + 1, \
			 lease_until = $2 WHERE id = $3 AND status NOT IN ('completed', 'failed', 'cancelled') \
			 AND (lease_owner IS NULL OR lease_until < $4) RETURNING {EXECUTION_COLUMNS}, lease_token"
		);
		let row = sqlx::query(&sql)
			.bind(&self.node)
			.bind(now + lease.as_millis() as i64)
			.bind(id.0)
			.bind(now)
			.fetch_optional(&self.pool)
			.await
			.map_err(backend)?;
		row.map(|r| {
			let token: i64 = sqlx::Row::try_get(&r, "lease_token").map_err(backend)?;
			Ok((read::execution(&r)?, token))
		})
		.transpose()
	}

	async fn request_cancel(&self, id: ExecutionId) -> StoreResult<bool> {
		// Only the holder changes an execution's state (through its machine), so this only
		// asks: the holder acts on it at its next lease renewal.
		let requested = sqlx::query(
			"UPDATE wo_executions SET cancel_requested = TRUE WHERE id = $1 \
			 AND status NOT IN ('completed', 'failed', 'cancelled')",
		)
		.bind(id.0)
		.execute(&self.pool)
		.await
		.map_err(backend)?;
		Ok(requested.rows_affected() > 0)
	}
}

#[async_trait]
impl WakeBus for PgCluster {
	async fn notify_work(&self) -> StoreResult<()> {
		sqlx::query("SELECT pg_notify($1, '')")
			.bind(WORK)
			.execute(&self.pool)
			.await
			.map_err(backend)?;
		Ok(())
	}

	async fn notify_events(&self) -> StoreResult<()> {
		// The payload names this node only, so that its own listener skips it.
		sqlx::query("SELECT pg_notify($1, $2)")
			.bind(EVENTS)
			.bind(&self.node)
			.execute(&self.pool)
			.await
			.map_err(backend)?;
		Ok(())
	}

	async fn notify_inbox(&self, execution: ExecutionId) -> StoreResult<()> {
		sqlx::query("SELECT pg_notify($1, $2)")
			.bind(INBOX)
			.bind(execution.to_string())
			.execute(&self.pool)
			.await
			.map_err(backend)?;
		Ok(())
	}

	async fn next_signal(&self) -> StoreResult<Signal> {
		let mut listener = self.listener.lock().await;
		loop {
			let n = listener.recv().await.map_err(backend)?;
			match n.channel() {
				WORK => return Ok(Signal::Work),
				EVENTS if n.payload() != self.node => return Ok(Signal::Events),
				INBOX => {
					if let Ok(id) = n.payload().parse() {
						return Ok(Signal::Inbox(id));
					}
				}
				_ => {}
			}
		}
	}
}
