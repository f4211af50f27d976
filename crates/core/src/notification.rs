//! In-app notifications: what `apg_notification` leaves for a user, and the
//! [`NotificationStore`] that keeps them. A notification is stored before it is pushed, so a
//! user who was not connected when it was sent finds it in `GET /api/v1/notifications`; the push
//! over `/ws` is only the fast path.
//!
//! Kept apart from [`crate::AuthStore`] because only the connector and the notification routes
//! need it, and apart from [`crate::Store`] because the engine never does.

use async_trait::async_trait;
use serde::Serialize;
use serde_json::Value;

use crate::Millis;
use crate::ids::{ExecutionId, NotificationId, UserId};
use crate::store::StoreResult;

/// How a notification presents itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum NotificationLevel {
	/// For information.
	Info,
	/// Something went well.
	Success,
	/// Needs attention.
	Warning,
	/// Something failed.
	Error,
}

impl NotificationLevel {
	/// The lowercase name.
	pub fn as_str(self) -> &'static str {
		match self {
			Self::Info => "info",
			Self::Success => "success",
			Self::Warning => "warning",
			Self::Error => "error",
		}
	}

	/// The level named `text`.
	pub fn parse(text: &str) -> Option<Self> {
		Some(match text {
			"info" => Self::Info,
			"success" => Self::Success,
			"warning" => Self::Warning,
			"error" => Self::Error,
			_ => return None,
		})
	}
}

/// One notification for one user.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Notification {
	/// Its id.
	pub id: NotificationId,
	/// Who it is for; nobody else ever sees it.
	pub user_id: UserId,
	/// How it presents itself.
	pub level: NotificationLevel,
	/// One line.
	pub title: String,
	/// The text.
	pub message: String,
	/// Anything structured the workflow attached.
	pub data: Value,
	/// The execution that sent it, if one did.
	pub execution_id: Option<ExecutionId>,
	/// When it was sent.
	pub created_at: Millis,
	/// When its user marked it read.
	pub read_at: Option<Millis>,
}

/// Where notifications are kept.
#[async_trait]
pub trait NotificationStore: Send + Sync {
	/// Stores a notification.
	async fn add_notification(&self, notification: &Notification) -> StoreResult<()>;
	/// `user`'s notifications, newest first, at most `limit` (all when `limit <= 0`).
	async fn list_notifications(
		&self,
		user: UserId,
		unread_only: bool,
		limit: i64,
	) -> StoreResult<Vec<Notification>>;
	/// Marks one of `user`'s notifications read at `at`; false when `user` has none of that id.
	async fn mark_notification_read(
		&self,
		user: UserId,
		id: NotificationId,
		at: Millis,
	) -> StoreResult<bool>;
}
