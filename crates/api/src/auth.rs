//! Authentication at the edge: one middleware in front of every route except `/health` and the
//! two that hand out tokens. It accepts `Authorization: Bearer <JWT or API key>`, `X-API-Key`,
//! or, for WebSocket upgrades only (browsers cannot set headers there), `?access_token=`. A
//! request without valid credentials gets 401 and an audit entry; an authenticated one carries
//! its [`Principal`] to the handler through [`Caller`].

use std::collections::HashMap;

use apg_core::Principal;
use axum::extract::{FromRequestParts, Query, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;
use crate::state::AppState;

/// Paths that need no credentials.
const OPEN: &[&str] = &["/health", "/api/v1/auth/login", "/api/v1/auth/refresh"];

/// The authenticated caller of a request.
#[derive(Clone, Debug)]
pub struct Caller(pub Principal);

impl<S: Send + Sync> FromRequestParts<S> for Caller {
	type Rejection = ApiError;

	async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
		parts
			.extensions
			.get::<Caller>()
			.cloned()
			.ok_or_else(|| ApiError::Unauthorized("authentication required".to_owned()))
	}
}

fn bearer(headers: &HeaderMap, uri: &axum::http::Uri) -> Option<String> {
	if let Some(v) = headers
		.get(header::AUTHORIZATION)
		.and_then(|v| v.to_str().ok())
	{
		let mut parts = v.splitn(2, ' ');
		let scheme = parts.next().unwrap_or_default();
		let token = parts.next().unwrap_or_default().trim();
		return (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty())
			.then(|| token.to_owned());
	}
	if let Some(v) = headers.get("x-api-key").and_then(|v| v.to_str().ok()) {
		return Some(v.trim().to_owned());
	}
	let upgrade = headers
		.get(header::UPGRADE)
		.and_then(|v| v.to_str().ok())
		.is_some_and(|v| v.eq_ignore_ascii_case("websocket"));
	if !upgrade {
		return None;
	}
	let Query(mut query) = Query::<HashMap<String, String>>::try_from_uri(uri).ok()?;
	query.remove("access_token")
}

/// The middleware.
pub(crate) async fn authenticate(
	State(state): State<AppState>,
	mut request: Request,
	next: Next,
) -> Response {
	let path = request.uri().path().to_owned();
	if OPEN.contains(&path.as_str()) {
		return next.run(request).await;
	}
	let credential = bearer(request.headers(), request.uri());
	let security = &state.security;
	let result = match credential {
		None => Err(apg_auth::AuthError::Unauthenticated(
			"authentication required: send Authorization: Bearer <token or API key>".to_owned(),
		)),
		Some(c) => security.authn.authenticate(&c).await,
	};
	match result {
		Ok(principal) => {
			// The bare principal too, for edges that do not know this crate (GraphQL).
			request.extensions_mut().insert(principal.clone());
			request.extensions_mut().insert(Caller(principal));
			next.run(request).await
		}
		Err(e) => {
			let details =
				serde_json::json!({"method": request.method().as_str(), "reason": e.to_string()});
			security
				.audit
				.record(None, "auth.authenticate", &path, false, details)
				.await;
			ApiError::from(e).into_response()
		}
	}
}
