//! Redis for APG Workflow: the cache shared by every node and the cross-node event bus.
//!
//! Redis is never the source of truth. Every operation here is best effort: when Redis is down
//! the cache reads as a miss (callers read PostgreSQL) and events travel through PostgreSQL's
//! NOTIFY instead, so nothing is lost and nodes carry on; both recover by themselves when Redis
//! returns.

mod bus;
mod cache;

pub use bus::RedisCluster;
pub use cache::RedisCache;

use std::sync::Mutex;
use std::time::{Duration, Instant};

use redis::aio::ConnectionManager;

/// A lazily (re)connected Redis connection: at most one connection attempt per second while
/// Redis is unavailable, so a dead Redis costs callers nothing but a miss.
pub(crate) struct Link {
	client: redis::Client,
	conn: tokio::sync::Mutex<Option<ConnectionManager>>,
	last_attempt: Mutex<Option<Instant>>,
}

impl Link {
	pub(crate) fn new(url: &str) -> Result<Self, String> {
		let client = redis::Client::open(url).map_err(|e| format!("invalid Redis URL: {e}"))?;
		Ok(Self {
			client,
			conn: tokio::sync::Mutex::new(None),
			last_attempt: Mutex::new(None),
		})
	}

	pub(crate) fn client(&self) -> &redis::Client {
		&self.client
	}

	/// A connection, or `None` while Redis is unavailable.
	pub(crate) async fn get(&self) -> Option<ConnectionManager> {
		let mut conn = self.conn.lock().await;
		if let Some(c) = conn.as_ref() {
			return Some(c.clone());
		}
		{
			let mut last = self.last_attempt.lock().unwrap_or_else(|e| e.into_inner());
			if last.is_some_and(|t| t.elapsed() < Duration::from_secs(1)) {
				return None;
			}
			*last = Some(Instant::now());
		}
		let config = redis::aio::ConnectionManagerConfig::new()
			.set_connection_timeout(Duration::from_millis(500))
			.set_response_timeout(Duration::from_millis(500))
			.set_number_of_retries(1);
		match ConnectionManager::new_with_config(self.client.clone(), config).await {
			Ok(c) => {
				*conn = Some(c.clone());
				Some(c)
			}
			Err(e) => {
				tracing::warn!(error = %e, "Redis is unavailable; using the database");
				None
			}
		}
	}
}
