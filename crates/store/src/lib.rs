//! Storage backends behind [`apg_core::Store`].
//!
//! - [`SqliteStore`]: the embedded default. WAL mode, `synchronous=FULL` unless told otherwise,
//!   one writer connection (SQLite has one writer anyway, so queueing in the pool is cheaper than
//!   `SQLITE_BUSY` retries) and a few reader connections. A [`Batch`](apg_core::Batch) is written
//!   with a handful of multi-row statements in one transaction, so its cost is close to one
//!   commit however many steps it carries.
//! - [`MemoryStore`]: maps behind a mutex, for tests and `apg-workflow run` without a data dir.
//!
//! Both pass the one [`contract`] suite (feature `test-util`), which the PostgreSQL backend will
//! reuse.

#[cfg(feature = "test-util")]
pub mod contract;
mod memory;
mod sqlite;

pub use memory::MemoryStore;
pub use sqlite::{SqliteStore, Synchronous};
