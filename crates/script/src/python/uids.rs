//! [`Uids`]: the pool of uids Python sandboxes run as when the server is root, one per sandbox
//! running at once.
//!
//! The kernel counts `RLIMIT_NPROC` per uid, not per process tree: with one shared uid, ten
//! scripts running together (three processes each: bubblewrap, its init, the interpreter) share
//! one limit of 16, and a sandbox still tearing down eats into the next one's. So each sandbox
//! takes a uid of its own from `sandbox_uid .. sandbox_uid + sandbox_uids`, released when it has
//! ended, and uids are handed out in turn (the one released last is taken last). The pool's
//! size is also how many Python sandboxes run at once; more wait for a free uid.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The pool.
pub(crate) struct Uids {
	free: Mutex<VecDeque<u32>>,
	slots: Arc<Semaphore>,
}

/// A uid held by one sandbox until dropped.
pub(crate) struct Lease<'p> {
	pub(crate) uid: u32,
	pool: &'p Uids,
	_slot: OwnedSemaphorePermit,
}

impl Uids {
	/// `count` uids from `first` on (at least one).
	pub(crate) fn new(first: u32, count: u32) -> Self {
		let count = count.max(1);
		Self {
			free: Mutex::new((0..count).map(|i| first.saturating_add(i)).collect()),
			slots: Arc::new(Semaphore::new(count as usize)),
		}
	}

	/// The next free uid, waiting for one when every uid is in use.
	pub(crate) async fn lease(&self) -> Lease<'_> {
		// The semaphore is never closed.
		let slot = Arc::clone(&self.slots)
			.acquire_owned()
			.await
			.expect("the pool's semaphore stays open");
		let uid = self
			.free
			.lock()
			.unwrap_or_else(std::sync::PoisonError::into_inner)
			.pop_front()
			.expect("a permit means a free uid");
		Lease {
			uid,
			pool: self,
			_slot: slot,
		}
	}
}

impl Drop for Lease<'_> {
	fn drop(&mut self) {
		self.pool
			.free
			.lock()
			.unwrap_or_else(std::sync::PoisonError::into_inner)
			.push_back(self.uid);
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[tokio::test]
	async fn concurrent_sandboxes_get_distinct_uids_and_released_ones_come_last() {
		let pool = Uids::new(1000, 3);
		let a = pool.lease().await;
		let b = pool.lease().await;
		assert_ne!(a.uid, b.uid);
		let first = a.uid;
		drop(a);
		let c = pool.lease().await;
		assert_eq!(
			c.uid, 1002,
			"the uid never used comes before the one just released"
		);
		let d = pool.lease().await;
		assert_eq!(d.uid, first);
		// All three in use: the next waits.
		let waiting = tokio::time::timeout(std::time::Duration::from_millis(50), pool.lease());
		assert!(waiting.await.is_err());
	}
}
