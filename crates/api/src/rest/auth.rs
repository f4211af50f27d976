//! `/auth`: login (password → access and refresh tokens, throttled), refresh (single-use
//! refresh tokens), the caller's own account, and their API keys (shown once, stored hashed,
//! scoped, revocable).
//!
//! Minting keys is for password sessions, and for keys made with the `keys` scope; a key never
//! gives a new key scopes it does not have, and `metrics` only to owners who hold
//! `metrics.read`. So a leaked key cannot be turned into more, longer-lived or stronger keys.
//!
//! Browsers sign in through [`session`] instead: the same login, its refresh token in a cookie.

pub(crate) mod session;

use apg_auth::{AuthError, Tokens, issue_api_key};
use apg_core::account::{KeyScope, ScopedKey};
use apg_core::{ApiKey, ApiKeyId, Permission, Principal, now_millis};
use axum::extract::{FromRequestParts, Path, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use crate::auth::{Caller, Scopes, client_of};
use crate::error::ApiError;
use crate::extract::{JsonBody, parse_id, typed};
use crate::rest::users::UserView;
use crate::state::AppState;
use crate::views::{Envelope, iso};

type ApiResult<T> = Result<Json<Envelope<T>>, ApiError>;

pub(crate) fn router() -> Router<AppState> {
	Router::new()
		.merge(session::router())
		.route("/auth/login", post(login))
		.route("/auth/refresh", post(refresh))
		.route("/auth/me", get(me))
		.route("/auth/tokens", get(list_keys).post(create_key))
		.route("/auth/tokens/{id}", delete(revoke_key))
}

/// The client address, when the server knows it (throttling key; see [`crate::auth`]).
pub(crate) struct ClientAddr(String);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
	type Rejection = ApiError;

	async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
		Ok(Self(client_of(&parts.extensions)))
	}
}

/// Why a login or refresh failed, for the audit log: without the seconds of a lock-out, so the
/// refusals of one lock-out aggregate into one row.
pub(crate) fn reason(e: &AuthError) -> String {
	match e {
		AuthError::TooManyAttempts(_) => "too many login attempts".to_owned(),
		other => other.to_string(),
	}
}

/// Credentials of a login.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct LoginBody {
	username: String,
	password: String,
}

/// A refresh.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RefreshBody {
	refresh_token: String,
}

/// Tokens issued by a login or refresh.
#[derive(Serialize, ToSchema)]
pub(crate) struct TokensView {
	access_token: String,
	refresh_token: String,
	/// Always `Bearer`.
	token_type: String,
	/// Seconds the access token lives.
	expires_in: i64,
	user: UserView,
}

impl TokensView {
	fn new(t: Tokens, user: &apg_core::User) -> Self {
		Self {
			access_token: t.access_token,
			refresh_token: t.refresh_token,
			token_type: t.token_type.to_owned(),
			expires_in: t.expires_in,
			user: UserView::new(user),
		}
	}
}

/// Exchanges a username (matched ignoring case) and password for tokens; 429 while a lock-out
/// after repeated failures lasts (per account, per client address, and both together).
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", request_body = LoginBody, security(()),
	responses((status = 200, body = Envelope<TokensView>), (status = 400, body = crate::views::ErrorBody),
		(status = 401, body = crate::views::ErrorBody), (status = 429, body = crate::views::ErrorBody)))]
pub(crate) async fn login(
	State(state): State<AppState>,
	ClientAddr(client): ClientAddr,
	JsonBody(body): JsonBody,
) -> ApiResult<TokensView> {
	let (user, tokens) = sign_in(&state, &client, body, "auth/login").await?;
	Ok(Json(Envelope::new(TokensView::new(tokens, &user), None)))
}

/// A password login, for `/auth/login` and the browser's `/auth/session`: the body checked, the
/// throttle, and the audit entry either way (`via` names the route in a refusal's entry).
pub(crate) async fn sign_in(
	state: &AppState,
	client: &str,
	body: serde_json::Value,
	via: &str,
) -> Result<(apg_core::User, Tokens), ApiError> {
	let body: LoginBody = typed(body)?;
	let security = &state.security;
	match security
		.authn
		.login(&body.username, &body.password, client)
		.await
	{
		Ok((user, tokens)) => {
			let principal = apg_core::Principal {
				user_id: user.id,
				username: user.username.clone(),
				role: user.role,
			};
			let details = json!({"client": client, "via": via});
			state
				.audit(
					&principal,
					"auth.login",
					format!("user/{}", user.id),
					details,
				)
				.await;
			Ok((user, tokens))
		}
		Err(e) => {
			let details =
				json!({"username": body.username, "client": client, "reason": reason(&e)});
			security
				.audit
				.record(None, "auth.login", via, false, details)
				.await;
			Err(e.into())
		}
	}
}

