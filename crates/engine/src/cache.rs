//! The in-process [`Cache`] of the embedded default (DESIGN §1: "caches in process").

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use apg_core::Cache;
use async_trait::async_trait;

/// Entries kept at most; beyond it the cache is cleared (it only saves reads).
const MAX_ENTRIES: usize = 10_000;

/// A TTL map behind a mutex.
#[derive(Default)]
pub struct MemoryCache {
	entries: Mutex<HashMap<String, (Instant, String)>>,
}

impl MemoryCache {
	/// An empty cache.
	pub fn new() -> Self {
		Self::default()
	}
}

#[async_trait]
impl Cache for MemoryCache {
	async fn get(&self, key: &str) -> Option<String> {
		let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
		entries
			.get(key)
			.filter(|(until, _)| *until > Instant::now())
			.map(|(_, v)| v.clone())
	}

	async fn set(&self, key: &str, value: &str, ttl: Duration) {
		let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
		if entries.len() >= MAX_ENTRIES {
			entries.clear();
		}
		entries.insert(key.to_owned(), (Instant::now() + ttl, value.to_owned()));
	}

	async fn delete(&self, key: &str) {
		self.entries
			.lock()
			.unwrap_or_else(|e| e.into_inner())
			.remove(key);
	}
}
