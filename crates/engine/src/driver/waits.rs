//! The outside world's side of durable waits: a user's decision on an approval and a signal
//! sent to an execution. Each is stored first (a row of its own), then delivered to whichever
//! node holds the execution, whose machine applies it ([`Command::Decided`],
//! [`Command::Signalled`]). Stored first, so nothing is lost: an execution rebuilt after a
//! restart or a takeover reads them back ([`load`]); delivered twice, it changes nothing.

use std::sync::Arc;

use apg_core::wait::NotApprover;
use apg_core::{
	ApprovalRequest, Decision, ExecutionId, Issue, Principal, SignalRecord, Store, Verdict,
	WaitKind, Waiting, schema,
};
use tokio::sync::{mpsc, oneshot};

use super::{Engine, Msg};
use crate::error::{EngineError, Result};
use crate::machine::Command;
use crate::state::ExecutionState;

/// What reaches a waiting execution from outside.
#[derive(Debug)]
pub(super) enum Delivery {
	/// A stored decision.
	Decision(Decision),
	/// A stored signal.
	Signal(SignalRecord),
	/// The children created for a waiting step (or why there are none).
	Spawned {
		node: usize,
		round: u32,
		children: std::result::Result<Vec<apg_core::Execution>, String>,
	},
	/// A child execution that ended.
	Child(Box<apg_core::Execution>),
}

impl Delivery {
	pub(super) fn command(self) -> Command {
		match self {
			Delivery::Decision(d) => Command::Decided(d),
			Delivery::Signal(s) => Command::Signalled(s),
			Delivery::Spawned {
				node,
				round,
				children,
			} => Command::Spawned {
				node,
				round,
				children,
			},
			Delivery::Child(c) => Command::ChildEnded(c),
		}
	}
}

/// An approval waiting for decisions, as the API shows it.
#[derive(Clone, Debug)]
pub struct PendingApproval {
	/// The execution.
	pub execution: apg_core::Execution,
	/// The approval step.
	pub component_id: String,
	/// Who may decide, how many must, and the form.
	pub request: ApprovalRequest,
	/// The decisions of this round so far.
	pub decisions: Vec<Decision>,
	/// When the wait began.
	pub since: Option<apg_core::Millis>,
}

