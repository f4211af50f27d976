//! `/auth/session`: signing a browser in with a cookie, so a reload stays signed in without a
//! token in JavaScript-readable storage.
//!
//! - `POST /auth/session` is `/auth/login` (the same checks, throttle and audit:
//!   [`super::sign_in`]). The refresh token goes into the `apg_session` cookie (`HttpOnly`,
//!   `SameSite=Strict`, `Path=/`, `Secure` when the client came over TLS: [`ClientTls`]), and a
//!   random CSRF token into `apg_csrf` (readable by the page, otherwise the same). The body
//!   carries the short-lived access token, which the UI keeps in memory and sends as `Bearer`,
//!   and the CSRF token.
//! - `POST /auth/session/refresh` rotates the cookie's refresh token (the refresh-family rotation
//!   of `/auth/refresh`, reuse detection included) and answers a new access token.
//! - `DELETE /auth/session` ends the login (its whole refresh family) and clears both cookies.
//!
//! The cookie authenticates these routes only (see [`crate::auth`]): everything else wants the
//! access token in a header, which a cross-site page cannot send. The two that change state also
//! want `X-CSRF-Token` equal to the `apg_csrf` cookie (the double-submit pattern: another origin
//! can make the browser send our cookies, but can neither read them nor set our headers), else
//! 403. `SameSite=Strict` already keeps the cookies off cross-site requests in current browsers;
//! the CSRF token is the second lock, for older browsers and same-site subdomains.
//!
//! Cookies last as long as the refresh token (`Max-Age`), so an expired login leaves no cookie
//! behind; a refused refresh clears them, since a used or revoked token is worth nothing.

use apg_auth::{AuthError, Tokens, random_token};
use axum::extract::State;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{AppendHeaders, IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;

use super::{ClientAddr, LoginBody, reason, sign_in};
use crate::auth::ClientTls;
use crate::error::ApiError;
use crate::extract::JsonBody;
use crate::rest::users::UserView;
use crate::state::AppState;
use crate::views::Envelope;

/// The cookie that holds the session's refresh token (httpOnly).
pub(crate) const SESSION_COOKIE: &str = "apg_session";
/// The cookie that holds the CSRF token (readable by the page, which echoes it).
pub(crate) const CSRF_COOKIE: &str = "apg_csrf";
/// The header that must echo [`CSRF_COOKIE`] on a cookie-authenticated change.
pub(crate) const CSRF_HEADER: &str = "x-csrf-token";

pub(crate) fn router() -> Router<AppState> {
	Router::new()
		.route("/auth/session", post(open).delete(close))
		.route("/auth/session/refresh", post(renew))
}

/// What a sign-in or a renewal answers: never the refresh token (it is in the cookie).
#[derive(Serialize, ToSchema)]
pub(crate) struct SessionView {
	/// For `Authorization: Bearer`; keep it in memory only.
	access_token: String,
	/// Always `Bearer`.
	token_type: String,
	/// Seconds the access token lives: renew before then.
	expires_in: i64,
	/// What `X-CSRF-Token` must carry on `/auth/session/refresh` and `DELETE /auth/session`
	/// (also in the `apg_csrf` cookie).
	csrf_token: String,
	user: UserView,
}

/// The facts of a request this module decides on.
pub(crate) struct Browser {
	client: String,
	tls: bool,
	/// The `apg_session` cookie.
	session: Option<String>,
	/// The `apg_csrf` cookie.
	csrf_cookie: Option<String>,
	/// The `X-CSRF-Token` header.
	csrf_header: Option<String>,
}

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Browser {
	type Rejection = ApiError;

	async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
		let ClientAddr(client) = ClientAddr::from_request_parts(parts, state).await?;
		let headers = &parts.headers;
		Ok(Self {
			client,
			tls: ClientTls::of(&parts.extensions),
			session: cookie(headers, SESSION_COOKIE),
			csrf_cookie: cookie(headers, CSRF_COOKIE),
			csrf_header: headers
				.get(CSRF_HEADER)
				.and_then(|v| v.to_str().ok())
				.map(|v| v.trim().to_owned()),
		})
	}
}

impl Browser {
	/// The session cookie, or 401 (audited) when there is none.
	async fn session(&self, state: &AppState, action: &str) -> Result<&str, ApiError> {
		match self.session.as_deref() {
			Some(token) => Ok(token),
			None => {
				let why = "no browser session: sign in at POST /api/v1/auth/session";
				self.refused(state, action, why).await;
				Err(ApiError::Unauthorized(why.to_owned()))
			}
		}
	}

