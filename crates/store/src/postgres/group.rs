//! Group commit on PostgreSQL: checkpoints from every caller queue to one task, which writes all
//! that are waiting (up to [`MAX_GROUP`]) as one statement, so concurrent commits (every API
//! request that starts an execution, every coordinator turn) share one round trip and one WAL
//! flush instead of each paying for its own. Up to [`IN_FLIGHT`] groups are written at once, on
//! as many connections. A batch touching an execution of the group being formed or of one being
//! written waits (and everything behind it) until that is done, so no statement writes a row
//! twice, each execution's commits keep their order, and no two statements wait on each other's
//! row locks. A group that fails (a lost lease, a refused row, a dropped connection) is split
//! back into its batches, each written alone in order, so every caller gets its own answer and
//! nobody's checkpoint fails for another's.

use std::collections::HashSet;

use apg_core::store::{StoreError, StoreResult};
use apg_core::{Batch, ExecutionId};
use sqlx::PgPool;
use tokio::sync::{mpsc, oneshot};
use tokio::task::{JoinError, JoinSet};

use super::write::Columns;

/// The most batches in one statement: bounds a statement's size and the wait of its callers.
const MAX_GROUP: usize = 256;

/// Groups written at once, on as many connections: a large checkpoint does not hold up the
/// small ones behind it, and PostgreSQL flushes concurrent commits together.
const IN_FLIGHT: usize = 4;

/// The queue of batches waiting to be written.
#[derive(Clone)]
pub(super) struct Committer {
	queue: mpsc::Sender<Job>,
}

struct Job {
	columns: Columns,
	touched: HashSet<ExecutionId>,
	reply: oneshot::Sender<StoreResult<()>>,
}

fn stopped() -> StoreError {
	StoreError::Backend("the PostgreSQL committer has stopped".to_owned())
}

/// A statement's answer as a commit's: a lost lease is an error.
fn outcome(written: StoreResult<Vec<ExecutionId>>) -> StoreResult<()> {
	match written {
		Ok(lost) if lost.is_empty() => Ok(()),
		Ok(lost) => Err(StoreError::LeaseLost(lost)),
		Err(e) => Err(e),
	}
}

impl Committer {
	/// Starts the task writing to `pool`; it ends when the last `Committer` is dropped.
	pub(super) fn start(pool: PgPool) -> Self {
		let (queue, jobs) = mpsc::channel(4 * MAX_GROUP);
		tokio::spawn(run(pool, jobs));
		Self { queue }
	}

	/// Writes `batch`, atomically, once it is durable.
	pub(super) async fn commit(&self, batch: &Batch) -> StoreResult<()> {
		let (columns, touched) = Columns::of(batch);
		let (reply, answer) = oneshot::channel();
		let job = Job {
			columns,
			touched,
			reply,
		};
		self.queue.send(job).await.map_err(|_| stopped())?;
		answer.await.map_err(|_| stopped())?
	}
}

async fn run(pool: PgPool, mut jobs: mpsc::Receiver<Job>) {
	// Groups being written, each returning the executions it touched; `busy` is their union.
	let mut flying: JoinSet<HashSet<ExecutionId>> = JoinSet::new();
	let mut busy: HashSet<ExecutionId> = HashSet::new();
	let mut held_over: Option<Job> = None;
	loop {
		let first = match held_over.take() {
			Some(job) => job,
			None => tokio::select! {
				job = jobs.recv() => match job {
					Some(job) => job,
					None => break,
				},
				Some(done) = flying.join_next(), if !flying.is_empty() => {
					landed(&mut busy, done);
					continue;
				}
			},
		};
		if flying.len() >= IN_FLIGHT || !first.touched.is_disjoint(&busy) {
			// Its execution's earlier commit (or a free connection) first: commits of one
			// execution never overtake each other.
			held_over = Some(first);
			if let Some(done) = flying.join_next().await {
				landed(&mut busy, done);
			}
			continue;
		}
		let mut touched = first.touched.clone();
		let mut group = vec![first];
		while group.len() < MAX_GROUP {
			let Ok(job) = jobs.try_recv() else { break };
			if !job.touched.is_disjoint(&touched) || !job.touched.is_disjoint(&busy) {
				held_over = Some(job);
				break;
			}
			touched.extend(job.touched.iter().copied());
			group.push(job);
		}
		busy.extend(touched.iter().copied());
		let pool = pool.clone();
		flying.spawn(async move {
			write_group(&pool, group).await;
			touched
		});
	}
	while flying.join_next().await.is_some() {}
}

/// Frees the executions of a group that was written.
fn landed(busy: &mut HashSet<ExecutionId>, done: Result<HashSet<ExecutionId>, JoinError>) {
	match done {
		Ok(touched) => busy.retain(|id| !touched.contains(id)),
		// A panic cannot come from `write_group`; should one, its callers hear `stopped`, and
		// its executions are freed with everyone's so none waits forever.
		Err(_) => busy.clear(),
	}
}

async fn write_group(pool: &PgPool, mut group: Vec<Job>) {
	if group.len() == 1 {
		let job = group.remove(0);
		let _ = job.reply.send(outcome(job.columns.write(pool).await));
		return;
	}
	let mut merged = Columns::default();
	let mut starts = Vec::with_capacity(group.len());
	for job in &mut group {
		starts.push(merged.offsets());
		merged.append(std::mem::take(&mut job.columns));
	}
	match merged.write(pool).await {
		Ok(lost) if lost.is_empty() => {
			for job in group {
				let _ = job.reply.send(Ok(()));
			}
		}
		failed => {
			tracing::debug!(
				batches = group.len(),
				failed = ?failed.err(),
				"a group commit failed; writing its batches one by one"
			);
			for (job, at) in group.iter_mut().zip(starts).rev() {
				job.columns = merged.split_off(at);
			}
			for job in group {
				let _ = job.reply.send(outcome(job.columns.write(pool).await));
			}
		}
	}
}
