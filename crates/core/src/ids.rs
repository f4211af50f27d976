//! Id newtypes, parsed at the edge so a workflow id can never be passed where an execution id
//! belongs. Ids are UUIDv7: time-ordered, so "newest first" is an index scan.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

macro_rules! uuid_id {
	($(#[$doc:meta])* $name:ident) => {
		$(#[$doc])*
		#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
		#[serde(transparent)]
		pub struct $name(pub Uuid);

		impl $name {
			/// A fresh, time-ordered id.
			pub fn new() -> Self {
				Self(Uuid::now_v7())
			}
		}

		impl Default for $name {
			fn default() -> Self {
				Self::new()
			}
		}

		impl fmt::Display for $name {
			fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
				self.0.fmt(f)
			}
		}

		impl FromStr for $name {
			type Err = uuid::Error;
			fn from_str(s: &str) -> Result<Self, Self::Err> {
				Uuid::parse_str(s).map(Self)
			}
		}
	};
}

uuid_id!(
	/// Identifies a workflow (all of its versions).
	WorkflowId
);
uuid_id!(
	/// Identifies one execution of a workflow version.
	ExecutionId
);
uuid_id!(
	/// Identifies a user.
	UserId
);
uuid_id!(
	/// Identifies an in-app notification.
	NotificationId
);
uuid_id!(
	/// Identifies an API key.
	ApiKeyId
);
uuid_id!(
	/// Identifies a stored credential (a named secret).
	CredentialId
);
uuid_id!(
	/// Identifies a cron schedule of a workflow.
	ScheduleId
);
uuid_id!(
	/// Identifies a signal sent to an execution.
	SignalId
);
uuid_id!(
	/// Identifies a webhook trigger of a workflow.
	HookId
);
