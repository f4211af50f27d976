//! `/credentials`: named secrets that workflows use as `{{secrets.<name>}}`. Values are
//! write-only: sealed with the Fernet keys at once, never returned, decrypted only to run a
//! component. A credential belongs to its creator; only they (and admins) see it, and only
//! their workflows can use it.

use apg_core::{Credential, CredentialId, Permission, Principal, now_millis};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::{JsonBody, parse_id, typed};
use crate::state::AppState;
use crate::views::{Envelope, iso};

type ApiResult<T> = Result<Json<Envelope<T>>, ApiError>;

/// The largest value stored (64 KiB: certificates and keys fit).
const MAX_VALUE: usize = 64 * 1024;

pub(crate) fn router() -> Router<AppState> {
	Router::new()
		.route(
			"/credentials",
			get(list_credentials).post(create_credential),
		)
		.route(
			"/credentials/{id}",
			get(get_credential)
				.put(update_credential)
				.delete(delete_credential),
		)
}

/// A credential as shown: never its value.
#[derive(Serialize, ToSchema)]
pub(crate) struct CredentialView {
	id: String,
	/// Used as `{{secrets.<name>}}`.
	name: String,
	description: Option<String>,
	owner: String,
	/// Always `***`.
	value: String,
	created_at: String,
	updated_at: String,
}

impl CredentialView {
	fn new(c: &Credential) -> Self {
		Self {
			id: c.id.to_string(),
			name: c.name.clone(),
			description: c.description.clone(),
			owner: c.owner.to_string(),
			value: apg_core::secrets::MASK.to_owned(),
			created_at: iso(c.created_at),
			updated_at: iso(c.updated_at),
		}
	}
}

/// A new credential.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewCredentialBody {
	/// An identifier: letters, digits and `_`, not starting with a digit (1–100 characters).
	name: String,
	/// The secret (1 byte to 64 KiB).
	value: String,
	description: Option<String>,
}

/// Changes to a credential.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CredentialPatch {
	value: Option<String>,
	description: Option<String>,
}

fn check_value(value: &str) -> Result<(), ApiError> {
	if value.is_empty() || value.len() > MAX_VALUE {
		return Err(ApiError::bad_request("value", "1 byte to 64 KiB"));
	}
	Ok(())
}

fn check_description(d: Option<&str>) -> Result<(), ApiError> {
	if d.is_some_and(|d| d.chars().count() > 1000) {
		return Err(ApiError::bad_request(
			"description",
			"at most 1,000 characters",
		));
	}
	match d.map(apg_core::text::check_description) {
		Some(Err(why)) => Err(ApiError::bad_request("description", why)),
		_ => Ok(()),
	}
}

/// Loads a credential the caller may see (404 otherwise).
async fn load(state: &AppState, caller: &Principal, id: &str) -> Result<Credential, ApiError> {
	let id: CredentialId = parse_id(id, "credential")?;
	let found = state.security.accounts.get_credential(id).await?;
	match found {
		Some(c)
			if c.owner == caller.user_id || caller.can_everywhere(Permission::CredentialRead) =>
		{
			Ok(c)
		}
		Some(_) => {
			let guard = &state.security.guard;
			guard
				.deny(
					caller,
					"credential.read",
					&format!("credential/{id}"),
					"not visible",
				)
				.await;
			Err(ApiError::NotFound(format!("credential {id}")))
		}
		None => Err(ApiError::NotFound(format!("credential {id}"))),
	}
}

/// The caller's credentials (an admin's: everyone's).
#[utoipa::path(get, path = "/api/v1/credentials", tag = "credentials",
	responses((status = 200, body = Envelope<Vec<CredentialView>>), (status = 403, body = crate::views::ErrorBody)))]
pub(crate) async fn list_credentials(
	State(state): State<AppState>,
	Caller(caller): Caller,
) -> ApiResult<Vec<CredentialView>> {
	state
		.security
		.guard
		.require(&caller, Permission::CredentialRead)
		.await?;
	let owner = (!caller.can_everywhere(Permission::CredentialRead)).then_some(caller.user_id);
	let rows = state.security.accounts.list_credentials(owner).await?;
	Ok(Json(Envelope::new(
		rows.iter().map(CredentialView::new).collect(),
		None,
	)))
}

/// Stores a secret (201); its value is never returned.
#[utoipa::path(post, path = "/api/v1/credentials", tag = "credentials", request_body = NewCredentialBody,
	responses((status = 201, body = Envelope<CredentialView>), (status = 400, body = crate::views::ErrorBody),
		(status = 403, body = crate::views::ErrorBody), (status = 409, body = crate::views::ErrorBody)))]
