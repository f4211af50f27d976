//! `/users` (accounts, for `user.*`) and `/roles` (what each role may do). A user may always
//! change their own password at `PUT /users/me/password`.
//!
//! A new password ends everything issued under the old one: tokens carry the account's version,
//! and the store revokes the user's API keys in the same write (`AuthStore::update_user`), so
//! a key made by whoever knew the old password does not survive the change. Usernames are
//! unique ignoring case; a taken one is a 409 with the store's message.

use apg_auth::{
	NewUser, UserChange, apply_change, check_password, hash_password, new_user, off_thread,
	verify_password,
};
use apg_core::{Permission, Role, User, UserId, now_millis};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, put};
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

pub(crate) fn router() -> Router<AppState> {
	Router::new()
		.route("/users", get(list_users).post(create_user))
		.route("/users/me/password", put(change_own_password))
		.route(
			"/users/{id}",
			get(get_user).patch(update_user).delete(delete_user),
		)
		.route("/roles", get(list_roles))
}

/// A user as shown (never the hash).
#[derive(Serialize, ToSchema)]
pub(crate) struct UserView {
	id: String,
	username: String,
	/// admin, editor, operator or viewer.
	role: String,
	active: bool,
	created_at: String,
	updated_at: String,
}

impl UserView {
	pub(crate) fn new(u: &User) -> Self {
		Self {
			id: u.id.to_string(),
			username: u.username.clone(),
			role: u.role.as_str().to_owned(),
			active: u.active,
			created_at: iso(u.created_at),
			updated_at: iso(u.updated_at),
		}
	}
}

/// A new user.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewUserBody {
	username: String,
	/// At least 8 characters.
	password: String,
	/// admin, editor, operator or viewer.
	role: String,
}

/// Changes to a user.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct UserPatch {
	role: Option<String>,
	active: Option<bool>,
	/// A new password (at least 8 characters).
	password: Option<String>,
}

/// A password change by its owner.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct PasswordBody {
	current_password: String,
	new_password: String,
}

/// One role and its permissions.
#[derive(Serialize, ToSchema)]
pub(crate) struct RoleView {
	name: String,
	/// Whether the permissions apply to every resource (admin) or only to those the user owns
	/// or was shared.
	global: bool,
	permissions: Vec<String>,
}

fn role_of(text: &str) -> Result<Role, ApiError> {
	text.parse()
		.map_err(|e: String| ApiError::bad_request("role", e))
}

async fn load(state: &AppState, id: &str) -> Result<User, ApiError> {
	let id: UserId = parse_id(id, "user")?;
	state
		.security
		.accounts
		.get_user(id)
		.await?
		.ok_or_else(|| ApiError::NotFound(format!("user {id}")))
}

/// Every user (`user.read`).
#[utoipa::path(get, path = "/api/v1/users", tag = "users",
	responses((status = 200, body = Envelope<Vec<UserView>>), (status = 403, body = crate::views::ErrorBody)))]
pub(crate) async fn list_users(
	State(state): State<AppState>,
	Caller(caller): Caller,
) -> ApiResult<Vec<UserView>> {
	state
		.security
		.guard
		.require(&caller, Permission::UserRead)
		.await?;
	let users = state.security.accounts.list_users().await?;
	Ok(Json(Envelope::new(
		users.iter().map(UserView::new).collect(),
		None,
	)))
}

/// Creates a user (`user.create`).
#[utoipa::path(post, path = "/api/v1/users", tag = "users", request_body = NewUserBody,
	responses((status = 201, body = Envelope<UserView>), (status = 400, body = crate::views::ErrorBody),
		(status = 403, body = crate::views::ErrorBody), (status = 409, body = crate::views::ErrorBody)))]
pub(crate) async fn create_user(
	State(state): State<AppState>,
	Caller(caller): Caller,
	JsonBody(body): JsonBody,
) -> Result<(StatusCode, Json<Envelope<UserView>>), ApiError> {
	state
		.security
		.guard
		.require(&caller, Permission::UserCreate)
		.await?;
	let body: NewUserBody = typed(body)?;
	let role = role_of(&body.role)?;
	let user = off_thread(move || {
		new_user(NewUser {
			username: body.username,
			password: body.password,
			role,
		})
	})
	.await?;
	state.security.accounts.create_user(&user).await?;
	let details = json!({"username": user.username, "role": user.role.as_str()});
	state
		.audit(&caller, "user.create", format!("user/{}", user.id), details)
		.await;
	Ok((
		StatusCode::CREATED,
		Json(Envelope::new(
			UserView::new(&user),
			"User created".to_owned(),
		)),
	))
}

/// One user (`user.read`, or oneself).
#[utoipa::path(get, path = "/api/v1/users/{id}", tag = "users",
	params(("id" = String, Path, description = "User id")),
	responses((status = 200, body = Envelope<UserView>), (status = 403, body = crate::views::ErrorBody),
		(status = 404, body = crate::views::ErrorBody)))]
pub(crate) async fn get_user(
	State(state): State<AppState>,
	Caller(caller): Caller,
	Path(id): Path<String>,
) -> ApiResult<UserView> {
	if id != caller.user_id.to_string() {
		state
			.security
			.guard
			.require(&caller, Permission::UserRead)
			.await?;
	}
	let user = load(&state, &id).await?;
	Ok(Json(Envelope::new(UserView::new(&user), None)))
}

