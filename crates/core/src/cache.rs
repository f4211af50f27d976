//! The [`Cache`] seam (the seed's "Caching Strategy"): Redis shared by every node, or memory in
//! one process. A cache is never the source of truth, so it cannot fail a request: a miss and an
//! unavailable cache look the same, and the caller reads the store.

use std::time::Duration;

use async_trait::async_trait;

/// The seed's time-to-live of a cached workflow (one hour).
pub const WORKFLOW_TTL: Duration = Duration::from_secs(3600);

/// A key-value cache with expiry.
#[async_trait]
pub trait Cache: Send + Sync {
	/// The value of `key`, or `None` on a miss or when the cache is unavailable.
	async fn get(&self, key: &str) -> Option<String>;
	/// Stores `value` under `key` for `ttl` (best effort).
	async fn set(&self, key: &str, value: &str, ttl: Duration);
	/// Removes `key` everywhere the cache is shared (best effort).
	async fn delete(&self, key: &str);
}

/// The cache key of a workflow.
pub fn workflow_key(id: crate::WorkflowId) -> String {
	format!("workflow:{id}")
}

/// A workflow through `cache` when there is one, else from `store`; a miss is read from the
/// store and cached for [`WORKFLOW_TTL`]. Every change to a workflow deletes its key (see
/// `Engine::invalidate_workflow`), so the engine and the permission checks read one copy.
pub async fn read_workflow(
	cache: Option<&dyn Cache>,
	store: &dyn crate::Store,
	id: crate::WorkflowId,
) -> crate::store::StoreResult<Option<crate::Workflow>> {
	let key = workflow_key(id);
	if let Some(cache) = cache
		&& let Some(text) = cache.get(&key).await
		&& let Ok(workflow) = serde_json::from_str(&text)
	{
		return Ok(Some(workflow));
	}
	let workflow = store.get_workflow(id).await?;
	if let (Some(cache), Some(w)) = (cache, &workflow)
		&& let Ok(text) = serde_json::to_string(w)
	{
		cache.set(&key, &text, WORKFLOW_TTL).await;
	}
	Ok(workflow)
}