pub(crate) async fn create_credential(
	State(state): State<AppState>,
	Caller(caller): Caller,
	JsonBody(body): JsonBody,
) -> Result<(StatusCode, Json<Envelope<CredentialView>>), ApiError> {
	state
		.security
		.guard
		.require(&caller, Permission::CredentialCreate)
		.await?;
	let body: NewCredentialBody = typed(body)?;
	let ok_name = body.name.len() <= 100
		&& body
			.name
			.chars()
			.next()
			.is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
		&& body
			.name
			.chars()
			.all(|c| c.is_ascii_alphanumeric() || c == '_');
	if !ok_name {
		return Err(ApiError::bad_request(
			"name",
			"letters, digits and '_', not starting with a digit (1–100 characters)",
		));
	}
	check_value(&body.value)?;
	check_description(body.description.as_deref())?;
	let now = now_millis();
	let credential = Credential {
		id: CredentialId::new(),
		owner: caller.user_id,
		name: body.name,
		description: body.description,
		token: state.security.keys.encrypt(&body.value),
		created_at: now,
		updated_at: now,
	};
	state
		.security
		.accounts
		.create_credential(&credential)
		.await?;
	let details = json!({"name": credential.name});
	state
		.audit(
			&caller,
			"credential.create",
			format!("credential/{}", credential.id),
			details,
		)
		.await;
	Ok((
		StatusCode::CREATED,
		Json(Envelope::new(
			CredentialView::new(&credential),
			"Credential stored".to_owned(),
		)),
	))
}

/// One credential (without its value).
#[utoipa::path(get, path = "/api/v1/credentials/{id}", tag = "credentials",
	params(("id" = String, Path, description = "Credential id")),
	responses((status = 200, body = Envelope<CredentialView>), (status = 403, body = crate::views::ErrorBody),
		(status = 404, body = crate::views::ErrorBody)))]
pub(crate) async fn get_credential(
	State(state): State<AppState>,
	Caller(caller): Caller,
	Path(id): Path<String>,
) -> ApiResult<CredentialView> {
	state
		.security
		.guard
		.require(&caller, Permission::CredentialRead)
		.await?;
	let c = load(&state, &caller, &id).await?;
	Ok(Json(Envelope::new(CredentialView::new(&c), None)))
}

/// Replaces a credential's value or description.
#[utoipa::path(put, path = "/api/v1/credentials/{id}", tag = "credentials", request_body = CredentialPatch,
	params(("id" = String, Path, description = "Credential id")),
	responses((status = 200, body = Envelope<CredentialView>), (status = 400, body = crate::views::ErrorBody),
		(status = 403, body = crate::views::ErrorBody), (status = 404, body = crate::views::ErrorBody)))]
pub(crate) async fn update_credential(
	State(state): State<AppState>,
	Caller(caller): Caller,
	Path(id): Path<String>,
	JsonBody(body): JsonBody,
) -> ApiResult<CredentialView> {
	state
		.security
		.guard
		.require(&caller, Permission::CredentialUpdate)
		.await?;
	let patch: CredentialPatch = typed(body)?;
	let mut c = load(&state, &caller, &id).await?;
	if let Some(v) = &patch.value {
		check_value(v)?;
		c.token = state.security.keys.encrypt(v);
	}
	check_description(patch.description.as_deref())?;
	if patch.description.is_some() {
		c.description = patch.description;
	}
	c.updated_at = now_millis();
	state.security.accounts.update_credential(&c).await?;
	let details = json!({"name": c.name, "value_changed": patch.value.is_some()});
	state
		.audit(
			&caller,
			"credential.update",
			format!("credential/{}", c.id),
			details,
		)
		.await;
	Ok(Json(Envelope::new(
		CredentialView::new(&c),
		"Credential updated".to_owned(),
	)))
}

/// Deletes a credential.
#[utoipa::path(delete, path = "/api/v1/credentials/{id}", tag = "credentials",
	params(("id" = String, Path, description = "Credential id")),
	responses((status = 200, body = Envelope<Option<String>>), (status = 403, body = crate::views::ErrorBody),
		(status = 404, body = crate::views::ErrorBody)))]
pub(crate) async fn delete_credential(
	State(state): State<AppState>,
	Caller(caller): Caller,
	Path(id): Path<String>,
) -> ApiResult<Option<String>> {
	state
		.security
		.guard
		.require(&caller, Permission::CredentialDelete)
		.await?;
	let c = load(&state, &caller, &id).await?;
	state.security.accounts.delete_credential(c.id).await?;
	let details = json!({"name": c.name});
	state
		.audit(
			&caller,
			"credential.delete",
			format!("credential/{}", c.id),
			details,
		)
		.await;
	Ok(Json(Envelope::new(None, "Credential deleted".to_owned())))
}
