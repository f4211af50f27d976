//! Who is calling: login with a password (throttled), refresh (rotating), and turning a bearer
//! credential (an access JWT or an `apg_` API key) into an [`Identity`]. Every request checks
//! the user as the account stands, so a disabled user or a changed role takes effect from the
//! next request, whatever token they hold; the account comes from a cache that every write to
//! it drops (see [`crate::user_cache`]).
//!
//! Refresh tokens are single-use. A login starts a family in the store; each refresh replaces
//! the family's current token with a new one (a compare-and-set, so two uses of one token
//! cannot both win); presenting a token that was already used means a copy exists, so the whole
//! family is revoked and its holder, rightful or not, logs in again (OAuth 2.0 Security BCP,
//! refresh token rotation). Access tokens already issued to the family live out their minutes:
//! checking the family on every request would cost a read per request for a window the short
//! access lifetime already bounds.

use std::sync::Arc;

use serde::Serialize;
use uuid::Uuid;

use apg_core::account::{KeyScope, RefreshFamily, Rotation};
use apg_core::{AuthStore, Principal, User, UserId, now_millis};

use crate::api_key::{API_KEY_PREFIX, hash_api_key};
use crate::error::AuthError;
use crate::limiter::LoginLimiter;
use crate::password::verify_password;
use crate::token::{TokenIssuer, TokenKind};
use crate::user_cache::{Account, UserCache};

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

/// Who a bearer credential is, and what it may be used for.
#[derive(Clone, Debug)]
pub struct Identity {
	/// The user, as the account stands now.
	pub principal: Principal,
	/// `None` for a session (a password login: everything the role allows); an API key's
	/// scopes otherwise.
	pub scopes: Option<Vec<KeyScope>>,
}

impl Identity {
	/// Whether the credential may be used for `scope` (a session may for every one).
	pub fn allows(&self, scope: KeyScope) -> bool {
		self.scopes.as_ref().is_none_or(|s| s.contains(&scope))
	}
}

/// Usernames longer than this cannot exist (64 at most), so they are not looked up.
const LONGEST_NAME: usize = 64;

/// Authenticates callers.
#[derive(Clone)]
pub struct Authenticator {
	accounts: Arc<dyn AuthStore>,
	users: Arc<UserCache>,
	tokens: TokenIssuer,
	limiter: Arc<LoginLimiter>,
	/// A hash checked when the username does not exist, so a failed login takes as long either
	/// way and does not tell which usernames exist.
	decoy: Arc<str>,
}

impl Authenticator {
	/// An authenticator over `accounts`, signing with `tokens`, throttled by `limiter`, with no
	/// cache of accounts.
	pub fn new(accounts: Arc<dyn AuthStore>, tokens: TokenIssuer, limiter: LoginLimiter) -> Self {
		Self::cached(accounts, Arc::default(), tokens, limiter)
	}

	/// As [`Authenticator::new`], reading callers' accounts through `users` (which `accounts`
	/// must invalidate: see [`crate::user_cache::Invalidating`]).
	pub(crate) fn cached(
		accounts: Arc<dyn AuthStore>,
		users: Arc<UserCache>,
		tokens: TokenIssuer,
		limiter: LoginLimiter,
	) -> Self {
		Self {
			accounts,
			users,
			tokens,
			limiter: Arc::new(limiter),
			decoy: crate::password::hash_password("decoy password for timing").into(),
		}
	}

	/// The token issuer (tests sign expired tokens with it).
	pub fn issuer(&self) -> &TokenIssuer {
		&self.tokens
	}

	/// Checks a password; `client` (the peer address) and the username key the throttle (see
	/// [`LoginLimiter`]). The username is matched ignoring case.
	pub async fn login(
		&self,
		username: &str,
		password: &str,
		client: &str,
	) -> Result<(User, Tokens), AuthError> {
		let user = self.verify(username, password, client).await?;
		let tokens = self.session(&user).await?;
		Ok((user, tokens))
	}