/// New tokens, a new refresh token among them, for the current refresh token of a login. The
/// one sent is used up; sending a used one again revokes every refresh token of its login.
#[utoipa::path(post, path = "/api/v1/auth/refresh", tag = "auth", request_body = RefreshBody, security(()),
	responses((status = 200, body = Envelope<TokensView>), (status = 400, body = crate::views::ErrorBody),
		(status = 401, body = crate::views::ErrorBody)))]
pub(crate) async fn refresh(
	State(state): State<AppState>,
	ClientAddr(client): ClientAddr,
	JsonBody(body): JsonBody,
) -> ApiResult<TokensView> {
	let body: RefreshBody = typed(body)?;
	match state.security.authn.refresh(&body.refresh_token).await {
		Ok((user, tokens)) => Ok(Json(Envelope::new(TokensView::new(tokens, &user), None))),
		Err(e) => {
			let details = json!({"client": client, "reason": reason(&e)});
			state
				.security
				.audit
				.record(None, "auth.refresh", "auth/refresh", false, details)
				.await;
			Err(e.into())
		}
	}
}

/// The caller's account.
#[utoipa::path(get, path = "/api/v1/auth/me", tag = "auth",
	responses((status = 200, body = Envelope<UserView>)))]
pub(crate) async fn me(
	State(state): State<AppState>,
	Caller(caller): Caller,
) -> ApiResult<UserView> {
	let user = state
		.security
		.accounts
		.get_user(caller.user_id)
		.await?
		.ok_or_else(|| ApiError::NotFound(format!("user {}", caller.user_id)))?;
	Ok(Json(Envelope::new(UserView::new(&user), None)))
}

/// An API key as listed (never the key itself).
#[derive(Serialize, ToSchema)]
pub(crate) struct ApiKeyView {
	id: String,
	name: String,
	/// The key's first characters.
	prefix: String,
	created_at: String,
	expires_at: Option<String>,
	revoked_at: Option<String>,
	/// What it may be used for: `api`, `keys`, `metrics`.
	scopes: Vec<String>,
	/// Only in the response that created it: the whole key, shown once.
	#[serde(skip_serializing_if = "Option::is_none")]
	key: Option<String>,
}

impl ApiKeyView {
	fn new(scoped: &ScopedKey, key: Option<String>) -> Self {
		let k: &ApiKey = &scoped.key;
		Self {
			id: k.id.to_string(),
			name: k.name.clone(),
			prefix: k.prefix.clone(),
			created_at: iso(k.created_at),
			expires_at: k.expires_at.map(iso),
			revoked_at: k.revoked_at.map(iso),
			scopes: scoped
				.scopes
				.iter()
				.map(|s| s.as_str().to_owned())
				.collect(),
			key,
		}
	}
}

/// A new API key.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewKeyBody {
	/// What it is for (1–100 characters).
	name: String,
	/// Days until it stops working (1–3650); none: until revoked.
	expires_in_days: Option<i64>,
	/// What it may be used for (default `["api"]`): `api` (the API as you, except minting
	/// keys), `keys` (also create and revoke keys; needs `api`), `metrics` (`GET /metrics`;
	/// needs `metrics.read`). A key creating a key cannot give it scopes it lacks.
	scopes: Option<Vec<String>>,
}

/// Refuses an API key without the `keys` scope (a session may always manage its keys).
async fn may_manage_keys(
	state: &AppState,
	caller: &Principal,
	scopes: &Scopes,
	action: &str,
) -> Result<(), ApiError> {
	if scopes.allows(KeyScope::Keys) {
		return Ok(());
	}
	let why = "the API key lacks the 'keys' scope";
	state
		.security
		.guard
		.deny(caller, action, "auth/tokens", why)
		.await;
	Err(ApiError::Forbidden(format!(
		"{why}: log in with a password, or use a key made with it, to manage API keys"
	)))
}

/// The scopes asked for: known, sorted, without duplicates, `keys` only with `api`.
fn requested_scopes(asked: Option<Vec<String>>) -> Result<Vec<KeyScope>, ApiError> {
	let Some(asked) = asked else {
		return Ok(KeyScope::DEFAULT.to_vec());
	};
	let mut scopes = Vec::with_capacity(asked.len());
	for (i, s) in asked.iter().enumerate() {
		let scope = s
			.parse::<KeyScope>()
			.map_err(|e| ApiError::bad_request(&format!("scopes[{i}]"), e))?;
		scopes.push(scope);
	}
	scopes.sort();
	scopes.dedup();
	if scopes.is_empty() {
		return Err(ApiError::bad_request(
			"scopes",
			"at least one of api, keys, metrics",
		));
	}
	if scopes.contains(&KeyScope::Keys) && !scopes.contains(&KeyScope::Api) {
		return Err(ApiError::bad_request(
			"scopes",
			"'keys' needs 'api' (a key that mints keys also calls the API)",
		));
	}
	Ok(scopes)
}

