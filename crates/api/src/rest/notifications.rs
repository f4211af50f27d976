//! `/notifications`: the caller's in-app notifications (sent by `apg_notification`), newest
//! first, and marking one read. Only ever the caller's own: another user's id is a 404.

use apg_core::{Notification, NotificationId};
use axum::extract::{Path, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::{ApiQuery, parse_id};
use crate::state::AppState;
use crate::views::{Envelope, iso};

pub(crate) fn router() -> Router<AppState> {
	Router::new()
		.route("/notifications", get(list_notifications))
		.route("/notifications/{id}/read", post(mark_read))
}

/// Filters of the list.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct NotificationQuery {
	/// Only those not yet read.
	unread: Option<bool>,
	/// At most this many, 1–500 (default 50).
	#[param(minimum = 1, maximum = 500)]
	limit: Option<i64>,
}

/// One notification.
#[derive(Serialize, ToSchema)]
pub(crate) struct NotificationView {
	#[schema(format = Uuid)]
	id: String,
	/// info, success, warning or error.
	level: String,
	title: String,
	message: String,
	#[schema(value_type = Object)]
	data: Value,
	/// The execution that sent it.
	#[schema(format = Uuid)]
	execution_id: Option<String>,
	#[schema(format = DateTime)]
	created_at: String,
	#[schema(format = DateTime)]
	read_at: Option<String>,
}

impl NotificationView {
	pub(crate) fn new(n: &Notification) -> Self {
		Self {
			id: n.id.to_string(),
			level: n.level.as_str().to_owned(),
			title: n.title.clone(),
			message: n.message.clone(),
			data: n.data.clone(),
			execution_id: n.execution_id.map(|e| e.to_string()),
			created_at: iso(n.created_at),
			read_at: n.read_at.map(iso),
		}
	}
}

/// The caller's notifications, newest first.
#[utoipa::path(get, path = "/api/v1/notifications", tag = "notifications",
	params(NotificationQuery),
	responses((status = 200, body = Envelope<Vec<NotificationView>>),
		(status = 400, body = crate::views::ErrorBody)))]
pub(crate) async fn list_notifications(
	State(state): State<AppState>,
	Caller(caller): Caller,
	ApiQuery(q): ApiQuery<NotificationQuery>,
) -> Result<Json<Envelope<Vec<NotificationView>>>, ApiError> {
	let limit = q.limit.unwrap_or(50);
	if !(1..=500).contains(&limit) {
		return Err(ApiError::bad_request("limit", "must be between 1 and 500"));
	}
	let list = state
		.security
		.notices
		.list(caller.user_id, q.unread.unwrap_or(false), limit)
		.await?;
	Ok(Json(Envelope::new(
		list.iter().map(NotificationView::new).collect(),
		None,
	)))
}

/// Marks one of the caller's notifications read.
#[utoipa::path(post, path = "/api/v1/notifications/{id}/read", tag = "notifications",
	params(("id" = String, Path, description = "Notification id")),
	responses((status = 200, body = Envelope<Option<String>>), (status = 404, body = crate::views::ErrorBody)))]
pub(crate) async fn mark_read(
	State(state): State<AppState>,
	Caller(caller): Caller,
	Path(id): Path<String>,
) -> Result<Json<Envelope<Option<String>>>, ApiError> {
	let id: NotificationId = parse_id(&id, "notification")?;
	state.security.notices.mark_read(caller.user_id, id).await?;
	Ok(Json(Envelope::new(None, "Marked read".to_owned())))
}
