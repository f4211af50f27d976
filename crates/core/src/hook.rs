//! Webhook triggers: `POST /api/v1/hooks/{token}` starts a workflow. A hook's token is a
//! secret shown once; only its SHA-256 is stored (like an API key), so a copy of the database
//! cannot call it. An optional HMAC secret (sealed with the platform's keys) signs the bodies
//! the sender posts.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::Millis;
use crate::ids::{HookId, UserId, WorkflowId};
use crate::store::StoreResult;

/// When the caller gets its answer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Respond {
	/// At once: 202 with the execution's id.
	#[default]
	Immediately,
	/// When the execution ends (or the hook's timeout passes): its status and results.
	OnCompletion,
}

/// The hash of a signature.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Algorithm {
	/// HMAC-SHA-256 (GitHub's `X-Hub-Signature-256`, Stripe, Slack…).
	#[default]
	Sha256,
	/// HMAC-SHA-512.
	Sha512,
}

/// How a sender signs its bodies: the HMAC of the raw body under a shared secret, in hex
/// (optionally prefixed `sha256=` as GitHub does), in a header.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Signature {
	/// The header carrying it (`X-Hub-Signature-256`).
	pub header: String,
	/// The hash.
	pub algorithm: Algorithm,
	/// The shared secret, sealed with the platform's keys.
	pub sealed_secret: String,
}

/// What a hook does with a request.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HookSettings {
	/// A name.
	pub name: String,
	/// The first characters of the token, to recognise it in a list.
	pub token_prefix: String,
	/// Checked when set: an unsigned or wrongly signed request starts nothing.
	pub signature: Option<Signature>,
	/// Request headers passed to the execution (lowercase names).
	pub headers: Vec<String>,
	/// See [`Respond`].
	pub respond: Respond,
	/// How long `on_completion` waits, in seconds.
	pub timeout_seconds: u32,
	/// Larger bodies are refused (413).
	pub max_body_bytes: u64,
	/// Requests a minute this hook takes on one node; more are refused (429).
	pub rate_per_minute: u32,
}

/// A webhook trigger of a workflow.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Hook {
	/// Id.
	pub id: HookId,
	/// What it starts.
	pub workflow_id: WorkflowId,
	/// Lowercase hex SHA-256 of the token.
	pub token_hash: String,
	/// See [`HookSettings`].
	pub settings: HookSettings,
	/// Who created it: its executions run as this user, while they may still run the workflow.
	pub created_by: UserId,
	/// Created.
	pub created_at: Millis,
	/// Last change (a new token, new settings).
	pub updated_at: Millis,
}

/// Persistence of hooks. Implementations: SQLite and PostgreSQL, held to one contract suite.
#[async_trait]
pub trait HookStore: Send + Sync {
	/// Adds a hook; Conflict when its token hash exists.
	async fn create_hook(&self, hook: &Hook) -> StoreResult<()>;
	/// One hook.
	async fn get_hook(&self, id: HookId) -> StoreResult<Option<Hook>>;
	/// The hook whose token hashes to `token_hash`.
	async fn find_hook(&self, token_hash: &str) -> StoreResult<Option<Hook>>;
	/// The hooks of a workflow, oldest first.
	async fn list_hooks(&self, workflow: WorkflowId) -> StoreResult<Vec<Hook>>;
	/// Replaces a hook's token hash, settings and `updated_at`; false when absent.
	async fn update_hook(&self, hook: &Hook) -> StoreResult<bool>;
	/// Deletes a hook; false when absent.
	async fn delete_hook(&self, id: HookId) -> StoreResult<bool>;
}
