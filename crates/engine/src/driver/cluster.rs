//! The coordinator's part in a cluster (see `apg_core::cluster`): claiming executions whose
//! leases are free, renewing the leases it holds, fencing every commit by them, dropping what it
//! lost, acting on cancel requests from other nodes, and sharing events and wake-ups.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use apg_core::{Event, ExecutionId, Fence, Millis, Signal, Store, WakeBus, Write};
use std::sync::Weak;
use std::time::Instant;

use tokio::sync::{Notify, broadcast, mpsc};

use super::{Coordinator, Engine, Inner, Msg};
use crate::machine;
use crate::phase::{Phase, Wait};
use crate::recovery;

/// What the coordinator keeps of its part in a cluster (unused on one node).
pub(super) struct ClusterState {
	/// Fencing tokens of the executions this node holds.
	pub(super) leases: HashMap<ExecutionId, i64>,
	/// Another node signalled work, or the last claim filled a page.
	pub(super) claim_due: bool,
	pub(super) next_claim: Millis,
	pub(super) next_renewal: Millis,
	/// A commit included new executions (other nodes are told after it).
	pub(super) created: bool,
	/// Wakes the task that delivers committed events from the database.
	pub(super) tail_wake: Option<Arc<Notify>>,
	/// When parents held here next read back their ended children.
	pub(super) next_sweep: Millis,
}

impl ClusterState {
	pub(super) fn new(tail_wake: Option<Arc<Notify>>) -> Self {
		Self {
			leases: HashMap::new(),
			claim_due: true,
			next_claim: 0,
			next_renewal: 0,
			created: false,
			tail_wake,
			next_sweep: 0,
		}
	}
}

/// How often a node looks for claimable work without being woken (and so how soon it takes
/// over the executions of a node that died).
const POLL: Millis = 1_000;

/// How often the executions held here that wait on the outside world read back what arrived
/// for them, in case the bus lost its news (a parent's read is of every child, so not at every
/// renewal).
const SWEEP: Millis = 15_000;

/// The execution a write belongs to.
pub(super) fn write_execution(w: &Write) -> ExecutionId {
	match w {
		Write::Execution(e) => e.id,
		// Written by the parent, under the parent's lease.
		Write::Child(c) => c.parent.as_ref().map_or(c.id, |p| p.execution_id),
		Write::Step(s) => s.execution_id,
		Write::Attempt(a) => a.execution_id,
		Write::Event(e) => e.execution_id,
		Write::Log(l) => l.execution_id,
		Write::TakeSignal { execution_id, .. } => *execution_id,
	}
}

/// Forwards other nodes' signals to the coordinator (wake-ups, and the decisions and signals
/// stored for an execution) and the event tail.
pub(super) fn listen(
	bus: Arc<dyn WakeBus>,
	store: Arc<dyn Store>,
	tx: mpsc::UnboundedSender<Msg>,
	tail: Arc<Notify>,
) {
	tokio::spawn(async move {
		loop {
			if tx.is_closed() {
				return;
			}
			match bus.next_signal().await {
				Ok(Signal::Work) => {
					if tx.send(Msg::Wake).is_err() {
						return;
					}
				}
				// The events themselves are read from the database, where nothing is lost.
				Ok(Signal::Events) => tail.notify_one(),
				Ok(Signal::Inbox(exec)) => super::waits::reload(
					Arc::clone(&store),
					tx.clone(),
					exec,
					super::waits::Reload::Named,
				),
				Err(e) => {
					tracing::warn!(error = %e, "cluster listener failed; retrying");
					tokio::time::sleep(Duration::from_secs(1)).await;
				}
			}
		}
	});
}

/// How long a sequence number skipped by the tail is looked for again before it is taken for a
/// rolled-back transaction.
const MISSING_FOR: Duration = Duration::from_secs(10);

