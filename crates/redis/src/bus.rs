//! The cross-node event bus on Redis pub/sub, wrapped around the database's [`WakeBus`]: claims,
//! leases and wake-ups stay in the database; events go through Redis, and through the database's
//! NOTIFY whenever Redis cannot take them.

use std::sync::Arc;
use std::time::Duration;

use apg_core::store::{StoreError, StoreResult};
use apg_core::{Signal, WakeBus};
use async_trait::async_trait;
use futures_util::StreamExt;
use redis::AsyncCommands;
use tokio::sync::{Mutex, mpsc};

use crate::Link;

const CHANNEL: &str = "apg:events";

/// A [`WakeBus`] whose events travel over Redis (the database's bus stays the fallback).
pub struct RedisCluster {
	inner: Arc<dyn WakeBus>,
	node: String,
	link: Arc<Link>,
	signals: Mutex<mpsc::Receiver<Signal>>,
}

impl RedisCluster {
	/// Wraps `inner`, publishing and receiving events through the Redis at `url`.
	pub fn new(inner: Arc<dyn WakeBus>, node: &str, url: &str) -> Result<Self, String> {
		let link = Arc::new(Link::new(url)?);
		let (tx, rx) = mpsc::channel(1024);
		// The database's own signals: wake-ups, and events sent while Redis was down.
		let db = Arc::clone(&inner);
		let db_tx = tx.clone();
		tokio::spawn(async move {
			loop {
				match db.next_signal().await {
					Ok(signal) => {
						if db_tx.send(signal).await.is_err() {
							return;
						}
					}
					Err(e) => {
						tracing::warn!(error = %e, "database listener failed; retrying");
						tokio::time::sleep(Duration::from_secs(1)).await;
					}
				}
			}
		});
		let own = node.to_owned();
		let node = node.to_owned();
		let sub_link = Arc::clone(&link);
		tokio::spawn(async move {
			loop {
				if tx.is_closed() {
					return;
				}
				if let Err(e) = subscribe(&sub_link, &node, &tx).await {
					tracing::warn!(error = %e, "Redis subscription lost; retrying");
				}
				tokio::time::sleep(Duration::from_secs(1)).await;
			}
		});
		Ok(Self {
			inner,
			node: own,
			link,
			signals: Mutex::new(rx),
		})
	}
}

async fn subscribe(link: &Link, node: &str, tx: &mpsc::Sender<Signal>) -> redis::RedisResult<()> {
	let mut pubsub = link.client().get_async_pubsub().await?;
	pubsub.subscribe(CHANNEL).await?;
	let mut messages = pubsub.on_message();
	while let Some(message) = messages.next().await {
		let Ok(payload) = message.get_payload::<String>() else {
			continue;
		};
		// The payload is the committing node's name: a node's own commits are not news to it.
		if payload != node && tx.send(Signal::Events).await.is_err() {
			return Ok(());
		}
	}
	Ok(())
}

#[async_trait]
impl WakeBus for RedisCluster {
	async fn notify_work(&self) -> StoreResult<()> {
		self.inner.notify_work().await
	}

	async fn notify_events(&self) -> StoreResult<()> {
		if let Some(mut conn) = self.link.get().await {
			let sent: redis::RedisResult<i64> = conn.publish(CHANNEL, &self.node).await;
			if sent.is_ok() {
				return Ok(());
			}
		}
		// Redis is down: the database carries the signal until it returns.
		self.inner.notify_events().await
	}

	async fn notify_inbox(&self, execution: apg_core::ExecutionId) -> StoreResult<()> {
		// Rare, and the holder must not miss it: the database's NOTIFY carries it.
		self.inner.notify_inbox(execution).await
	}

	async fn next_signal(&self) -> StoreResult<Signal> {
		self.signals
			.lock()
			.await
			.recv()
			.await
			.ok_or_else(|| StoreError::Backend("the cluster listeners stopped".to_owned()))
	}
}
