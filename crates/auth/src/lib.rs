//! Security of APG Workflow (DESIGN §6), shared by REST, GraphQL, WebSocket and the CLI so they
//! decide alike: password hashing (argon2), access and refresh tokens (HS256 JWT), API keys
//! (shown once, stored as SHA-256), the Fernet keyring that seals secrets at rest, the
//! authorization [`Guard`] that applies the seed's `check_workflow_permission`, the audit log,
//! login throttling and the [`Vault`] that gives the engine plain secrets only to run a
//! component.
//!
//! This crate never speaks HTTP: it returns [`AuthError`], which each edge maps once.

mod api_key;
mod audit;
mod authn;
mod bootstrap;
mod connections;
mod error;
mod guard;
mod keyring;
mod limiter;
mod notices;
mod password;
mod sealing;
mod security;
mod signature;
mod token;
mod user_cache;
mod users;
mod vault;

pub use api_key::{API_KEY_PREFIX, ApiKeyIssued, hash_api_key, issue_api_key, random_token};
pub use audit::Auditor;
pub use authn::{Authenticator, Identity, Tokens};
pub use bootstrap::ensure_admin;
pub use connections::{Connection, Connections};
pub use error::AuthError;
pub use guard::{Delegation, Guard};
pub use keyring::Keyring;
pub use limiter::LoginLimiter;
pub use notices::Notices;
pub use password::{generate_password, hash_password, off_thread, verify_password};
pub use sealing::{mask_definition, mask_value, seal_definition};
pub use security::{SealRefusal, Security, SecurityConfig};
pub use signature::{sign, verify_signature};
pub use token::{Claims, TokenIssuer, TokenKind};
pub use user_cache::{ACCOUNTS_CHANGED, mark_accounts_changed};
pub use users::{
	NewUser, UserChange, apply_change, check_grant, check_password, check_username, new_user,
};
pub use vault::Vault;
