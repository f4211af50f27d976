//! Login throttling: at most N attempts per minute for one client address and username, so a
//! password cannot be guessed online. Kept in memory per node: behind a load balancer each node
//! allows N, which still bounds guessing to N × nodes per minute.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::error::AuthError;

const WINDOW: Duration = Duration::from_secs(60);

/// Counts login attempts in one-minute windows.
pub struct LoginLimiter {
	per_minute: u32,
	windows: Mutex<HashMap<String, (Instant, u32)>>,
}

impl LoginLimiter {
	/// A limiter allowing `per_minute` attempts per key.
	pub fn new(per_minute: u32) -> Self {
		Self {
			per_minute: per_minute.max(1),
			windows: Mutex::new(HashMap::new()),
		}
	}

	/// Counts one attempt for `key`; fails when the key has used up its minute.
	pub fn attempt(&self, key: &str) -> Result<(), AuthError> {
		let now = Instant::now();
		let mut windows = self.windows.lock().unwrap_or_else(|e| e.into_inner());
		if windows.len() > 100_000 {
			windows.retain(|_, (start, _)| now.duration_since(*start) < WINDOW);
		}
		let entry = windows.entry(key.to_owned()).or_insert((now, 0));
		if now.duration_since(entry.0) >= WINDOW {
			*entry = (now, 0);
		}
		if entry.1 >= self.per_minute {
			let wait = WINDOW.saturating_sub(now.duration_since(entry.0)).as_secs() + 1;
			return Err(AuthError::TooManyAttempts(wait));
		}
		entry.1 += 1;
		Ok(())
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn the_n_plus_first_attempt_is_refused() {
		let l = LoginLimiter::new(3);
		for _ in 0..3 {
			l.attempt("a").unwrap();
		}
		assert!(matches!(l.attempt("a"), Err(AuthError::TooManyAttempts(_))));
		l.attempt("b").unwrap();
	}
}
