//! The durable execution engine.
//!
//! Two halves, as in restate's partition processor:
//!
//! - [`machine`]: the pure transitions of one execution (`start`, `finished`, `timer_fired`,
//!   `cancel`), each returning the [`Write`](apg_core::Write)s that make up its checkpoint and the
//!   [`Action`](machine::Action)s to perform once that checkpoint is committed. No IO, no clock:
//!   `now` is an argument, so every rule of DESIGN §3 (joins, dead-path elimination, retries,
//!   failure paths) is tested without a runtime.
//! - [`driver`]: one coordinator task that owns the in-flight executions, applies transitions,
//!   commits their writes as one batch (group commit: every step that finished while the last
//!   batch was committing shares the next commit), and only then performs the actions: spawning
//!   component attempts under the global concurrency limit in priority order with aging, and
//!   arming durable timers.
//!
//! The rule that makes it durable: a component's result is in the store before any successor is
//! scheduled, and the successors made ready are written in that same transaction. On start the
//! driver rebuilds every unfinished execution from its checkpoints ([`recovery`]), so completed
//! components never run again, an interrupted attempt runs again with its attempt count raised,
//! and timers keep their deadlines.
//!
//! In a cluster (PostgreSQL) each node's driver claims executions under leases and fences its
//! commits with them; the [`machine`] is the same on every node.

mod attempt;
mod cache;
pub mod clock;
mod context;
pub mod driver;
mod error;
pub mod graph;
pub mod machine;
mod output_cap;
pub mod phase;
mod recovery;
mod state;
pub mod trace;
pub mod workflows;

pub use cache::MemoryCache;
pub use driver::{
	ClusterMode, DecisionRefused, Engine, EngineConfig, EngineStats, ExecuteRequest,
	PendingApproval, RerunRequest, RunCheck,
};
pub use error::{EngineError, Result};
pub use graph::Compiled;
pub use output_cap::DEFAULT_MAX_OUTPUT_BYTES;
pub use phase::{Phase, Wait};
pub use state::ExecutionState;