	/// 403 (audited) unless `X-CSRF-Token` equals the `apg_csrf` cookie.
	async fn check_csrf(&self, state: &AppState, action: &str) -> Result<(), ApiError> {
		let matches = match (&self.csrf_cookie, &self.csrf_header) {
			(Some(cookie), Some(header)) => !cookie.is_empty() && same(cookie, header),
			_ => false,
		};
		if matches {
			return Ok(());
		}
		let why = "the X-CSRF-Token header is missing or does not match the apg_csrf cookie";
		self.refused(state, action, why).await;
		Err(ApiError::Forbidden(format!(
			"{why}: send the value of the apg_csrf cookie in it"
		)))
	}

	async fn refused(&self, state: &AppState, action: &str, why: &str) {
		let details = json!({"client": self.client, "reason": why});
		state
			.security
			.audit
			.record(None, action, "auth/session", false, details)
			.await;
	}

	/// The two cookies of a live session.
	fn set(
		&self,
		state: &AppState,
		tokens: &Tokens,
		csrf: &str,
	) -> [(header::HeaderName, HeaderValue); 2] {
		let age = state.security.authn.issuer().refresh_ttl;
		[
			(
				header::SET_COOKIE,
				set_cookie(SESSION_COOKIE, &tokens.refresh_token, age, true, self.tls),
			),
			(
				header::SET_COOKIE,
				set_cookie(CSRF_COOKIE, csrf, age, false, self.tls),
			),
		]
	}

	/// Headers that delete both cookies.
	fn clear(&self) -> [(header::HeaderName, HeaderValue); 2] {
		[
			(
				header::SET_COOKIE,
				set_cookie(SESSION_COOKIE, "", 0, true, self.tls),
			),
			(
				header::SET_COOKIE,
				set_cookie(CSRF_COOKIE, "", 0, false, self.tls),
			),
		]
	}
}

/// Signs a browser in: `/auth/login`'s checks, throttle and audit; the refresh token goes into
/// the httpOnly `apg_session` cookie, a new CSRF token into `apg_csrf` and the body.
#[utoipa::path(post, path = "/api/v1/auth/session", tag = "auth", request_body = LoginBody, security(()),
	responses((status = 200, body = Envelope<SessionView>,
			description = "Signed in; sets the apg_session (httpOnly) and apg_csrf cookies"),
		(status = 400, body = crate::views::ErrorBody), (status = 401, body = crate::views::ErrorBody),
		(status = 429, body = crate::views::ErrorBody)))]
pub(crate) async fn open(
	State(state): State<AppState>,
	browser: Browser,
	JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
	let (user, tokens) = sign_in(&state, &browser.client, body, "auth/session").await?;
	let csrf = random_token();
	let cookies = browser.set(&state, &tokens, &csrf);
	let view = view(tokens, csrf, &user);
	Ok((AppendHeaders(cookies), Json(Envelope::new(view, None))).into_response())
}

/// A new access token for the browser session in the cookie, whose refresh token is rotated
/// (a used one presented again ends the login). Needs `X-CSRF-Token`.
#[utoipa::path(post, path = "/api/v1/auth/session/refresh", tag = "auth", security(("session" = [])),
	params(("X-CSRF-Token" = String, Header, description = "The apg_csrf cookie's value")),
	responses((status = 200, body = Envelope<SessionView>, description = "Renewed; the apg_session cookie is replaced"),
		(status = 401, body = crate::views::ErrorBody), (status = 403, body = crate::views::ErrorBody)))]
pub(crate) async fn renew(
	State(state): State<AppState>,
	browser: Browser,
) -> Result<Response, ApiError> {
	let token = browser.session(&state, "auth.refresh").await?;
	browser.check_csrf(&state, "auth.refresh").await?;
	match state.security.authn.refresh(token).await {
		Ok((user, tokens)) => {
			// The CSRF token stays: other tabs of the session hold it.
			let csrf = browser.csrf_cookie.clone().unwrap_or_default();
			let cookies = browser.set(&state, &tokens, &csrf);
			let view = view(tokens, csrf, &user);
			Ok((AppendHeaders(cookies), Json(Envelope::new(view, None))).into_response())
		}
		Err(e) => {
			browser.refused(&state, "auth.refresh", &reason(&e)).await;
			let ended = matches!(e, AuthError::Unauthenticated(_));
			let response = ApiError::from(e).into_response();
			Ok(if ended {
				(AppendHeaders(browser.clear()), response).into_response()
			} else {
				response
			})
		}
	}
}