/// Changes a user's role, state or password (`user.update`). An admin cannot demote or
/// disable themselves, so the last admin cannot lock everyone out by mistake.
#[utoipa::path(patch, path = "/api/v1/users/{id}", tag = "users", request_body = UserPatch,
	params(("id" = String, Path, description = "User id")),
	responses((status = 200, body = Envelope<UserView>), (status = 400, body = crate::views::ErrorBody),
		(status = 403, body = crate::views::ErrorBody), (status = 404, body = crate::views::ErrorBody),
		(status = 409, body = crate::views::ErrorBody)))]
pub(crate) async fn update_user(
	State(state): State<AppState>,
	Caller(caller): Caller,
	Path(id): Path<String>,
	JsonBody(body): JsonBody,
) -> ApiResult<UserView> {
	state
		.security
		.guard
		.require(&caller, Permission::UserUpdate)
		.await?;
	let patch: UserPatch = typed(body)?;
	let mut user = load(&state, &id).await?;
	let change = UserChange {
		role: patch.role.as_deref().map(role_of).transpose()?,
		active: patch.active,
		password: patch.password.clone(),
	};
	if !apply_change(&caller, &mut user, change).await? {
		return Ok(Json(Envelope::new(
			UserView::new(&user),
			"Nothing to change".to_owned(),
		)));
	}
	state.security.accounts.update_user(&user).await?;
	let details = json!({"role": user.role.as_str(), "active": user.active,
		"password_changed": patch.password.is_some(),
		"api_keys_revoked": patch.password.is_some()});
	state
		.audit(&caller, "user.update", format!("user/{}", user.id), details)
		.await;
	let message = if patch.password.is_some() {
		"User updated; the new password revoked their API keys and signed them out"
	} else {
		"User updated"
	};
	Ok(Json(Envelope::new(
		UserView::new(&user),
		message.to_owned(),
	)))
}

/// Deletes a user with their API keys, shares and credentials (`user.delete`; not oneself).
#[utoipa::path(delete, path = "/api/v1/users/{id}", tag = "users",
	params(("id" = String, Path, description = "User id")),
	responses((status = 200, body = Envelope<Option<String>>), (status = 403, body = crate::views::ErrorBody),
		(status = 404, body = crate::views::ErrorBody), (status = 409, body = crate::views::ErrorBody)))]
pub(crate) async fn delete_user(
	State(state): State<AppState>,
	Caller(caller): Caller,
	Path(id): Path<String>,
) -> ApiResult<Option<String>> {
	state
		.security
		.guard
		.require(&caller, Permission::UserDelete)
		.await?;
	let user = load(&state, &id).await?;
	if user.id == caller.user_id {
		return Err(ApiError::Conflict("you cannot delete yourself".to_owned()));
	}
	state.security.accounts.delete_user(user.id).await?;
	let details = json!({"username": user.username});
	state
		.audit(&caller, "user.delete", format!("user/{}", user.id), details)
		.await;
	Ok(Json(Envelope::new(None, "User deleted".to_owned())))
}

/// Changes the caller's own password (the current one is required); revokes the caller's API
/// keys and invalidates their tokens.
#[utoipa::path(put, path = "/api/v1/users/me/password", tag = "users", request_body = PasswordBody,
	responses((status = 200, body = Envelope<Option<String>>), (status = 400, body = crate::views::ErrorBody),
		(status = 403, body = crate::views::ErrorBody)))]
pub(crate) async fn change_own_password(
	State(state): State<AppState>,
	Caller(caller): Caller,
	JsonBody(body): JsonBody,
) -> ApiResult<Option<String>> {
	let body: PasswordBody = typed(body)?;
	check_password(&body.new_password)?;
	let mut user = load(&state, &caller.user_id.to_string()).await?;
	let (hash, current, new) = (
		user.password_hash.clone(),
		body.current_password,
		body.new_password,
	);
	let new_hash =
		off_thread(move || verify_password(&hash, &current).then(|| hash_password(&new))).await;
	let Some(new_hash) = new_hash else {
		state
			.security
			.guard
			.deny(&caller, "user.password", "user/me", "wrong password")
			.await;
		return Err(ApiError::Forbidden(
			"the current password is wrong".to_owned(),
		));
	};
	user.password_hash = new_hash;
	user.updated_at = now_millis();
	state.security.accounts.update_user(&user).await?;
	state
		.audit(
			&caller,
			"user.password",
			format!("user/{}", user.id),
			json!({"api_keys_revoked": true}),
		)
		.await;
	Ok(Json(Envelope::new(
		None,
		"Password changed: your API keys are revoked and every token issued before is \
		 invalid; log in again"
			.to_owned(),
	)))
}

/// Every role with its permissions.
#[utoipa::path(get, path = "/api/v1/roles", tag = "users",
	responses((status = 200, body = Envelope<Vec<RoleView>>)))]
pub(crate) async fn list_roles(Caller(_caller): Caller) -> ApiResult<Vec<RoleView>> {
	let roles = Role::ALL
		.iter()
		.map(|r| RoleView {
			name: r.as_str().to_owned(),
			global: *r == Role::Admin,
			permissions: r
				.permissions()
				.iter()
				.map(|p| p.as_str().to_owned())
				.collect(),
		})
		.collect();
	Ok(Json(Envelope::new(roles, None)))
}
