//! Waits on the outside world: an `approval` waits for people's decisions, a `wait_for_event`
//! for a named signal. Both are durable: what a step waits for is stored on its checkpoint
//! ([`Waiting`]), each decision and signal is a row of its own written before the engine hears
//! of it, and a rebuilt execution reads them back, so a restart or a takeover by another node
//! neither loses one nor asks for one again.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::Millis;
use crate::access::{Principal, Role};
use crate::child::{ChildSpec, ChildrenWait};
use crate::ids::{ExecutionId, SignalId, UserId};

/// What a durable component's rendered config asks the engine to wait for.
#[derive(Clone, Debug, PartialEq)]
pub enum DurableWait {
	/// A `delay`: a time.
	Delay(Duration),
	/// An `approval`: decisions, for at most `timeout`.
	Approval(ApprovalRequest, Option<Duration>),
	/// A `wait_for_event`: a signal, for at most `timeout`.
	Signal(SignalWait, Option<Duration>),
	/// A `sub_workflow` or `for_each`: child executions.
	Children(ChildSpec),
}

/// What a waiting step waits for, stored on its checkpoint (`steps.waiting`): the approvals
/// inbox and the signals sent by name are found through it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Waiting {
	/// Decisions of permitted users.
	Approval(ApprovalRequest),
	/// A signal.
	Signal(SignalWait),
	/// Child executions.
	Children(ChildrenWait),
}

impl Waiting {
	/// Which kind of wait, for those found by kind (children are found by their parent).
	pub fn kind(&self) -> Option<WaitKind> {
		match self {
			Waiting::Approval(_) => Some(WaitKind::Approval),
			Waiting::Signal(_) => Some(WaitKind::Signal),
			Waiting::Children(_) => None,
		}
	}
}

/// The kinds of [`Waiting`], for finding the steps that wait.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WaitKind {
	/// An `approval`.
	Approval,
	/// A `wait_for_event`.
	Signal,
}

impl WaitKind {
	/// The component type that waits so.
	pub fn component_type(self) -> &'static str {
		match self {
			WaitKind::Approval => "approval",
			WaitKind::Signal => "wait_for_event",
		}
	}
}

/// Who may decide an approval, and how many must.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ApprovalRequest {
	/// A line for the approvers (what they approve).
	#[serde(default, skip_serializing_if = "Option::is_none")]
	pub message: Option<String>,
	/// Users (by name or id) who may decide; with `roles` empty too, anyone who may run the
	/// workflow.
	#[serde(default)]
	pub users: Vec<String>,
	/// Roles whose members may decide.
	#[serde(default)]
	pub roles: Vec<Role>,
	/// Approvals needed (one rejection rejects).
	pub required: u32,
	/// Whether the user who started the execution may decide.
	#[serde(default)]
	pub allow_self_approval: bool,
	/// The fields an approver fills in (a JSON schema of an object): the values become the
	/// output.
	#[serde(default, skip_serializing_if = "Option::is_none")]
	pub form: Option<Value>,
	/// What happens when nobody decides in time.
	#[serde(default)]
	pub on_timeout: OnTimeout,
	/// The user who started the execution.
	#[serde(default, skip_serializing_if = "Option::is_none")]
	pub requested_by: Option<UserId>,
	/// Which round of this step the decisions are for: its attempt number when the wait began,
	/// so a step re-opened by a retry asks again instead of reusing the last round's answers.
	#[serde(default)]
	pub round: u32,
	/// When it times out.
	#[serde(default, skip_serializing_if = "Option::is_none")]
	pub deadline: Option<Millis>,
}

/// Why a user may not decide an approval.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum NotApprover {
	/// Neither listed by name nor by role.
	#[error("you are not one of this approval's approvers")]
	NotListed,
	/// The user started the execution, and self-approval is not allowed.
	#[error("you started this execution, and this approval does not allow self-approval")]
	SelfApproval,
}

impl ApprovalRequest {
	/// Whether `who` is one of the approvers (the caller checks they may run the workflow).
	pub fn may_decide(&self, who: &Principal) -> Result<(), NotApprover> {
		if !self.allow_self_approval && self.requested_by == Some(who.user_id) {
			return Err(NotApprover::SelfApproval);
		}
		if self.users.is_empty() && self.roles.is_empty() {
			return Ok(());
		}
		// An entry that is an id matches that user only, never a user named like an id.
		let named = self.users.iter().any(|u| match u.parse::<uuid::Uuid>() {
			Ok(id) => id == who.user_id.0,
			Err(_) => u.eq_ignore_ascii_case(&who.username),
		});
		if named || self.roles.contains(&who.role) {
			Ok(())
		} else {
			Err(NotApprover::NotListed)
		}
	}
}

/// What an approval does when its timeout passes without enough decisions.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnTimeout {
	/// Completes as approved.
	Approve,
	/// Ends as rejected (the step fails with the rejection).
	Reject,
	/// Fails the step: nobody decided.
	#[default]
	Fail,
}

/// A named signal a step waits for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignalWait {
	/// The signal's name.
	pub name: String,
	/// With a key, only a signal with that key ends the wait; without, any of the name does.
	#[serde(default, skip_serializing_if = "Option::is_none")]
	pub key: Option<String>,
	/// Without a signal by the timeout: fail, or complete with `null`.
	#[serde(default)]
	pub on_timeout_continue: bool,
	/// When it times out.
	#[serde(default, skip_serializing_if = "Option::is_none")]
	pub deadline: Option<Millis>,
}

impl SignalWait {
	/// Whether `signal` ends this wait.
	pub fn accepts(&self, signal: &SignalRecord) -> bool {
		signal.name == self.name && (self.key.is_none() || self.key == signal.key)
	}
}

/// A signal sent to one execution (`POST /executions/{id}/signals/{name}`, or one per waiting
/// execution for `POST /signals/{name}`). Kept until a `wait_for_event` step takes it, so a
/// signal that arrives before the wait begins is not lost.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SignalRecord {
	/// Its id.
	pub id: SignalId,
	/// The execution it is for.
	pub execution_id: ExecutionId,
	/// Its name.
	pub name: String,
	/// Its correlation key.
	pub key: Option<String>,
	/// What the waiting step outputs.
	pub payload: Value,
	/// Who sent it.
	pub sent_by: Option<UserId>,
	/// When it arrived.
	pub created_at: Millis,
	/// The step that took it.
	pub taken_by: Option<String>,
}

/// Approve or reject.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
	/// Counts towards `required`.
	Approve,
	/// Rejects the request at once.
	Reject,
}

impl Verdict {
	/// The stored name.
	pub fn as_str(self) -> &'static str {
		match self {
			Verdict::Approve => "approve",
			Verdict::Reject => "reject",
		}
	}

	/// The stored name back.
	pub fn parse(s: &str) -> Option<Self> {
		match s {
			"approve" => Some(Verdict::Approve),
			"reject" => Some(Verdict::Reject),
			_ => None,
		}
	}
}

/// One user's decision on one round of an approval; at most one per user and round.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Decision {
	/// The execution.
	pub execution_id: ExecutionId,
	/// The approval step.
	pub component_id: String,
	/// The round ([`ApprovalRequest::round`]).
	pub round: u32,
	/// Who decided.
	pub user_id: UserId,
	/// Their name, as it was.
	pub username: String,
	/// Approve or reject.
	pub verdict: Verdict,
	/// Why.
	pub comment: Option<String>,
	/// The form's values.
	pub values: Map<String, Value>,
	/// When.
	pub decided_at: Millis,
}
