//! `/files`: the caller's own file store, the same one `apg_file_management` works on.
//!
//! Every user sees only their own files: names are looked up in the caller's store and no
//! route takes a user, so another user's files cannot even be named. Viewers may list and
//! download; uploading and deleting need a role that runs workflows (`workflow.execute`), as in
//! the connector. Bodies are raw bytes, up to the store's limit (and the server's body limit).

use apg_connectors::{FileError, StoredFile};
use apg_core::Permission;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;

use crate::auth::Caller;
use crate::error::ApiError;
use crate::state::AppState;
use crate::views::{Envelope, iso};

pub(crate) fn router() -> Router<AppState> {
	Router::new().route("/files", get(list_files)).route(
		"/files/{name}",
		get(download_file).put(upload_file).delete(delete_file),
	)
}

/// A stored file.
#[derive(Serialize, ToSchema)]
pub(crate) struct FileView {
	name: String,
	/// Bytes.
	size: u64,
	#[schema(format = DateTime)]
	modified: String,
}

impl FileView {
	fn new(f: &StoredFile) -> Self {
		Self {
			name: f.name.clone(),
			size: f.size,
			modified: iso(f.modified),
		}
	}
}

impl From<FileError> for ApiError {
	fn from(e: FileError) -> Self {
		match e {
			FileError::InvalidName { .. } => ApiError::bad_request("name", e.to_string()),
			FileError::NotFound(name) => ApiError::NotFound(format!("file '{name}'")),
			FileError::TooLarge { .. } => ApiError::TooLarge,
			FileError::Io(io) => ApiError::Internal(format!("file store: {io}")),
		}
	}
}

/// The caller's files, by name.
#[utoipa::path(get, path = "/api/v1/files", tag = "files",
	responses((status = 200, body = Envelope<Vec<FileView>>)))]
pub(crate) async fn list_files(
	State(state): State<AppState>,
	Caller(caller): Caller,
) -> Result<Json<Envelope<Vec<FileView>>>, ApiError> {
	let files = state.files.list(caller.user_id).await?;
	Ok(Json(Envelope::new(
		files.iter().map(FileView::new).collect(),
		None,
	)))
}

/// One of the caller's files, as bytes.
#[utoipa::path(get, path = "/api/v1/files/{name}", tag = "files",
	params(("name" = String, Path, description = "The file name")),
	responses((status = 200, description = "The file", content_type = "application/octet-stream",
		body = Vec<u8>), (status = 400, body = crate::views::ErrorBody),
		(status = 404, body = crate::views::ErrorBody)))]
pub(crate) async fn download_file(
	State(state): State<AppState>,
	Caller(caller): Caller,
	Path(name): Path<String>,
) -> Result<Response, ApiError> {
	let bytes = state.files.get(caller.user_id, &name).await?;
	Ok((
		[
			(header::CONTENT_TYPE, "application/octet-stream".to_owned()),
			// The name passed the store's check: no quote, separator or control character.
			(
				header::CONTENT_DISPOSITION,
				format!("attachment; filename=\"{}\"", name.replace('"', "")),
			),
			(header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_owned()),
		],
		bytes,
	)
		.into_response())
}

/// Stores the body as one of the caller's files, replacing one of that name.
#[utoipa::path(put, path = "/api/v1/files/{name}", tag = "files",
	params(("name" = String, Path, description = "The file name")),
	request_body(content = Vec<u8>, content_type = "application/octet-stream"),
	responses((status = 201, body = Envelope<FileView>), (status = 400, body = crate::views::ErrorBody),
		(status = 403, body = crate::views::ErrorBody), (status = 413, body = crate::views::ErrorBody)))]
pub(crate) async fn upload_file(
	State(state): State<AppState>,
	Caller(caller): Caller,
	Path(name): Path<String>,
	body: Bytes,
) -> Result<(StatusCode, Json<Envelope<FileView>>), ApiError> {
	state
		.security
		.guard
		.require(&caller, Permission::WorkflowExecute)
		.await?;
	let stored = state.files.put(caller.user_id, &name, &body).await?;
	let details = json!({"size": stored.size});
	state
		.audit(&caller, "file.upload", format!("file/{name}"), details)
		.await;
	Ok((
		StatusCode::CREATED,
		Json(Envelope::new(
			FileView::new(&stored),
			"File stored".to_owned(),
		)),
	))
}

/// Deletes one of the caller's files.
#[utoipa::path(delete, path = "/api/v1/files/{name}", tag = "files",
	params(("name" = String, Path, description = "The file name")),
	responses((status = 200, body = Envelope<Option<String>>), (status = 400, body = crate::views::ErrorBody),
		(status = 403, body = crate::views::ErrorBody), (status = 404, body = crate::views::ErrorBody)))]
pub(crate) async fn delete_file(
	State(state): State<AppState>,
	Caller(caller): Caller,
	Path(name): Path<String>,
) -> Result<Json<Envelope<Option<String>>>, ApiError> {
	state
		.security
		.guard
		.require(&caller, Permission::WorkflowExecute)
		.await?;
	state.files.delete(caller.user_id, &name).await?;
	state
		.audit(&caller, "file.delete", format!("file/{name}"), json!({}))
		.await;
	Ok(Json(Envelope::new(None, "File deleted".to_owned())))
}
