//! Workflows as users create them (the seed's `WorkflowCreate`, parsed with `extra='forbid'`) and
//! as they are stored (`Workflow`, with immutable `WorkflowVersion`s that executions pin).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::Millis;
use crate::definition::Definition;
use crate::ids::WorkflowId;
use crate::priority::Priority;
use crate::status::WorkflowStatus;
use crate::validate::Issue;

/// A stored workflow.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Workflow {
	/// UUIDv7 id.
	pub id: WorkflowId,
	/// 1–255 characters, trimmed; unique per owner.
	pub name: String,
	/// Up to 1,000 characters.
	pub description: Option<String>,
	/// The current definition.
	pub definition: Definition,
	/// Lifecycle.
	pub status: WorkflowStatus,
	/// Up to 100 characters.
	pub category: Option<String>,
	/// Free tags.
	pub tags: Vec<String>,
	/// Default priority of its executions.
	pub priority: Priority,
	/// The current version (1 at creation, +1 for every change of the definition).
	pub version: i64,
	/// Owner.
	pub created_by: String,
	/// Who saved the current version (see [`Workflow::secrets_allowed`]).
	#[serde(default)]
	pub saved_by: String,
	/// Creation time.
	pub created_at: Millis,
	/// Last change.
	pub updated_at: Millis,
}

impl Workflow {
	/// Whether the current version may use its owner's secrets; see [`secrets_allowed`].
	pub fn secrets_allowed(&self) -> bool {
		secrets_allowed(&self.created_by, &self.saved_by)
	}

	/// The seed's computed `component_count`.
	pub fn component_count(&self) -> usize {
		self.definition.components.len()
	}
}

/// One immutable version of a workflow's definition.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WorkflowVersion {
	/// The workflow.
	pub workflow_id: WorkflowId,
	/// Version number.
	pub version: i64,
	/// The definition as it was.
	pub definition: Definition,
	/// The user who saved it.
	#[serde(default)]
	pub saved_by: String,
	/// When it was made.
	pub created_at: Millis,
}

/// The one rule that keeps an owner's secrets the owner's: a version runs with the owner's
/// credentials and sealed values only when the owner saved it. Anyone else with an `update`
/// share (an admin too) may edit freely, but what they save runs without secrets until the owner
/// saves it again, which is the owner's approval. No check of what an edit changed can be routed
/// around, because none is made: a renamed component, a new `http_request` or a moved URL all
/// land in a version the owner has not saved.
pub fn secrets_allowed(owner: &str, saved_by: &str) -> bool {
	owner == saved_by
}

/// Why a step of a version saved by `saved_by` gets no secrets, for its error.
pub fn secrets_refused(version: i64, saved_by: &str) -> String {
	format!(
		"version {version} of this workflow was saved by user {saved_by}, not by its owner, so it \
		 runs without the owner's credentials and sealed values; the owner must save it (which \
		 approves it) before this step can use them"
	)
}

/// The fields a user supplies to create a workflow (the seed's `WorkflowCreate`), parsed.
#[derive(Clone, Debug, PartialEq)]
pub struct NewWorkflow {
	/// Trimmed name.
	pub name: String,
	/// Description.
	pub description: Option<String>,
	/// The definition as given (validated separately, so all problems are reported together).
	pub definition: Value,
	/// Category.
	pub category: Option<String>,
	/// Tags.
	pub tags: Vec<String>,
	/// Priority.
	pub priority: Priority,
}

const NEW_WORKFLOW_FIELDS: &[&str] = &[
	"name",
	"description",
	"definition",
	"category",
	"tags",
	"priority",
];

