//! [`Cache`] on Redis: `GET`/`SETEX`/`DEL`, shared by every node, so deleting a key invalidates it
//! everywhere at once.

use std::time::Duration;

use apg_core::Cache;
use async_trait::async_trait;
use redis::AsyncCommands;

use crate::Link;

/// The shared cache.
pub struct RedisCache {
	link: Link,
}

impl RedisCache {
	/// A cache on the Redis at `url` (connected on first use, reconnected after failures).
	pub fn new(url: &str) -> Result<Self, String> {
		Ok(Self {
			link: Link::new(url)?,
		})
	}
}

#[async_trait]
impl Cache for RedisCache {
	async fn get(&self, key: &str) -> Option<String> {
		let mut conn = self.link.get().await?;
		conn.get::<_, Option<String>>(key).await.ok().flatten()
	}

	async fn set(&self, key: &str, value: &str, ttl: Duration) {
		if let Some(mut conn) = self.link.get().await {
			let _: Result<(), _> = conn.set_ex(key, value, ttl.as_secs().max(1)).await;
		}
	}

	async fn delete(&self, key: &str) {
		if let Some(mut conn) = self.link.get().await {
			let result: Result<(), _> = conn.del(key).await;
			if let Err(e) = result {
				// The entry may outlive the change until its TTL: say so.
				tracing::warn!(key, error = %e, "cannot invalidate a cached entry");
			}
		}
	}
}
