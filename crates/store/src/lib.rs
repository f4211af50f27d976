//! Storage backends behind [`apg_core::Store`] and [`apg_core::AuthStore`] (users, API keys,
//! shares, credentials and the audit log; each backend's `accounts` module).
//!
//! - [`SqliteStore`]: the embedded default. WAL mode, `synchronous=FULL` unless told otherwise,
//!   one writer connection (SQLite has one writer anyway, so queueing in the pool is cheaper than
//!   `SQLITE_BUSY` retries) and a few reader connections. A [`Batch`](apg_core::Batch) is written
//!   with a handful of multi-row statements in one transaction, so its cost is close to one
//!   commit however many steps it carries.
//! - [`PgStore`]: PostgreSQL for production (JSONB, the seed's indexes), a batch written with one
//!   multi-row statement per table in one transaction.
//! - [`MemoryStore`]: maps behind a mutex, for tests and `apg-workflow run` without a data dir.
//!
//! All three pass the one [`contract`] suite (feature `test-util`).

mod conflict;
#[cfg(feature = "test-util")]
pub mod contract;
mod dedup;
mod memory;
mod postgres;
mod sqlite;

pub use memory::MemoryStore;
pub use postgres::{PgCluster, PgStore};
pub use sqlite::{SqliteStore, Synchronous};
