//! Status enums of workflows, executions and components, with their stable string forms (the
//! strings are stored and sent over the API, so they never change).

use serde::{Deserialize, Serialize};

macro_rules! string_enum {
	($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
		$(#[$doc])*
		#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
		#[serde(rename_all = "snake_case")]
		pub enum $name {
			$($(#[$vdoc])* $variant),+
		}

		impl $name {
			/// The stored and wire form.
			pub fn as_str(self) -> &'static str {
				match self {
					$(Self::$variant => $text),+
				}
			}

			/// Parses the stored form.
			pub fn parse(text: &str) -> Option<Self> {
				match text {
					$($text => Some(Self::$variant),)+
					_ => None,
				}
			}
		}

		impl std::fmt::Display for $name {
			fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
				f.write_str(self.as_str())
			}
		}
	};
}

string_enum!(
	/// Lifecycle of a workflow (the seed's `WorkflowStatus`).
	WorkflowStatus {
		/// Being edited; can still be executed.
		Draft = "draft",
		/// Published.
		Active = "active",
		/// Switched off: cannot be executed.
		Inactive = "inactive",
		/// Kept for history only.
		Archived = "archived",
	}
);

string_enum!(
	/// Lifecycle of an execution (DESIGN §3).
	ExecutionStatus {
		/// Created, not yet admitted.
		Pending = "pending",
		/// Admitted, waiting for a worker.
		Queued = "queued",
		/// At least one component has started.
		Running = "running",
		/// Stopped at a breakpoint or waiting for a human.
		Paused = "paused",
		/// Finished successfully.
		Completed = "completed",
		/// Finished with an unhandled component failure.
		Failed = "failed",
		/// Stopped on request.
		Cancelled = "cancelled",
	}
);

string_enum!(
	/// Lifecycle of one component within an execution (DESIGN §3).
	ComponentStatus {
		/// Waiting for its incoming connections.
		Pending = "pending",
		/// Ready, or running its current attempt, or waiting on a durable timer.
		Running = "running",
		/// Failed an attempt; the next attempt is scheduled.
		Retrying = "retrying",
		/// Finished with an output.
		Completed = "completed",
		/// Failed after its last attempt.
		Failed = "failed",
		/// Not run: every incoming connection was skipped (dead-path elimination).
		Skipped = "skipped",
		/// Not run or stopped because the execution ended.
		Cancelled = "cancelled",
	}
);

impl ExecutionStatus {
	/// Whether the execution has reached an end state.
	pub fn is_terminal(self) -> bool {
		matches!(self, Self::Completed | Self::Failed | Self::Cancelled)
	}
}

impl ComponentStatus {
	/// Whether the component will never change again in this execution.
	pub fn is_terminal(self) -> bool {
		matches!(
			self,
			Self::Completed | Self::Failed | Self::Skipped | Self::Cancelled
		)
	}
}