/// Delivers every committed event, whichever node committed it, to this node's subscribers:
/// woken by commits here and signals from other nodes (and every 200 ms regardless), it reads
/// the events table after the last sequence number it delivered. A sequence number skipped
/// because its transaction had not committed yet is asked for again for a while, so a late commit
/// is delivered too (slightly out of order). Publishing events after a commit alone would lose
/// them when a node dies between its commit and its publish.
pub(super) fn tail(
	engine: Weak<Inner>,
	events: broadcast::Sender<Arc<Event>>,
	wake: Arc<Notify>,
	from: i64,
) {
	tokio::spawn(async move {
		let mut after = from;
		let mut missing: Vec<(i64, Instant)> = Vec::new();
		loop {
			tokio::select! {
				() = wake.notified() => {}
				() = tokio::time::sleep(Duration::from_millis(200)) => {}
			}
			let Some(inner) = engine.upgrade() else {
				return;
			};
			let store = Arc::clone(&inner.store);
			drop(inner);
			loop {
				let wanted: Vec<i64> = missing.iter().map(|m| m.0).collect();
				let rows = match store.events_after(after, &wanted, 1_000).await {
					Ok(rows) => rows,
					Err(e) => {
						tracing::warn!(error = %e, "cannot read committed events");
						break;
					}
				};
				let full = rows.len() == 1_000;
				for record in rows {
					if record.seq > after {
						let now = Instant::now();
						missing.extend((after + 1..record.seq).take(10_000).map(|seq| (seq, now)));
						after = record.seq;
					} else {
						missing.retain(|m| m.0 != record.seq);
					}
					let _ = events.send(Arc::new(record.event));
				}
				missing.retain(|m| m.1.elapsed() < MISSING_FOR);
				missing.truncate(10_000);
				if !full {
					break;
				}
			}
		}
	});
}

impl Coordinator {
	/// The leases a batch of these writes must be committed under.
	pub(super) fn fences_for(&self, writes: &[Write]) -> Vec<Fence> {
		let Some(mode) = &self.config.cluster else {
			return Vec::new();
		};
		let mut ids: Vec<ExecutionId> = writes
			.iter()
			.map(write_execution)
			.filter(|id| self.cluster.leases.contains_key(id))
			.collect();
		ids.sort();
		ids.dedup();
		ids.into_iter()
			.map(|id| Fence {
				execution_id: id,
				node: mode.queue.node().to_owned(),
				token: self.cluster.leases[&id],
			})
			.collect()
	}

	/// Forgets executions this node no longer holds; their running attempts are abandoned (their
	/// results will be ignored) and the node now holding them runs them on.
	pub(super) fn drop_executions(&mut self, ids: &[ExecutionId]) {
		for id in ids {
			self.states.remove(id);
			self.cluster.leases.remove(id);
			self.waiters.remove(id);
		}
		// Writes not yet committed would otherwise go in unfenced (their lease is gone) and
		// overwrite the new holder's rows.
		self.batch.retain(|w| !ids.contains(&write_execution(w)));
		self.lazy.retain(|w| !ids.contains(&write_execution(w)));
		self.actions.retain(|(id, _)| !ids.contains(id));
		for (key, token) in &self.running {
			if ids.contains(&key.0) {
				token.cancel();
			}
		}
	}

	/// Tells the other nodes what was committed.
	pub(super) async fn after_commit(&mut self, batch: &apg_core::Batch) {
		let Some(mode) = self.config.cluster.clone() else {
			return;
		};
		let committed_events = batch.writes.iter().any(|w| matches!(w, Write::Event(_)));
		if committed_events && let Err(e) = mode.bus.notify_events().await {
			tracing::warn!(error = %e, "cannot tell other nodes of committed events");
		}
		if std::mem::take(&mut self.cluster.created) {
			self.cluster.claim_due = true;
			if let Err(e) = mode.bus.notify_work().await {
				tracing::warn!(error = %e, "cannot wake other nodes");
			}
		}
	}

	/// When the cluster needs the coordinator next.
	pub(super) fn maintenance_due(&self) -> Option<Millis> {
		let mode = self.config.cluster.as_ref()?;
		let mut due = Vec::new();
		if mode.runs_work {
			due.push(if self.cluster.claim_due {
				crate::clock::now()
			} else {
				self.cluster.next_claim
			});
		}
		if !self.cluster.leases.is_empty() {
			due.push(self.cluster.next_renewal);
		}
		due.into_iter().min()
	}

