//! The one writing connection: a rusqlite connection owned by a dedicated thread.
//!
//! Why not sqlx here (it serves migrations and reads): sqlx's SQLite driver hands every statement
//! to a worker thread and back, which measured about 65 µs per statement on this 2-core machine,
//! so a checkpoint of seven statements cost more than half a millisecond. Here a whole batch is
//! one hop to the thread, and each statement is a cached prepared statement executed in place
//! (a few µs), which is what keeps a durable step near the cost of its commit (DESIGN §7).
//! SQLite has one writer at a time anyway, so one thread loses nothing.

use std::path::Path;
use std::sync::mpsc;

use apg_core::store::{StoreError, StoreResult};
use rusqlite::Connection;

use super::Synchronous;

type Job = Box<dyn FnOnce(&mut Connection) + Send>;

/// A handle to the writer thread; the thread ends when the handle is dropped.
pub(super) struct Writer {
	jobs: mpsc::Sender<Job>,
}

pub(super) fn error(e: rusqlite::Error) -> StoreError {
	if let rusqlite::Error::SqliteFailure(code, message) = &e {
		// 2067: UNIQUE, 1555: PRIMARY KEY.
		if matches!(code.extended_code, 2067 | 1555) {
			return StoreError::Conflict(message.clone().unwrap_or_else(|| e.to_string()));
		}
		// 787: FOREIGN KEY.
		if code.extended_code == 787 {
			return StoreError::Dangling(message.clone().unwrap_or_else(|| e.to_string()));
		}
	}
	StoreError::Backend(e.to_string())
}

impl Writer {
	/// Opens the writing connection to `path` and starts its thread.
	pub(super) fn open(path: &Path, sync: Synchronous) -> StoreResult<Self> {
		let conn = Connection::open(path).map_err(error)?;
		let synchronous = match sync {
			Synchronous::Full => "FULL",
			Synchronous::Normal => "NORMAL",
		};
		conn.execute_batch(&format!(
			"PRAGMA journal_mode = WAL; PRAGMA synchronous = {synchronous}; \
			 PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000;"
		))
		.map_err(error)?;
		conn.set_prepared_statement_cache_capacity(64);
		let (jobs, queue) = mpsc::channel::<Job>();
		std::thread::Builder::new()
			.name("apg-sqlite-writer".to_owned())
			.spawn(move || {
				let mut conn = conn;
				for job in queue {
					job(&mut conn);
				}
			})
			.map_err(|e| StoreError::Backend(format!("cannot start the writer thread: {e}")))?;
		Ok(Self { jobs })
	}

	/// Runs `work` on the writer thread and returns its result.
	pub(super) async fn run<T: Send + 'static>(
		&self,
		work: impl FnOnce(&mut Connection) -> rusqlite::Result<T> + Send + 'static,
	) -> StoreResult<T> {
		let (reply, result) = tokio::sync::oneshot::channel();
		let job: Job = Box::new(move |conn| {
			let _ = reply.send(work(conn).map_err(error));
		});
		self.jobs
			.send(job)
			.map_err(|_| StoreError::Backend("the writer thread has stopped".to_owned()))?;
		result
			.await
			.map_err(|_| StoreError::Backend("the writer thread has stopped".to_owned()))?
	}
}
