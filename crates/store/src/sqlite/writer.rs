//! The one writing connection: a rusqlite connection owned by a dedicated thread.
//!
//! Why not sqlx here (it serves migrations and reads): sqlx's SQLite driver hands every statement
//! to a worker thread and back, which measured about 65 µs per statement on this 2-core machine,
//! so a checkpoint of seven statements cost more than half a millisecond. Here a whole batch is
//! one hop to the thread, and each statement is a cached prepared statement executed in place
//! (a few µs), which is what keeps a durable step near the cost of its commit (DESIGN §7).
//! SQLite has one writer at a time anyway, so one thread loses nothing.
//!
//! Group commit: the thread takes every job waiting when it wakes (up to [`MAX_GROUP`]) and runs
//! them in one transaction, each inside its own savepoint, so a job that fails rolls back alone
//! and the others still commit. Nobody hears a result before the transaction holding it is
//! committed, and if that commit fails every job in it gets the error. Under concurrent load
//! (API requests each appending an audit row while the engine commits its checkpoints) the
//! fsyncs are shared instead of queued one behind another; alone, a job commits as before.

use std::path::Path;
use std::sync::mpsc;

use apg_core::store::{StoreError, StoreResult};
use rusqlite::Connection;

use super::Synchronous;

/// What a job does on the connection, returning how to tell its caller once the transaction
/// holding it has committed (`Some(error)` when that commit failed).
type Job = Box<dyn FnOnce(&mut Connection) -> Reply + Send>;
type Reply = Box<dyn FnOnce(Option<String>) + Send>;

/// Jobs committed in one transaction at most: it bounds what a failed commit takes with it.
const MAX_GROUP: usize = 256;

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
				while let Ok(first) = queue.recv() {
					let mut group = vec![first];
					while group.len() < MAX_GROUP {
						match queue.try_recv() {
							Ok(job) => group.push(job),
							Err(_) => break,
						}
					}
					run_group(&mut conn, group);
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
			let result = work(conn).map_err(error);
			Box::new(move |failed_commit: Option<String>| {
				let result = match failed_commit {
					Some(e) => Err(StoreError::Backend(format!("the commit failed: {e}"))),
					None => result,
				};
				let _ = reply.send(result);
			})
		});
		self.jobs
			.send(job)
			.map_err(|_| StoreError::Backend("the writer thread has stopped".to_owned()))?;
		result
			.await
			.map_err(|_| StoreError::Backend("the writer thread has stopped".to_owned()))?
	}
}

/// Runs `group` in one transaction (a single job in its own, as it always did) and answers
/// every job once it is committed.
fn run_group(conn: &mut Connection, group: Vec<Job>) {
	if group.len() == 1 || conn.execute_batch("BEGIN IMMEDIATE").is_err() {
		// Alone, or the group's transaction cannot begin: each job runs (and its savepoint
		// commits) on its own.
		for job in group {
			job(conn)(None);
		}
		return;
	}
	let mut replies: Vec<Reply> = Vec::with_capacity(group.len());
	let mut jobs = group.into_iter();
	while let Some(job) = jobs.next() {
		replies.push(job(conn));
		if conn.is_autocommit() {
			// Some errors (a full disk, an I/O error) roll the whole transaction back: what ran
			// in it so far is lost, and the remaining jobs go into a new one.
			let lost = "the transaction was rolled back by an error".to_owned();
			for reply in replies.drain(..) {
				reply(Some(lost.clone()));
			}
			if conn.execute_batch("BEGIN IMMEDIATE").is_err() {
				for job in jobs {
					job(conn)(None);
				}
				return;
			}
		}
	}
	let failed = conn.execute_batch("COMMIT").err().map(|e| e.to_string());
	if failed.is_some() {
		let _ = conn.execute_batch("ROLLBACK");
	}
	for reply in replies {
		reply(failed.clone());
	}
}

#[cfg(test)]
mod tests {
	use std::sync::Arc;
	use std::time::Duration;

	use super::*;

	#[tokio::test]
	async fn a_group_commits_its_jobs_together_and_a_failing_job_rolls_back_alone() {
		let dir = tempfile::tempdir().unwrap();
		let writer = Arc::new(Writer::open(&dir.path().join("w.db"), Synchronous::Full).unwrap());
		writer
			.run(|c| c.execute_batch("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)"))
			.await
			.unwrap();
		// The first job holds the thread, so the others queue and are taken as one group.
		let slow = {
			let writer = Arc::clone(&writer);
			tokio::spawn(async move {
				writer
					.run(|_| {
						std::thread::sleep(Duration::from_millis(100));
						Ok(())
					})
					.await
			})
		};
		tokio::time::sleep(Duration::from_millis(20)).await;
		let grouped = Arc::new(std::sync::atomic::AtomicUsize::new(0));
		let mut jobs = Vec::new();
		for i in 0..40_i64 {
			let writer = Arc::clone(&writer);
			let grouped = Arc::clone(&grouped);
			// Every fourth job inserts two rows, the second a duplicate: it must leave nothing.
			jobs.push(tokio::spawn(async move {
				writer
					.run(move |c| {
						// Inside a group the connection is already in the group's transaction.
						if !c.is_autocommit() {
							grouped.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
						}
						let sp = c.savepoint()?;
						sp.execute("INSERT INTO t VALUES (?1, 'a')", [i])?;
						if i % 4 == 0 {
							sp.execute("INSERT INTO t VALUES (?1, 'b')", [i + 1000])?;
							sp.execute("INSERT INTO t VALUES (?1, 'c')", [i + 1000])?;
						}
						sp.commit()
					})
					.await
			}));
		}
		slow.await.unwrap().unwrap();
		let mut failed = 0;
		for job in jobs {
			match job.await.unwrap() {
				Ok(()) => {}
				Err(StoreError::Conflict(_)) => failed += 1,
				Err(e) => panic!("{e}"),
			}
		}
		assert_eq!(failed, 10);
		assert!(
			grouped.load(std::sync::atomic::Ordering::Relaxed) > 1,
			"the queued jobs did not run as a group"
		);
		let rows: i64 = writer
			.run(|c| c.query_row("SELECT count(*) FROM t", [], |r| r.get(0)))
			.await
			.unwrap();
		assert_eq!(
			rows, 30,
			"the failed jobs' first rows were rolled back with them"
		);
	}
}