	/// Claims work and renews leases when due.
	pub(super) async fn maintain(&mut self) {
		let Some(mode) = self.config.cluster.clone() else {
			return;
		};
		let now = crate::clock::now();
		if !self.cluster.leases.is_empty() && now >= self.cluster.next_renewal {
			self.cluster.next_renewal = now + (mode.lease.as_millis() as Millis / 3).max(100);
			self.renew(&mode).await;
		}
		if mode.runs_work
			&& (self.cluster.claim_due || now >= self.cluster.next_claim)
			&& !self.draining
		{
			self.cluster.claim_due = false;
			self.cluster.next_claim = now + POLL;
			self.claim(&mode).await;
		}
	}

	async fn renew(&mut self, mode: &super::ClusterMode) {
		let leases: Vec<(ExecutionId, i64)> = self
			.cluster
			.leases
			.iter()
			.map(|(id, t)| (*id, *t))
			.collect();
		match mode.queue.renew(&leases, mode.lease).await {
			Ok(renewal) => {
				let lost: Vec<ExecutionId> = leases
					.iter()
					.map(|(id, _)| *id)
					.filter(|id| !renewal.held.contains(id))
					.collect();
				if !lost.is_empty() {
					tracing::warn!(
						executions = lost.len(),
						"leases expired: another node may take these over"
					);
					self.drop_executions(&lost);
				}
				// A delivery whose bus signal was lost is read by a sweep every SWEEP: the
				// decisions and signals of the executions held here that wait for them, and the
				// ended children of those that wait for children.
				let now = crate::clock::now();
				if now >= self.cluster.next_sweep {
					self.cluster.next_sweep = now + SWEEP;
					for (id, st) in &self.states {
						let children = st.phases.contains(&Phase::Waiting(Wait::Children));
						let outside = st
							.phases
							.iter()
							.any(|p| matches!(p, Phase::Waiting(w) if w.is_outside()));
						if outside {
							let what = super::waits::Reload::Sweep { children };
							super::waits::reload(
								Arc::clone(&self.store),
								self.tx.clone(),
								*id,
								what,
							);
						}
					}
				}
				let now = crate::clock::now();
				for id in renewal.cancel_requested {
					if let Some(st) = self.states.get_mut(&id) {
						if let Ok(fx) = machine::apply(st, machine::Command::Cancel, now) {
							self.absorb(id, fx);
						}
						for (key, token) in &self.running {
							if key.0 == id {
								token.cancel();
							}
						}
					}
				}
			}
			Err(e) => tracing::warn!(error = %e, "cannot renew leases"),
		}
	}

	async fn claim(&mut self, mode: &super::ClusterMode) {
		let room = mode.max_executions.saturating_sub(self.states.len());
		if room == 0 {
			return;
		}
		let limit = room.min(500);
		let claimed = match mode
			.queue
			.claim(limit as i64, mode.lease, self.config.aging)
			.await
		{
			Ok(c) => c,
			Err(e) => {
				tracing::warn!(error = %e, "cannot claim work");
				return;
			}
		};
		// A full page means more may be waiting.
		self.cluster.claim_due = claimed.len() == limit;
		if !claimed.is_empty() {
			// The renewal reports cancel requests made before this node claimed them.
			self.cluster.next_renewal = crate::clock::now();
		}
		let Some(inner) = self.engine.upgrade() else {
			return;
		};
		let engine = Engine { inner };
		for (exec, token) in claimed {
			let id = exec.id;
			let previous = self.cluster.leases.insert(id, token);
			if self.states.contains_key(&id) {
				if previous.is_some_and(|p| p + 1 == token) {
					// Its lease had expired here (this node stalled) and nobody took it: it
					// keeps running as it is, under the new token.
					continue;
				}
				// Another node held it in between: what is in memory is stale.
				self.drop_executions(&[id]);
				self.cluster.leases.insert(id, token);
			}
			match recovery::resume_one(&engine, exec).await {
				Ok(Some((state, fx))) => {
					self.states.insert(id, state);
					self.absorb(id, fx);
				}
				Ok(None) => {
					self.cluster.leases.remove(&id);
				}
				Err(e) => {
					tracing::warn!(execution = %id, error = %e, "cannot resume a claimed execution");
					self.cluster.leases.remove(&id);
				}
			}
		}
	}
}
