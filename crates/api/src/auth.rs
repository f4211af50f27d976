//! Authentication at the edge: one middleware in front of every route except `/health` and the
//! two that hand out tokens. It accepts `Authorization: Bearer <JWT or API key>`, `X-API-Key`,
//! or, for WebSocket upgrades only (browsers cannot set headers there), `?access_token=`. A
//! request without valid credentials gets 401 and an audit entry; an authenticated one carries
//! its [`Principal`] to the handler through [`Caller`].
//!
//! API keys carry scopes ([`KeyScope`]); this middleware holds every route but `/metrics` to the
//! `api` scope and `/metrics` to `metrics`, so a key made for scraping can do nothing else and
//! no key reaches metrics by accident. Handlers that need more (`keys`, to mint keys) check
//! [`Scopes`] themselves.
//!
//! The client address is what the server recorded as `ConnectInfo`: the TCP peer's, or, when the
//! peer is a configured trusted proxy, the client it forwarded for (the binary's `client_addr`
//! decides). Headers are never read here: anyone can send them. Whether the client reached us
//! over TLS ([`ClientTls`]) is decided there too, for the same reason.
//!
//! # Browser sessions: the cookie is not a credential here
//!
//! A browser signs in at `POST /api/v1/auth/session` and gets an httpOnly `apg_session` cookie
//! holding its refresh token (see `rest::auth::session`). This middleware never reads that
//! cookie: every ordinary route is authenticated by the `Authorization` header only, which the
//! UI fills from the short-lived access token it keeps in memory. So a cross-site request,
//! which the browser may send with our cookies but never with our headers, authenticates as
//! nobody, and no route but the three `/auth/session` ones needs a CSRF check. Those three are
//! in [`OPEN`] because the cookie, checked by their handlers (with the double-submit CSRF token
//! for the two that change state), is their credential.

use std::collections::HashMap;
use std::net::SocketAddr;

use apg_core::Principal;
use apg_core::account::KeyScope;
use axum::extract::connect_info::ConnectInfo;
use axum::extract::{FromRequestParts, Query, Request, State};
use axum::http::request::Parts;
use axum::http::{Extensions, HeaderMap, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;
use crate::state::AppState;

/// Where a webhook is called: its token, in the path, is its credential (see `rest::hooks`),
/// and whatever `Authorization` header the sender adds is the sender's business, not ours.
const HOOKS: &str = "/api/v1/hooks/";

/// Paths that need no credentials in a header: `/health`, the routes that hand out tokens, and
/// the browser session's, whose handlers check the session cookie themselves.
const OPEN: &[&str] = &[
	"/health",
	"/api/v1/auth/login",
	"/api/v1/auth/refresh",
	"/api/v1/auth/session",
	"/api/v1/auth/session/refresh",
];

/// Whether the client reached the server over TLS: a request extension the binary sets from what
/// it knows (a trusted proxy's `X-Forwarded-Proto`; the server has no TLS listener of its own).
/// Absent means no. Session cookies are `Secure` exactly when it is true, so a server reached over
/// plain HTTP (a laptop, a test) still keeps its browser signed in.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ClientTls(pub bool);

impl ClientTls {
	/// What the binary recorded for a request.
	pub(crate) fn of(extensions: &Extensions) -> bool {
		extensions.get::<Self>().is_some_and(|t| t.0)
	}
}

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

/// What the caller's credential may be used for: `None` for a session (a password login), an
/// API key's scopes otherwise.
#[derive(Clone, Debug)]
pub(crate) struct Scopes(pub(crate) Option<Vec<KeyScope>>);

impl Scopes {
	/// Whether the credential may be used for `scope`.
	pub(crate) fn allows(&self, scope: KeyScope) -> bool {
		self.0.as_ref().is_none_or(|s| s.contains(&scope))
	}
}

impl<S: Send + Sync> FromRequestParts<S> for Scopes {
	type Rejection = ApiError;

	async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
		parts
			.extensions
			.get::<Scopes>()
			.cloned()
			.ok_or_else(|| ApiError::Unauthorized("authentication required".to_owned()))
	}
}

/// The peer address of a request, or `unknown` when the server did not record it.
pub(crate) fn client_of(extensions: &Extensions) -> String {
	extensions
		.get::<ConnectInfo<SocketAddr>>()
		.map_or_else(|| "unknown".to_owned(), |c| c.0.ip().to_string())
}

/// The scope an API key needs for `path` (before what its handler may ask).
fn scope_for(path: &str) -> KeyScope {
	if path == "/metrics" {
		KeyScope::Metrics
	} else {
		KeyScope::Api
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
	if OPEN.contains(&path.as_str()) || path.starts_with(HOOKS) {
		return next.run(request).await;
	}
	let credential = bearer(request.headers(), request.uri());
	let security = &state.security;
	let result = match credential {
		None => Err(apg_auth::AuthError::Unauthenticated(
			"authentication required: send Authorization: Bearer <token or API key>".to_owned(),
		)),
		Some(c) => security.authn.identify(&c).await,
	};
	match result {
		Ok(identity) => {
			let scopes = Scopes(identity.scopes);
			let principal = identity.principal;
			let needed = scope_for(&path);
			if !scopes.allows(needed) {
				let why = format!("the API key lacks the '{needed}' scope");
				security
					.guard
					.deny(&principal, "apikey.scope", &path, &why)
					.await;
				return ApiError::Forbidden(format!(
					"{why}: use a key made with it, or log in with a password"
				))
				.into_response();
			}
			// The bare principal too, for edges that do not know this crate (GraphQL).
			request.extensions_mut().insert(principal.clone());
			request.extensions_mut().insert(Caller(principal));
			request.extensions_mut().insert(scopes);
			next.run(request).await
		}
		Err(e) => {
			// The audit log cuts and aggregates these (apg_auth::Auditor): they cost an
			// anonymous caller nothing to send.
			let agent = request
				.headers()
				.get(header::USER_AGENT)
				.map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
			let details = serde_json::json!({
				"method": request.method().as_str(),
				"reason": e.to_string(),
				"client": client_of(request.extensions()),
				"user_agent": agent,
			});
			security
				.audit
				.record(None, "auth.authenticate", &path, false, details)
				.await;
			ApiError::from(e).into_response()
		}
	}
}
