//! [`Notices`]: in-app notifications for one user each, stored first and then pushed to that
//! user's open WebSocket connections in this process.
//!
//! The push is a broadcast every `/ws` session of the process hears and filters by user id, so
//! a notification reaches its user and nobody else. A node of a cluster pushes only to the
//! clients connected to it; the others see the stored copy at `GET /api/v1/notifications`.

use std::sync::Arc;

use apg_core::{Millis, Notification, NotificationId, NotificationStore, UserId, now_millis};
use tokio::sync::broadcast;

use crate::error::AuthError;

/// Notifications waiting to be pushed before a slow session misses some (it then has the list).
const LIVE_BUFFER: usize = 256;

/// Sends, lists and marks in-app notifications.
#[derive(Clone)]
pub struct Notices {
	store: Arc<dyn NotificationStore>,
	live: broadcast::Sender<Notification>,
}

impl Notices {
	/// Notifications kept in `store`.
	pub fn new(store: Arc<dyn NotificationStore>) -> Self {
		Self {
			store,
			live: broadcast::channel(LIVE_BUFFER).0,
		}
	}

	/// Stores `notification`, then pushes it to its user's open connections.
	pub async fn send(&self, notification: Notification) -> Result<(), AuthError> {
		self.store.add_notification(&notification).await?;
		// No receiver (nobody connected) is not an error: the stored copy is the record.
		let _ = self.live.send(notification);
		Ok(())
	}

	/// What is pushed from now on, for every user: a session keeps its own user's.
	pub fn subscribe(&self) -> broadcast::Receiver<Notification> {
		self.live.subscribe()
	}

	/// `user`'s notifications, newest first.
	pub async fn list(
		&self,
		user: UserId,
		unread_only: bool,
		limit: i64,
	) -> Result<Vec<Notification>, AuthError> {
		Ok(self
			.store
			.list_notifications(user, unread_only, limit)
			.await?)
	}

	/// Marks one of `user`'s notifications read; `NotFound` when `user` has none of that id
	/// (someone else's is not found either, so their ids do not leak).
	pub async fn mark_read(&self, user: UserId, id: NotificationId) -> Result<Millis, AuthError> {
		let at = now_millis();
		if self.store.mark_notification_read(user, id, at).await? {
			Ok(at)
		} else {
			Err(AuthError::NotFound(format!("notification {id}")))
		}
	}
}