/// The caller's API keys.
#[utoipa::path(get, path = "/api/v1/auth/tokens", tag = "auth",
	responses((status = 200, body = Envelope<Vec<ApiKeyView>>)))]
pub(crate) async fn list_keys(
	State(state): State<AppState>,
	Caller(caller): Caller,
) -> ApiResult<Vec<ApiKeyView>> {
	let keys = state
		.security
		.accounts
		.list_scoped_api_keys(caller.user_id)
		.await?;
	Ok(Json(Envelope::new(
		keys.iter().map(|k| ApiKeyView::new(k, None)).collect(),
		None,
	)))
}

/// Creates an API key acting as the caller; the key is in this response only. An API key may
/// do it only with the `keys` scope (403 otherwise).
#[utoipa::path(post, path = "/api/v1/auth/tokens", tag = "auth", request_body = NewKeyBody,
	responses((status = 201, body = Envelope<ApiKeyView>), (status = 400, body = crate::views::ErrorBody),
		(status = 403, body = crate::views::ErrorBody)))]
pub(crate) async fn create_key(
	State(state): State<AppState>,
	Caller(caller): Caller,
	scopes: Scopes,
	JsonBody(body): JsonBody,
) -> Result<(StatusCode, Json<Envelope<ApiKeyView>>), ApiError> {
	may_manage_keys(&state, &caller, &scopes, "apikey.create").await?;
	let body: NewKeyBody = typed(body)?;
	let wanted = requested_scopes(body.scopes)?;
	if let Some(own) = &scopes.0
		&& let Some(extra) = wanted.iter().find(|s| !own.contains(s))
	{
		let why = format!("the API key cannot give a new key the '{extra}' scope it lacks");
		state
			.security
			.guard
			.deny(&caller, "apikey.create", "auth/tokens", &why)
			.await;
		return Err(ApiError::Forbidden(why));
	}
	if wanted.contains(&KeyScope::Metrics) {
		state
			.security
			.guard
			.require(&caller, Permission::MetricsRead)
			.await?;
	}
	let name = body.name.trim().to_owned();
	if name.is_empty() || name.chars().count() > 100 {
		return Err(ApiError::bad_request("name", "1–100 characters"));
	}
	if body
		.expires_in_days
		.is_some_and(|d| !(1..=3650).contains(&d))
	{
		return Err(ApiError::bad_request(
			"expires_in_days",
			"between 1 and 3650",
		));
	}
	let issued = issue_api_key();
	let now = now_millis();
	let scoped = ScopedKey {
		key: ApiKey {
			id: ApiKeyId::new(),
			user_id: caller.user_id,
			name,
			prefix: issued.prefix,
			hash: issued.hash,
			created_at: now,
			expires_at: body.expires_in_days.map(|d| now + d * 86_400_000),
			revoked_at: None,
		},
		scopes: wanted,
	};
	state
		.security
		.accounts
		.create_scoped_api_key(&scoped)
		.await?;
	let key = &scoped.key;
	let details = json!({"name": key.name, "prefix": key.prefix,
		"scopes": scoped.scopes, "by_api_key": scopes.0.is_some()});
	state
		.audit(
			&caller,
			"apikey.create",
			format!("apikey/{}", key.id),
			details,
		)
		.await;
	let view = ApiKeyView::new(&scoped, Some(issued.key));
	Ok((
		StatusCode::CREATED,
		Json(Envelope::new(
			view,
			"Store this key now: it is not shown again".to_owned(),
		)),
	))
}

/// Revokes one of the caller's API keys (an API key may do it only with the `keys` scope).
#[utoipa::path(delete, path = "/api/v1/auth/tokens/{id}", tag = "auth",
	params(("id" = String, Path, description = "API key id")),
	responses((status = 200, body = Envelope<Option<String>>), (status = 403, body = crate::views::ErrorBody),
		(status = 404, body = crate::views::ErrorBody)))]
pub(crate) async fn revoke_key(
	State(state): State<AppState>,
	Caller(caller): Caller,
	scopes: Scopes,
	Path(id): Path<String>,
) -> ApiResult<Option<String>> {
	may_manage_keys(&state, &caller, &scopes, "apikey.revoke").await?;
	let id: ApiKeyId = parse_id(&id, "API key")?;
	let accounts = &state.security.accounts;
	if !accounts
		.revoke_api_key(caller.user_id, id, now_millis())
		.await?
	{
		return Err(ApiError::NotFound(format!("API key {id}")));
	}
	state
		.audit(&caller, "apikey.revoke", format!("apikey/{id}"), json!({}))
		.await;
	Ok(Json(Envelope::new(None, "API key revoked".to_owned())))
}
