//! Access and refresh tokens: HS256 JWTs. The access token is short-lived (15 minutes by
//! default) so a role change or a disabled user takes effect quickly even for a stolen token;
//! every request still reloads the user, so disabling is immediate. The refresh token (7 days)
//! is only accepted by the refresh endpoint, and only once: it names its login's family (`fam`)
//! and itself (`jti`), and the store keeps which one of a family is current (see
//! [`crate::Authenticator::refresh`]).

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, decode, encode};
use serde::{Deserialize, Serialize};

use apg_core::{User, now_millis};
use uuid::Uuid;

use crate::error::AuthError;

/// Which of the two tokens.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TokenKind {
	/// Authenticates requests.
	Access,
	/// Only buys new access tokens.
	Refresh,
}

/// The claims we sign.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Claims {
	/// The user id.
	pub sub: String,
	/// Their username at issue time (informational).
	pub name: String,
	/// Access or refresh.
	pub typ: TokenKind,
	/// Issued at (seconds).
	pub iat: i64,
	/// Expires at (seconds).
	pub exp: i64,
	/// The account's version (`updated_at`) when issued.
	#[serde(default)]
	pub ver: i64,
	/// A refresh token's own id.
	#[serde(default, skip_serializing_if = "Option::is_none")]
	pub jti: Option<String>,
	/// A refresh token's family: the login it descends from.
	#[serde(default, skip_serializing_if = "Option::is_none")]
	pub fam: Option<String>,
}

/// Signs and checks tokens with one secret.
#[derive(Clone)]
pub struct TokenIssuer {
	encoding: EncodingKey,
	decoding: DecodingKey,
	/// Seconds an access token lives.
	pub access_ttl: i64,
	/// Seconds a refresh token lives.
	pub refresh_ttl: i64,
}

impl TokenIssuer {
	/// An issuer signing with `secret`.
	pub fn new(secret: &[u8], access_ttl: i64, refresh_ttl: i64) -> Self {
		Self {
			encoding: EncodingKey::from_secret(secret),
			decoding: DecodingKey::from_secret(secret),
			access_ttl,
			refresh_ttl,
		}
	}

	/// A token of `kind` for `user`, with its lifetime in seconds.
	pub fn issue(&self, user: &User, kind: TokenKind) -> (String, i64) {
		let now = now_millis() / 1000;
		let ttl = match kind {
			TokenKind::Access => self.access_ttl,
			TokenKind::Refresh => self.refresh_ttl,
		};
		self.issue_at(user, kind, now, now + ttl)
	}

	/// A token with explicit times (tests make expired ones with it). A refresh token made
	/// here belongs to no family, so the refresh endpoint refuses it.
	pub fn issue_at(&self, user: &User, kind: TokenKind, iat: i64, exp: i64) -> (String, i64) {
		let claims = Claims {
			sub: user.id.to_string(),
			name: user.username.clone(),
			typ: kind,
			iat,
			exp,
			ver: user.updated_at,
			jti: None,
			fam: None,
		};
		(self.sign(&claims), exp - iat)
	}

	/// Refresh token `jti` of `family` for `user`, living `refresh_ttl` from `now` (seconds).
	pub fn issue_refresh(&self, user: &User, family: Uuid, jti: Uuid, now: i64) -> String {
		self.sign(&Claims {
			sub: user.id.to_string(),
			name: user.username.clone(),
			typ: TokenKind::Refresh,
			iat: now,
			exp: now + self.refresh_ttl,
			ver: user.updated_at,
			jti: Some(jti.to_string()),
			fam: Some(family.to_string()),
		})
	}

	fn sign(&self, claims: &Claims) -> String {
		// HS256 over serde-serialisable claims cannot fail.
		encode(&Header::new(Algorithm::HS256), claims, &self.encoding).unwrap_or_default()
	}

	/// Checks signature, expiry and kind.
	pub fn verify(&self, token: &str, kind: TokenKind) -> Result<Claims, AuthError> {
		let mut validation = Validation::new(Algorithm::HS256);
		validation.leeway = 5;
		let data = decode::<Claims>(token, &self.decoding, &validation).map_err(|e| {
			use jsonwebtoken::errors::ErrorKind;
			AuthError::Unauthenticated(match e.kind() {
				ErrorKind::ExpiredSignature => "the token has expired".to_owned(),
				ErrorKind::InvalidSignature => "the token's signature is not valid".to_owned(),
				_ => "the token is not valid".to_owned(),
			})
		})?;
		if data.claims.typ != kind {
			return Err(AuthError::Unauthenticated(format!(
				"a {} token cannot be used here",
				match data.claims.typ {
					TokenKind::Access => "access",
					TokenKind::Refresh => "refresh",
				}
			)));
		}
		Ok(data.claims)
	}
}
