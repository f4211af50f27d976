//! The engine's [`SecretSource`]: credentials of the workflow's owner and sealed config values,
//! decrypted with the keyring at the moment a component runs.

use std::sync::Arc;

use async_trait::async_trait;

use apg_core::secrets::SEALED_PREFIX;
use apg_core::{AuthStore, SecretSource, Store, UserId, WorkflowId};

use crate::keyring::Keyring;

/// Decrypts secrets for running components.
pub struct Vault {
	store: Arc<dyn Store>,
	accounts: Arc<dyn AuthStore>,
	keys: Arc<Keyring>,
}

impl Vault {
	/// A vault over the stores and keys.
	pub fn new(store: Arc<dyn Store>, accounts: Arc<dyn AuthStore>, keys: Arc<Keyring>) -> Self {
		Self {
			store,
			accounts,
			keys,
		}
	}
}

#[async_trait]
impl SecretSource for Vault {
	async fn credential(&self, workflow: WorkflowId, name: &str) -> Result<String, String> {
		let wf = self
			.store
			.get_workflow(workflow)
			.await
			.map_err(|e| e.to_string())?
			.ok_or_else(|| format!("workflow {workflow} no longer exists"))?;
		let missing = || format!("credential '{name}' does not exist for this workflow's owner");
		let owner: UserId = wf.created_by.parse().map_err(|_| missing())?;
		let credential = self
			.accounts
			.find_credential(owner, name)
			.await
			.map_err(|e| e.to_string())?
			.ok_or_else(missing)?;
		self.keys
			.decrypt(&credential.token)
			.map_err(|e| format!("credential '{name}': {e}"))
	}

	fn unseal(&self, sealed: &str) -> Result<String, String> {
		let token = sealed.strip_prefix(SEALED_PREFIX).unwrap_or(sealed);
		self.keys.decrypt(token).map_err(|e| e.to_string())
	}
}
