//! Open WebSocket connections per user (`/ws` and GraphQL subscriptions together), so one user
//! cannot hold the server's connection budget alone.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use apg_core::UserId;

use crate::error::AuthError;

/// Counts open connections per user.
#[derive(Debug)]
pub struct Connections {
	max: usize,
	open: Mutex<HashMap<UserId, usize>>,
}

/// One open connection; dropping it gives the slot back.
#[derive(Debug)]
pub struct Connection {
	owner: Arc<Connections>,
	user: UserId,
}

impl Connections {
	/// At most `max` connections per user.
	pub fn new(max: usize) -> Arc<Self> {
		Arc::new(Self {
			max: max.max(1),
			open: Mutex::new(HashMap::new()),
		})
	}

	/// Takes a slot for `user`, or fails when they hold the maximum already.
	pub fn open(self: &Arc<Self>, user: UserId) -> Result<Connection, AuthError> {
		let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
		let n = open.entry(user).or_insert(0);
		if *n >= self.max {
			return Err(AuthError::Limit(format!(
				"at most {} WebSocket connections per user",
				self.max
			)));
		}
		*n += 1;
		Ok(Connection {
			owner: Arc::clone(self),
			user,
		})
	}
}

impl Drop for Connection {
	fn drop(&mut self) {
		let mut open = self.owner.open.lock().unwrap_or_else(|e| e.into_inner());
		if let Some(n) = open.get_mut(&self.user) {
			*n = n.saturating_sub(1);
			if *n == 0 {
				open.remove(&self.user);
			}
		}
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn slots_come_back_when_connections_close() {
		let c = Connections::new(2);
		let u = UserId::new();
		let a = c.open(u).unwrap();
		let _b = c.open(u).unwrap();
		assert!(c.open(u).is_err());
		c.open(UserId::new()).unwrap();
		drop(a);
		c.open(u).unwrap();
	}
}