	/// [`Authenticator::login`] without the tokens: the active user whose password this is,
	/// throttled alike (`apg_user_management`'s `authenticate` keys `client` by execution).
	pub async fn verify(
		&self,
		username: &str,
		password: &str,
		client: &str,
	) -> Result<User, AuthError> {
		self.limiter.admit(client, username)?;
		let user = if username.chars().count() <= LONGEST_NAME {
			self.accounts.find_user(username).await?
		} else {
			None
		};
		let hash = user
			.as_ref()
			.map_or_else(|| self.decoy.to_string(), |u| u.password_hash.clone());
		let password = password.to_owned();
		let ok = crate::password::off_thread(move || verify_password(&hash, &password)).await;
		match user {
			Some(user) if ok && user.active => {
				self.limiter.succeeded(client, username);
				Ok(user)
			}
			_ => {
				self.limiter.failed(client, username);
				Err(AuthError::Unauthenticated(
					"invalid username or password".to_owned(),
				))
			}
		}
	}

	/// New tokens, a new refresh token among them, for the holder of the current refresh token
	/// of a live login whose user is still active. An already used refresh token revokes its
	/// whole login (see the module comment).
	pub async fn refresh(&self, refresh_token: &str) -> Result<(User, Tokens), AuthError> {
		let claims = self.tokens.verify(refresh_token, TokenKind::Refresh)?;
		let user = self.active_user(&claims.sub).await?;
		current(&claims, user.updated_at)?;
		let parse = |v: &Option<String>| v.as_deref().and_then(|v| v.parse::<Uuid>().ok());
		let (Some(family), Some(presented)) = (parse(&claims.fam), parse(&claims.jti)) else {
			return Err(AuthError::Unauthenticated(
				"this refresh token belongs to no login (it predates rotation): log in again"
					.to_owned(),
			));
		};
		let now = now_millis();
		let next = Uuid::now_v7();
		let expires_at = (now / 1000 + self.tokens.refresh_ttl) * 1000;
		let refused = |m: &str| Err(AuthError::Unauthenticated(m.to_owned()));
		match self
			.accounts
			.rotate_refresh(family, presented, next, expires_at, now)
			.await?
		{
			Rotation::Rotated => {
				let tokens = self.tokens_for(&user, family, next, now / 1000);
				Ok((user, tokens))
			}
			Rotation::Reused => refused(
				"this refresh token was already used, so a copy of it exists: every token of its \
				 login is revoked; log in again",
			),
			Rotation::Revoked => refused(
				"this login was revoked because one of its refresh tokens was used twice: log in \
				 again",
			),
			Rotation::Unknown => refused("the refresh token's login has ended: log in again"),
		}
	}

	/// Ends the login a refresh token belongs to (a sign-out): no token of its family buys
	/// anything afterwards. Returns the user, when they still exist, for the audit log; an
	/// invalid or expired token is refused (its login has nothing left to end).
	///
	/// The store revokes a family when a used token is presented again, so this rotates once to
	/// a token id that is never issued (expiring now) and presents the same token again: no new
	/// store operation, and the same compare-and-set, so a refresh racing the sign-out cannot
	/// win.
	pub async fn end(&self, refresh_token: &str) -> Result<Option<User>, AuthError> {
		let claims = self.tokens.verify(refresh_token, TokenKind::Refresh)?;
		let parse = |v: &Option<String>| v.as_deref().and_then(|v| v.parse::<Uuid>().ok());
		let (Some(family), Some(presented)) = (parse(&claims.fam), parse(&claims.jti)) else {
			return Err(AuthError::Unauthenticated(
				"this refresh token belongs to no login".to_owned(),
			));
		};
		let now = now_millis();
		let accounts = &self.accounts;
		if accounts
			.rotate_refresh(family, presented, Uuid::now_v7(), now, now)
			.await? == Rotation::Rotated
		{
			accounts
				.rotate_refresh(family, presented, Uuid::now_v7(), now, now)
				.await?;
		}
		let user = match claims.sub.parse::<UserId>() {
			Ok(id) => accounts.get_user(id).await?,
			Err(_) => None,
		};
		Ok(user)
	}

