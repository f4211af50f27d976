//! The pool cache: one small pool per credential URL (keyed by its hash, [`super::target::key`]),
//! so steps against the same database share connections instead of paying a handshake each, and
//! a database nobody queries any more costs nothing: connections close after [`IDLE`] idle
//! (sqlx's reaper), and a pool unused for [`FORGET`] is dropped from the cache and closed the
//! next time any `database_query` runs.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use sqlx::mysql::{MySqlPool, MySqlPoolOptions};
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::sqlite::{SqlitePool, SqlitePoolOptions};

use super::target::{Key, Target};

/// Connections per pool: a workflow step holds one for one statement, and a database is shared
/// with other clients.
const MAX_CONNECTIONS: u32 = 4;
/// A connection idle this long is closed.
const IDLE: Duration = Duration::from_secs(60);
/// A pool unused this long is dropped from the cache.
const FORGET: Duration = Duration::from_secs(300);
/// How long a step waits for a connection (connecting included) before it fails, retryably.
const ACQUIRE: Duration = Duration::from_secs(5);

/// A pool of one backend.
#[derive(Clone, Debug)]
pub(super) enum Pool {
	Postgres(PgPool),
	MySql(MySqlPool),
	Sqlite(SqlitePool),
}

impl Pool {
	fn open(target: Target) -> Self {
		// Lazy: no IO here, so a pool is cached before it first connects and a failure to
		// connect is the statement's error, classified like any other.
		match target {
			Target::Postgres(o) => Self::Postgres(options_pg().connect_lazy_with(o)),
			Target::MySql(o) => Self::MySql(options_my().connect_lazy_with(o)),
			Target::Sqlite(o) => Self::Sqlite(
				SqlitePoolOptions::new()
					.max_connections(MAX_CONNECTIONS)
					.min_connections(0)
					.idle_timeout(IDLE)
					.acquire_timeout(ACQUIRE)
					.connect_lazy_with(o),
			),
		}
	}

	async fn close(self) {
		match self {
			Self::Postgres(p) => p.close().await,
			Self::MySql(p) => p.close().await,
			Self::Sqlite(p) => p.close().await,
		}
	}
}

fn options_pg() -> PgPoolOptions {
	PgPoolOptions::new()
		.max_connections(MAX_CONNECTIONS)
		.min_connections(0)
		.idle_timeout(IDLE)
		.acquire_timeout(ACQUIRE)
}

fn options_my() -> MySqlPoolOptions {
	MySqlPoolOptions::new()
		.max_connections(MAX_CONNECTIONS)
		.min_connections(0)
		.idle_timeout(IDLE)
		.acquire_timeout(ACQUIRE)
}

struct Entry {
	pool: Pool,
	used: Instant,
}

/// The cache.
#[derive(Default)]
pub(super) struct Pools {
	entries: Mutex<HashMap<Key, Entry>>,
}

impl Pools {
	/// The cached pool of `key`, if any, marked used now; forgets and closes stale pools.
	pub(super) fn get(&self, key: &Key) -> Option<Pool> {
		let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
		let now = Instant::now();
		let stale: Vec<Key> = entries
			.iter()
			.filter(|(k, e)| *k != key && now.duration_since(e.used) > FORGET)
			.map(|(k, _)| *k)
			.collect();
		for k in stale {
			if let Some(e) = entries.remove(&k) {
				tokio::spawn(e.pool.close());
			}
		}
		entries.get_mut(key).map(|e| {
			e.used = now;
			e.pool.clone()
		})
	}

	/// The pool of `key`, opened on `target` unless another step cached one meanwhile.
	pub(super) fn insert(&self, key: Key, target: Target) -> Pool {
		let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
		let entry = entries.entry(key).or_insert_with(|| Entry {
			pool: Pool::open(target),
			used: Instant::now(),
		});
		entry.pool.clone()
	}
}