/// Signs the browser out: ends the cookie's login (every refresh token of it) and clears both
/// cookies. Needs `X-CSRF-Token`; a session that had already ended is simply cleared.
#[utoipa::path(delete, path = "/api/v1/auth/session", tag = "auth", security(("session" = [])),
	params(("X-CSRF-Token" = String, Header, description = "The apg_csrf cookie's value")),
	responses((status = 200, body = Envelope<Option<String>>, description = "Signed out; both cookies cleared"),
		(status = 401, body = crate::views::ErrorBody), (status = 403, body = crate::views::ErrorBody)))]
pub(crate) async fn close(
	State(state): State<AppState>,
	browser: Browser,
) -> Result<Response, ApiError> {
	let token = browser.session(&state, "auth.logout").await?;
	browser.check_csrf(&state, "auth.logout").await?;
	match state.security.authn.end(token).await {
		Ok(user) => {
			if let Some(user) = user {
				let principal = apg_core::Principal {
					user_id: user.id,
					username: user.username.clone(),
					role: user.role,
				};
				let details = json!({"client": browser.client});
				state
					.audit(
						&principal,
						"auth.logout",
						format!("user/{}", user.id),
						details,
					)
					.await;
			}
		}
		// Expired, forged or already ended: there is nothing left to revoke.
		Err(AuthError::Unauthenticated(_)) => {}
		Err(e) => return Err(e.into()),
	}
	let body = Json(Envelope::<Option<String>>::new(
		None,
		"Signed out".to_owned(),
	));
	Ok((AppendHeaders(browser.clear()), body).into_response())
}

fn view(tokens: Tokens, csrf: String, user: &apg_core::User) -> SessionView {
	SessionView {
		access_token: tokens.access_token,
		token_type: tokens.token_type.to_owned(),
		expires_in: tokens.expires_in,
		csrf_token: csrf,
		user: UserView::new(user),
	}
}

/// The first cookie called `name` in the request's `Cookie` headers.
fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
	headers
		.get_all(header::COOKIE)
		.iter()
		.filter_map(|v| v.to_str().ok())
		.flat_map(|v| v.split(';'))
		.filter_map(|pair| pair.trim().split_once('='))
		.find(|(key, _)| *key == name)
		.map(|(_, value)| value.trim_matches('"').to_owned())
		.filter(|value| !value.is_empty())
}

/// A `Set-Cookie` value. Our values are base64url and dots (JWTs, [`random_token`]), valid
/// cookie octets as they are.
fn set_cookie(name: &str, value: &str, max_age: i64, http_only: bool, secure: bool) -> HeaderValue {
	let mut text = format!("{name}={value}; Path=/; Max-Age={max_age}; SameSite=Strict");
	if http_only {
		text.push_str("; HttpOnly");
	}
	if secure {
		text.push_str("; Secure");
	}
	// Cannot fail for our values; an empty cookie (which expires at once) is the safe fallback.
	HeaderValue::from_str(&text)
		.unwrap_or_else(|_| HeaderValue::from_static("apg_session=; Max-Age=0"))
}

/// Compares two secrets in time independent of where they differ.
fn same(a: &str, b: &str) -> bool {
	a.len() == b.len()
		&& a.bytes()
			.zip(b.bytes())
			.fold(0u8, |acc, (x, y)| acc | (x ^ y))
			== 0
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn cookies_are_found_among_others_and_flags_are_set() {
		let mut headers = HeaderMap::new();
		headers.insert(
			header::COOKIE,
			HeaderValue::from_static("a=1; apg_session=t.o.k; apg_csrf=x"),
		);
		assert_eq!(cookie(&headers, SESSION_COOKIE).as_deref(), Some("t.o.k"));
		assert_eq!(cookie(&headers, CSRF_COOKIE).as_deref(), Some("x"));
		assert_eq!(cookie(&headers, "apg"), None);
		let set = set_cookie(SESSION_COOKIE, "v", 60, true, true);
		assert_eq!(
			set.to_str().unwrap(),
			"apg_session=v; Path=/; Max-Age=60; SameSite=Strict; HttpOnly; Secure"
		);
		assert!(
			!set_cookie(CSRF_COOKIE, "v", 60, false, false)
				.to_str()
				.unwrap()
				.contains("HttpOnly")
		);
	}

	#[test]
	fn secrets_compare_whole() {
		assert!(same("abc", "abc"));
		assert!(!same("abc", "abd"));
		assert!(!same("abc", "ab"));
	}
}
