//! The domain of APG Workflow, with no IO.
//!
//! Everything the other crates agree on lives here: the workflow definition and its validation
//! (every problem at once, each with a path), the `{{ … }}` expression language, the ids and
//! newtypes built at the edge, the statuses and events of an execution, and the three seams the
//! rest of the system is built around: [`Store`] (where state lives), [`Component`] (what a step
//! does) and the [`Registry`] of components.
//!
//! A key decision: the definition stays the seed's JSON shape (`serde_json::Value` configs), and
//! each component type owns a JSON schema for its config. Validation and the API's component
//! listing are driven by that one schema, so the designer's forms, `validate` and the engine can
//! never disagree about what a config may hold.

pub mod access;
pub mod account;
pub mod auth_store;
pub mod cache;
pub mod child;
pub mod cluster;
pub mod component;
pub mod definition;
pub mod error;
pub mod event;
pub mod execution;
pub mod expr;
pub mod hook;
pub mod ids;
pub mod notification;
pub mod options;
pub mod params;
pub mod priority;
pub mod redact;
pub mod schedule;
pub mod schema;
pub mod secrets;
pub mod security;
pub mod size;
pub mod status;
pub mod store;
pub mod text;
pub mod validate;
pub mod wait;
pub mod workflow;

pub use access::{Access, Permission, Principal, Role, WorkflowAction, workflow_access};
pub use account::{ApiKey, AuditEntry, AuditFilter, Credential, Share, User};
pub use auth_store::AuthStore;
pub use cache::Cache;
pub use child::{ChildSpec, ChildTarget, ChildrenWait, ParentLink};
pub use cluster::{Renewal, Signal, WakeBus, WorkQueue};
pub use component::{Component, ComponentError, Outcome, Registry, RunContext};
pub use definition::{ComponentSpec, Connection, ConnectionType, Definition, ParameterSpec};
pub use error::{Error, Result};
pub use event::{Event, EventKind};
pub use execution::{AttemptRecord, EventRecord, Execution, LogLevel, LogRecord, StepRecord};
pub use hook::{Hook, HookSettings, HookStore};
pub use ids::{
	ApiKeyId, CredentialId, ExecutionId, HookId, NotificationId, ScheduleId, SignalId, UserId,
	WorkflowId,
};
pub use notification::{Notification, NotificationLevel, NotificationStore};
pub use options::{Backoff, Join, StepOptions};
pub use priority::Priority;
pub use redact::Redactor;
pub use schedule::{CatchUp, Fire, FireStatus, Overlap, Schedule, ScheduleStore};
pub use secrets::SecretSource;
pub use status::{ComponentStatus, ExecutionStatus, WorkflowStatus};
pub use store::{Batch, ExecutionFilter, Fence, Store, WorkflowFilter, WorkflowStats, Write};
pub use validate::{Issue, ValidationReport, validate};
pub use wait::{
	ApprovalRequest, Decision, DurableWait, NotApprover, OnTimeout, SignalRecord, SignalWait,
	Verdict, WaitKind, Waiting,
};
pub use workflow::{NewWorkflow, Workflow, WorkflowVersion, secrets_allowed, secrets_refused};

/// Milliseconds since the Unix epoch: the one clock representation every store and the engine
/// share, so durable deadlines compare as plain integers across processes and backends.
pub type Millis = i64;

/// The current wall-clock time in [`Millis`].
pub fn now_millis() -> Millis {
	chrono::Utc::now().timestamp_millis()
}