/// Why a user's decision is refused, as the API maps it.
#[derive(Debug, thiserror::Error)]
pub enum DecisionRefused {
	/// Not an approver of it.
	#[error(transparent)]
	NotApprover(#[from] NotApprover),
	/// Anything else.
	#[error(transparent)]
	Engine(#[from] EngineError),
}

/// Reads what was stored for a rebuilt execution while nobody held it, so its machine settles
/// its waits (only workflows with steps that wait on the outside world have any: no query for
/// the others).
pub(crate) async fn load(store: &dyn Store, st: &mut ExecutionState) -> Result<()> {
	if !st.wf.nodes.iter().any(|n| n.outside) {
		return Ok(());
	}
	st.decisions = store.decisions(st.exec.id).await?;
	st.signals = store.pending_signals(st.exec.id).await?;
	let waits_for_children = st
		.phases
		.contains(&crate::phase::Phase::Waiting(crate::phase::Wait::Children));
	if waits_for_children {
		let children = store.children(st.exec.id).await?;
		st.adopt(children);
	}
	Ok(())
}

/// What a [`reload`] reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Reload {
	/// The bus named the execution: an ended child (for its parent), or one whose decisions or
	/// signals changed.
	Named,
	/// The renewal's sweep of a held execution waiting for decisions or signals, and with
	/// `children`, for its ended children too.
	Sweep {
		/// Whether to read its children.
		children: bool,
	},
}

/// Reads what was stored for `exec` and delivers it to this node's coordinator (which ignores it
/// unless it holds the execution): how a holder hears of a decision, a signal or a child's end
/// stored on another node.
pub(super) fn reload(
	store: Arc<dyn Store>,
	tx: mpsc::UnboundedSender<Msg>,
	exec: ExecutionId,
	what: Reload,
) {
	tokio::spawn(async move {
		// A child that ended (its node names it): its parent's holder takes it.
		if what == Reload::Named
			&& let Ok(Some(child)) = store.get_execution(exec).await
			&& child.status.is_terminal()
			&& let Some(parent) = child.parent.as_ref().map(|p| p.execution_id)
		{
			let (reply, _) = oneshot::channel();
			let _ = tx.send(Msg::Deliver(
				parent,
				Delivery::Child(Box::new(child)),
				reply,
			));
			return;
		}
		if what == (Reload::Sweep { children: true }) {
			super::children::deliver_ended(&*store, &tx, exec).await;
		}
		let (decisions, signals) = match (
			store.decisions(exec).await,
			store.pending_signals(exec).await,
		) {
			(Ok(d), Ok(s)) => (d, s),
			(Err(e), _) | (_, Err(e)) => {
				tracing::warn!(execution = %exec, error = %e, "cannot read decisions and signals");
				return;
			}
		};
		let deliveries = decisions
			.into_iter()
			.map(Delivery::Decision)
			.chain(signals.into_iter().map(Delivery::Signal));
		for delivery in deliveries {
			let (reply, _) = oneshot::channel();
			if tx.send(Msg::Deliver(exec, delivery, reply)).is_err() {
				return;
			}
		}
	});
}

impl Engine {
	/// The approval `component` of execution `id` as it waits now; Conflict when it does not
	/// wait for decisions.
	pub async fn pending_approval(
		&self,
		id: ExecutionId,
		component: &str,
	) -> Result<PendingApproval> {
		let store = &self.inner.store;
		let execution = store
			.get_execution(id)
			.await?
			.ok_or_else(|| EngineError::NotFound(format!("execution {id}")))?;
		let step = store
			.steps(id)
			.await?
			.into_iter()
			.find(|s| s.component_id == component);
		let (request, since) = match step {
			Some(s) if !execution.status.is_terminal() => match s.waiting {
				Some(Waiting::Approval(request)) => (request, s.started_at),
				_ => return Err(not_waiting(component)),
			},
			_ => return Err(not_waiting(component)),
		};
		let decisions = store
			.decisions(id)
			.await?
			.into_iter()
			.filter(|d| d.component_id == component && d.round == request.round)
			.collect();
		Ok(PendingApproval {
			execution,
			component_id: component.to_owned(),
			request,
			decisions,
			since,
		})
	}

	/// Every approval waiting for decisions (of executions not ended), oldest first.
	pub async fn pending_approvals(&self, limit: i64) -> Result<Vec<PendingApproval>> {
		let store = &self.inner.store;
		let mut out = Vec::new();
		for step in store.waiting_steps(WaitKind::Approval, limit).await? {
			match self
				.pending_approval(step.execution_id, &step.component_id)
				.await
			{
				Ok(p) => out.push(p),
				// It ended between the two reads.
				Err(EngineError::Conflict(_) | EngineError::NotFound(_)) => {}
				Err(e) => return Err(e),
			}
		}
		Ok(out)
	}

	/// Records `who`'s decision on `pending` and delivers it. Refused when they are not one of
	/// its approvers (the caller checks they may run the workflow), when an approval's values do
	/// not match its form (every problem at once), or when they already decided this round.
	pub async fn decide(
		&self,
		pending: &PendingApproval,
		who: &Principal,
		verdict: Verdict,
		comment: Option<String>,
		values: serde_json::Map<String, serde_json::Value>,
	) -> Result<Decision, DecisionRefused> {
		pending.request.may_decide(who)?;
		if verdict == Verdict::Approve
			&& let Some(form) = &pending.request.form
		{
			let schema = schema::ConfigSchema::compile(form.clone()).map_err(|e| {
				EngineError::Conflict(format!("the approval's form is not a schema: {e}"))
			})?;
			let mut issues = Vec::new();
			schema::check(
				&schema,
				&serde_json::Value::Object(values.clone()),
				"values",
				&mut issues,
			);
			if !issues.is_empty() {
				return Err(EngineError::Invalid(issues).into());
			}
		}
		let decision = Decision {
			execution_id: pending.execution.id,
			component_id: pending.component_id.clone(),
			round: pending.request.round,
			user_id: who.user_id,
			username: who.username.clone(),
			verdict,
			comment,
			values,
			decided_at: crate::clock::now(),
		};
		self.inner
			.store
			.put_decision(&decision)
			.await
			.map_err(|e| match e {
				apg_core::store::StoreError::Conflict(_) => EngineError::Conflict(format!(
					"you already decided '{}' of execution {}",
					decision.component_id, decision.execution_id
				)),
				other => other.into(),
			})?;
		self.deliver(decision.execution_id, Delivery::Decision(decision.clone()))
			.await?;
		Ok(decision)
	}