impl NewWorkflow {
	/// Parses a create request, reporting every problem (unknown fields included) at once.
	pub fn parse(value: &Value) -> Result<Self, Vec<Issue>> {
		let mut issues = Vec::new();
		let Some(obj) = value.as_object() else {
			return Err(vec![Issue::new("", "must be a JSON object")]);
		};
		for key in obj.keys() {
			if !NEW_WORKFLOW_FIELDS.contains(&key.as_str()) {
				issues.push(Issue::new(key.clone(), "unknown field"));
			}
		}
		let name = match obj.get("name") {
			Some(Value::String(s)) => {
				let trimmed = s.trim();
				if trimmed.is_empty() {
					issues.push(Issue::new("name", "Name cannot be empty"));
				} else if trimmed.chars().count() > 255 {
					issues.push(Issue::new("name", "must have at most 255 characters"));
				} else if let Err(why) = crate::text::check_name(trimmed) {
					issues.push(Issue::new("name", why));
				}
				trimmed.to_owned()
			}
			Some(_) => {
				issues.push(Issue::new("name", "must be a string"));
				String::new()
			}
			None => {
				issues.push(Issue::new("name", "is required"));
				String::new()
			}
		};
		let description = optional_text(obj, "description", 1000, &mut issues);
		if let Some(Err(why)) = description.as_deref().map(crate::text::check_description) {
			issues.push(Issue::new("description", why));
		}
		let category = optional_text(obj, "category", 100, &mut issues);
		if let Some(Err(why)) = category.as_deref().map(crate::text::check_name) {
			issues.push(Issue::new("category", why));
		}
		let definition = match obj.get("definition") {
			Some(v @ Value::Object(_)) => v.clone(),
			Some(_) => {
				issues.push(Issue::new("definition", "must be an object"));
				Value::Null
			}
			None => {
				issues.push(Issue::new("definition", "is required"));
				Value::Null
			}
		};
		let tags = match obj.get("tags") {
			None | Some(Value::Null) => Vec::new(),
			Some(Value::Array(items)) => {
				let mut tags = Vec::new();
				for (i, item) in items.iter().enumerate() {
					match item.as_str() {
						Some(t) if !t.trim().is_empty() && t.len() <= 100 => {
							match crate::text::check_name(t) {
								Ok(()) => tags.push(t.trim().to_owned()),
								Err(why) => issues.push(Issue::new(format!("tags[{i}]"), why)),
							}
						}
						_ => issues.push(Issue::new(
							format!("tags[{i}]"),
							"must be a non-empty string of at most 100 characters",
						)),
					}
				}
				tags
			}
			Some(_) => {
				issues.push(Issue::new("tags", "must be an array of strings"));
				Vec::new()
			}
		};
		let priority = match obj.get("priority") {
			None | Some(Value::Null) => Priority::DEFAULT,
			Some(v) => match v.as_i64().map(Priority::new) {
				Some(Ok(p)) => p,
				_ => {
					issues.push(Issue::new(
						"priority",
						"must be an integer between 1 and 10",
					));
					Priority::DEFAULT
				}
			},
		};
		if issues.is_empty() {
			Ok(Self {
				name,
				description,
				definition,
				category,
				tags,
				priority,
			})
		} else {
			Err(issues)
		}
	}
}

fn optional_text(
	obj: &Map<String, Value>,
	key: &str,
	max: usize,
	issues: &mut Vec<Issue>,
) -> Option<String> {
	match obj.get(key) {
		None | Some(Value::Null) => None,
		Some(Value::String(s)) if s.chars().count() <= max => Some(s.clone()),
		Some(Value::String(_)) => {
			issues.push(Issue::new(
				key,
				format!("must have at most {max} characters"),
			));
			None
		}
		Some(_) => {
			issues.push(Issue::new(key, "must be a string"));
			None
		}
	}
}

#[cfg(test)]
mod tests {
	use serde_json::json;

	use super::*;

	#[test]
	fn unknown_fields_and_bad_values_are_all_reported() {
		let issues = NewWorkflow::parse(&json!({"name": "  ", "priority": 11, "colour": "red",
			"definition": []}))
		.unwrap_err();
		let paths: Vec<&str> = issues.iter().map(|i| i.path.as_str()).collect();
		assert_eq!(paths.len(), 4, "{issues:?}");
		for p in ["name", "priority", "colour", "definition"] {
			assert!(paths.contains(&p), "{p} missing from {paths:?}");
		}
	}

	#[test]
	fn the_name_is_trimmed() {
		let w = NewWorkflow::parse(&json!({"name": " ETL ", "definition": {"components": []}}))
			.unwrap();
		assert_eq!(w.name, "ETL");
		assert_eq!(w.priority, Priority::DEFAULT);
	}
}