	/// The caller behind a bearer credential.
	pub async fn authenticate(&self, bearer: &str) -> Result<Principal, AuthError> {
		self.identify(bearer).await.map(|i| i.principal)
	}

	/// The caller behind a bearer credential, with what the credential may be used for.
	pub async fn identify(&self, bearer: &str) -> Result<Identity, AuthError> {
		let (user, scopes) = if bearer.starts_with(API_KEY_PREFIX) {
			let scoped = self
				.accounts
				.find_scoped_api_key(&hash_api_key(bearer))
				.await?
				.ok_or_else(|| AuthError::Unauthenticated("unknown API key".to_owned()))?;
			let key = scoped.key;
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
			let user = self.active_account(key.user_id).await?;
			(user, Some(scoped.scopes))
		} else {
			let claims = self.tokens.verify(bearer, TokenKind::Access)?;
			let id = claims.sub.parse().map_err(|_| gone())?;
			let user = self.active_account(id).await?;
			current(&claims, user.updated_at)?;
			(user, None)
		};
		Ok(Identity {
			principal: user.principal(),
			scopes,
		})
	}

	/// The caller `id` as the account stands now: what a long-lived connection (a WebSocket, a
	/// subscription) asks again from time to time, so a disabled user or a changed role takes
	/// effect there as it does for every HTTP request.
	pub async fn current(&self, id: UserId) -> Result<Principal, AuthError> {
		self.active_account(id).await.map(Account::principal)
	}

	/// The tokens of a new login: its refresh family is stored first, so its refresh token
	/// works on every node.
	async fn session(&self, user: &User) -> Result<Tokens, AuthError> {
		let now = now_millis();
		let family = RefreshFamily {
			id: Uuid::now_v7(),
			user_id: user.id,
			current: Uuid::now_v7(),
			created_at: now,
			expires_at: (now / 1000 + self.tokens.refresh_ttl) * 1000,
			revoked_at: None,
		};
		self.accounts.create_refresh_family(&family).await?;
		Ok(self.tokens_for(user, family.id, family.current, now / 1000))
	}

	fn tokens_for(&self, user: &User, family: Uuid, jti: Uuid, now: i64) -> Tokens {
		let (access_token, expires_in) = self.tokens.issue(user, TokenKind::Access);
		let refresh_token = self.tokens.issue_refresh(user, family, jti, now);
		Tokens {
			access_token,
			refresh_token,
			token_type: "Bearer",
			expires_in,
		}
	}

	async fn active_user(&self, id: &str) -> Result<User, AuthError> {
		let id: UserId = id.parse().map_err(|_| gone())?;
		match self.accounts.get_user(id).await? {
			Some(u) if u.active => Ok(u),
			_ => Err(gone()),
		}
	}

	/// What a request needs of an active account: from the cache, or the store.
	async fn active_account(&self, id: UserId) -> Result<Account, AuthError> {
		let account = match self.users.get(id).await {
			Ok(account) => account,
			Err(ticket) => {
				let user = self.accounts.get_user(id).await?.ok_or_else(gone)?;
				let account = Account::of(&user);
				self.users.put(&account, ticket).await;
				account
			}
		};
		if account.active {
			Ok(account)
		} else {
			Err(gone())
		}
	}
}

fn gone() -> AuthError {
	AuthError::Unauthenticated("the user no longer exists or is disabled".into())
}

/// Tokens carry the account's version (its last change): a new password, role or state makes
/// every token issued before it invalid, refresh tokens included.
fn current(claims: &crate::token::Claims, version: apg_core::Millis) -> Result<(), AuthError> {
	if claims.ver == version {
		Ok(())
	} else {
		Err(AuthError::Unauthenticated(
			"the account changed since this token was issued: log in again".to_owned(),
		))
	}
}