	/// Sends a signal to execution `id`: kept until a `wait_for_event` step takes it. Conflict
	/// when the execution has ended.
	pub async fn signal(
		&self,
		id: ExecutionId,
		name: String,
		key: Option<String>,
		payload: serde_json::Value,
		sent_by: Option<apg_core::UserId>,
	) -> Result<SignalRecord> {
		let exec = self
			.inner
			.store
			.get_execution(id)
			.await?
			.ok_or_else(|| EngineError::NotFound(format!("execution {id}")))?;
		if exec.status.is_terminal() {
			return Err(EngineError::Conflict(format!(
				"execution {id} is {}",
				exec.status
			)));
		}
		if name.trim().is_empty() || name.len() > 200 {
			return Err(EngineError::Invalid(vec![Issue::new(
				"name",
				"a signal's name has 1 to 200 characters",
			)]));
		}
		let limit = self.inner.max_output_bytes;
		if !apg_core::size::json_fits(&payload, limit) {
			return Err(EngineError::Invalid(vec![Issue::new(
				"payload",
				format!(
					"larger than {}, which the waiting step may not output",
					crate::output_cap::describe_limit(limit)
				),
			)]));
		}
		let signal = SignalRecord {
			id: apg_core::SignalId::new(),
			execution_id: id,
			name,
			key,
			payload,
			sent_by,
			created_at: crate::clock::now(),
			taken_by: None,
		};
		self.inner.store.put_signal(&signal).await?;
		self.deliver(id, Delivery::Signal(signal.clone())).await?;
		Ok(signal)
	}

	/// The executions with a step waiting now for the signal `name` with `key` (a wait without
	/// a key takes any), with the workflow each belongs to.
	pub async fn waiting_for_signal(
		&self,
		name: &str,
		key: Option<&str>,
	) -> Result<Vec<apg_core::Execution>> {
		let store = &self.inner.store;
		let probe = SignalRecord {
			id: apg_core::SignalId::new(),
			execution_id: ExecutionId::new(),
			name: name.to_owned(),
			key: key.map(str::to_owned),
			payload: serde_json::Value::Null,
			sent_by: None,
			created_at: 0,
			taken_by: None,
		};
		let mut ids: Vec<ExecutionId> = store
			.waiting_steps(WaitKind::Signal, 10_000)
			.await?
			.into_iter()
			.filter(|s| matches!(&s.waiting, Some(Waiting::Signal(w)) if w.accepts(&probe)))
			.map(|s| s.execution_id)
			.collect();
		// One signal per execution, however many of its steps wait for it.
		ids.sort_unstable();
		ids.dedup();
		let mut out = Vec::new();
		for id in ids {
			if let Some(exec) = store.get_execution(id).await?
				&& !exec.status.is_terminal()
			{
				out.push(exec);
			}
		}
		Ok(out)
	}

	/// Hands a stored decision or signal to the node holding the execution: this one, or
	/// (in a cluster) whichever node the bus reaches.
	async fn deliver(&self, id: ExecutionId, delivery: Delivery) -> Result<()> {
		let (reply, done) = oneshot::channel();
		self.send(Msg::Deliver(id, delivery, reply))?;
		let here = done.await.map_err(|_| EngineError::Stopped)?;
		if !here && let Some(mode) = &self.inner.cluster {
			// Not held here: the holder hears it from the bus, or at its next lease renewal,
			// or reads it when it claims the execution.
			if let Err(e) = mode.bus.notify_inbox(id).await {
				tracing::warn!(execution = %id, error = %e, "cannot tell the holder of a delivery");
			}
		}
		Ok(())
	}
}

fn not_waiting(component: &str) -> EngineError {
	EngineError::Conflict(format!(
		"'{component}' is not waiting for a decision in this execution"
	))
}
