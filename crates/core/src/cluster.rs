//! The seams for many nodes on one database (DESIGN §1, §9): the [`WorkQueue`] of leased
//! executions and the [`WakeBus`] that signals work and committed events.
//!
//! The unit a node claims is an execution, held under a lease with a fencing token: the node
//! that claims it runs it (keeping its state in memory, as the single-process driver does), renews
//! the lease while it works, and every checkpoint it commits is fenced by the token, so a node
//! that lost the lease (it stalled past the lease, another node took over) cannot commit
//! anything. An expired lease is claimed again by any node, which resumes the execution from its
//! checkpoints exactly as recovery does after a crash.
//!
//! Why executions rather than single steps: a claimed execution's steps run with no database
//! round trip besides their checkpoint, and recovery and takeover are the same code. The cost is
//! that one execution's fan-out stays on one node; many executions spread over every node.

use std::time::Duration;

use async_trait::async_trait;

use crate::execution::Execution;
use crate::ids::ExecutionId;
use crate::store::StoreResult;

/// What a lease renewal found.
#[derive(Clone, Debug, Default)]
pub struct Renewal {
	/// Executions whose lease this node still holds (now extended).
	pub held: Vec<ExecutionId>,
	/// Of those, the ones a user asked (on any node) to cancel.
	pub cancel_requested: Vec<ExecutionId>,
}

/// Something another node signalled.
#[derive(Clone, Debug)]
pub enum Signal {
	/// New or released work may be claimable.
	Work,
	/// Another node committed events: read them from the store (the signal carries none, so
	/// nothing on the commit path encodes a payload no reader uses).
	Events,
	/// A decision or a signal was stored for this execution: its holder reads them.
	Inbox(ExecutionId),
}

/// The work the nodes share: claiming executions, renewing and releasing leases, and asking
/// the holder of one to cancel it. Only the database can be this: it is where the leases are.
#[async_trait]
pub trait WorkQueue: Send + Sync {
	/// This node's id.
	fn node(&self) -> &str;
	/// Claims up to `limit` unfinished executions that no live node holds (never claimed, or
	/// their lease expired), most urgent first with `aging` of waiting worth one priority level.
	/// Returns each with its new fencing token.
	async fn claim(
		&self,
		limit: i64,
		lease: Duration,
		aging: Duration,
	) -> StoreResult<Vec<(Execution, i64)>>;
	/// Extends this node's leases.
	async fn renew(&self, leases: &[(ExecutionId, i64)], lease: Duration) -> StoreResult<Renewal>;
	/// Claims one unfinished execution that no live node holds, so this node can act on it
	/// (cancel it through its own machine); `None` when it has ended or a live node holds it.
	async fn claim_one(
		&self,
		id: ExecutionId,
		lease: Duration,
	) -> StoreResult<Option<(Execution, i64)>>;
	/// Asks the node holding an execution to cancel it (at its next lease renewal); false when
	/// it has ended.
	async fn request_cancel(&self, id: ExecutionId) -> StoreResult<bool>;
}

/// The wake-ups between nodes: there is work, and events were committed. Best effort and
/// replaceable (the database's LISTEN/NOTIFY, or Redis in front of it): nothing is lost when a
/// signal is, because claims poll and events are read back from the store.
#[async_trait]
pub trait WakeBus: Send + Sync {
	/// Tells idle nodes there is work.
	async fn notify_work(&self) -> StoreResult<()>;
	/// Tells the other nodes that events were committed (their tails read them from the store).
	async fn notify_events(&self) -> StoreResult<()>;
	/// Tells the node holding `execution` that a decision or signal was stored for it (the
	/// holder also looks at every lease renewal, so a lost one is late, not lost).
	async fn notify_inbox(&self, execution: ExecutionId) -> StoreResult<()>;
	/// Waits for the next signal from another node.
	async fn next_signal(&self) -> StoreResult<Signal>;
}
