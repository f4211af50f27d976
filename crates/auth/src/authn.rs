//! Who is calling: login with a password (throttled), refresh, and turning a bearer credential
//! (an access JWT or an `apg_` API key) into a [`Principal`]. Every request reloads the user, so
//! a disabled user or a changed role takes effect at once, whatever token they hold.

use std::sync::Arc;

use serde::Serialize;

use apg_core::{AuthStore, Principal, User, UserId, now_millis};

use crate::api_key::{API_KEY_PREFIX, hash_api_key};
use crate::error::AuthError;
use crate::limiter::LoginLimiter;
use crate::password::verify_password;
use crate::token::{TokenIssuer, TokenKind};

/// What a login or a refresh returns.
#[derive(Clone, Debug, Serialize)]
pub struct Tokens {
	/// The access token (a JWT), for `Authorization: Bearer`.
	pub access_token: String,
	/// Buys new access tokens at `/auth/refresh`.
	pub refresh_token: String,
	/// Always `Bearer`.
	pub token_type: &'static str,
	/// Seconds the access token lives.
	pub expires_in: i64,
}

/// Authenticates callers.
#[derive(Clone)]
pub struct Authenticator {
	accounts: Arc<dyn AuthStore>,
	tokens: TokenIssuer,
	limiter: Arc<LoginLimiter>,
	/// A hash checked when the username does not exist, so a failed login takes as long either
	/// way and does not tell which usernames exist.
	decoy: Arc<str>,
}

impl Authenticator {
	/// An authenticator over `accounts`, signing with `tokens`, throttled by `limiter`.
	pub fn new(accounts: Arc<dyn AuthStore>, tokens: TokenIssuer, limiter: LoginLimiter) -> Self {
		Self {
			accounts,
			tokens,
			limiter: Arc::new(limiter),
			decoy: crate::password::hash_password("decoy password for timing").into(),
		}
	}

	/// The token issuer (tests sign expired tokens with it).
	pub fn issuer(&self) -> &TokenIssuer {
		&self.tokens
	}

	/// Checks a password; `client` (the peer address) and the username key the throttle.
	pub async fn login(
		&self,
		username: &str,
		password: &str,
		client: &str,
	) -> Result<(User, Tokens), AuthError> {
		self.limiter
			.attempt(&format!("{client}|{}", username.to_lowercase()))?;
		let user = self.accounts.find_user(username).await?;
		let hash = user
			.as_ref()
			.map_or_else(|| self.decoy.to_string(), |u| u.password_hash.clone());
		let password = password.to_owned();
		let ok = crate::password::off_thread(move || verify_password(&hash, &password)).await;
		match user {
			Some(user) if ok && user.active => {
				let tokens = self.tokens_for(&user);
				Ok((user, tokens))
			}
			_ => Err(AuthError::Unauthenticated(
				"invalid username or password".to_owned(),
			)),
		}
	}

	/// New tokens for the holder of a valid refresh token whose user is still active.
	pub async fn refresh(&self, refresh_token: &str) -> Result<(User, Tokens), AuthError> {
		let claims = self.tokens.verify(refresh_token, TokenKind::Refresh)?;
		let user = self.active_user(&claims.sub).await?;
		current(&claims, &user)?;
		let tokens = self.tokens_for(&user);
		Ok((user, tokens))
	}

	/// The caller behind a bearer credential.
	pub async fn authenticate(&self, bearer: &str) -> Result<Principal, AuthError> {
		let user = if bearer.starts_with(API_KEY_PREFIX) {
			let key = self
				.accounts
				.find_api_key(&hash_api_key(bearer))
				.await?
				.ok_or_else(|| AuthError::Unauthenticated("unknown API key".to_owned()))?;
			if key.revoked_at.is_some() {
				return Err(AuthError::Unauthenticated(
					"the API key was revoked".to_owned(),
				));
			}
			if key.expires_at.is_some_and(|at| at <= now_millis()) {
				return Err(AuthError::Unauthenticated(
					"the API key has expired".to_owned(),
				));
			}
			self.active_user(&key.user_id.to_string()).await?
		} else {
			let claims = self.tokens.verify(bearer, TokenKind::Access)?;
			let user = self.active_user(&claims.sub).await?;
			current(&claims, &user)?;
			user
		};
		Ok(principal_of(user))
	}

	/// The caller `id` as the account stands now: what a long-lived connection (a WebSocket, a
	/// subscription) asks again from time to time, so a disabled user or a changed role takes
	/// effect there as it does for every HTTP request.
	pub async fn current(&self, id: UserId) -> Result<Principal, AuthError> {
		self.active_user(&id.to_string()).await.map(principal_of)
	}

	fn tokens_for(&self, user: &User) -> Tokens {
		let (access_token, expires_in) = self.tokens.issue(user, TokenKind::Access);
		let (refresh_token, _) = self.tokens.issue(user, TokenKind::Refresh);
		Tokens {
			access_token,
			refresh_token,
			token_type: "Bearer",
			expires_in,
		}
	}

	async fn active_user(&self, id: &str) -> Result<User, AuthError> {
		let gone = || AuthError::Unauthenticated("the user no longer exists or is disabled".into());
		let id: UserId = id.parse().map_err(|_| gone())?;
		match self.accounts.get_user(id).await? {
			Some(u) if u.active => Ok(u),
			_ => Err(gone()),
		}
	}
}

fn principal_of(user: User) -> Principal {
	Principal {
		user_id: user.id,
		username: user.username,
		role: user.role,
	}
}

/// Tokens carry the account's version (its last change): a new password, role or state makes
/// every token issued before it invalid, refresh tokens included.
fn current(claims: &crate::token::Claims, user: &User) -> Result<(), AuthError> {
	if claims.ver == user.updated_at {
		Ok(())
	} else {
		Err(AuthError::Unauthenticated(
			"the account changed since this token was issued: log in again".to_owned(),
		))
	}
}
