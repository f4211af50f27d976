//! The workflow definition: the seed's JSON shape (`components`, `connections`, `parameters`,
//! `metadata`), parsed field by field so that *every* structural problem is reported at once with
//! its path, rather than serde's first-error-wins.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::validate::Issue;

/// A parsed workflow definition.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Definition {
	/// The components (nodes) of the graph, in document order.
	pub components: Vec<ComponentSpec>,
	/// The connections (edges) between components.
	#[serde(default)]
	pub connections: Vec<Connection>,
	/// Declared execution parameters. When empty, any parameter is accepted.
	#[serde(default, skip_serializing_if = "Vec::is_empty")]
	pub parameters: Vec<ParameterSpec>,
	/// Free-form metadata kept with the definition.
	#[serde(default, skip_serializing_if = "Map::is_empty")]
	pub metadata: Map<String, Value>,
}

/// One component of the graph.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ComponentSpec {
	/// Unique id within the definition.
	pub id: String,
	/// The component type, a key of the [`Registry`](crate::Registry).
	#[serde(rename = "type")]
	pub kind: String,
	/// Type-specific config plus the common fields (see [`StepOptions`](crate::StepOptions)).
	#[serde(default)]
	pub config: Map<String, Value>,
	/// Where the designer draws it.
	#[serde(default, skip_serializing_if = "Option::is_none")]
	pub position: Option<Position>,
}

/// Canvas position of a component.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Position {
	/// Horizontal coordinate.
	pub x: f64,
	/// Vertical coordinate.
	pub y: f64,
}

/// The four connection types of DESIGN §3.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConnectionType {
	/// Taken when the source completes (the default).
	#[default]
	Success,
	/// Taken when the source fails after its retries.
	Failure,
	/// Taken whether the source completes or fails.
	Always,
	/// Taken when the source completes and `condition` renders truthy.
	Condition,
}

impl ConnectionType {
	fn parse(text: &str) -> Option<Self> {
		match text {
			"success" => Some(Self::Success),
			"failure" => Some(Self::Failure),
			"always" => Some(Self::Always),
			"condition" => Some(Self::Condition),
			_ => None,
		}
	}
}

/// An edge from `source` to `target`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Connection {
	/// Id of the component the edge leaves.
	pub source: String,
	/// Id of the component the edge enters.
	pub target: String,
	/// When the edge is taken.
	#[serde(rename = "type", default)]
	pub kind: ConnectionType,
	/// For `condition` edges: a `{{ expression }}` evaluated against the context plus `output`.
	#[serde(default, skip_serializing_if = "Option::is_none")]
	pub condition: Option<String>,
	/// For edges leaving a `condition` or `switch`: the branch that takes this edge.
	#[serde(default, skip_serializing_if = "Option::is_none")]
	pub branch: Option<String>,
}

/// The parameter types of the seed's `TemplateParameter.parameter_type`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ParamType {
	/// A JSON string.
	String,
	/// A whole number.
	Integer,
	/// Any number.
	Float,
	/// `true` or `false`.
	Boolean,
	/// A JSON array.
	List,
	/// A JSON object.
	Dict,
}

impl ParamType {
	fn parse(text: &str) -> Option<Self> {
		match text {
			"string" => Some(Self::String),
			"integer" => Some(Self::Integer),
			"float" => Some(Self::Float),
			"boolean" => Some(Self::Boolean),
			"list" => Some(Self::List),
			"dict" => Some(Self::Dict),
			_ => None,
		}
	}
}

/// A declared execution parameter (the seed's `TemplateParameter`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ParameterSpec {
	/// The name used in expressions (`{{name}}` or `{{params.name}}`).
	pub name: String,
	/// The expected type; string values given on a command line are converted to it.
	#[serde(default = "default_param_type")]
	pub parameter_type: ParamType,
	/// Whether an execution must supply it (when it has no default).
	#[serde(default = "default_true")]
	pub required: bool,
	/// Used when the execution does not supply a value.
	#[serde(default, skip_serializing_if = "Option::is_none")]
	pub default_value: Option<Value>,
	/// `min`/`max` for numbers, `min_length`/`max_length` for strings.
	#[serde(default, skip_serializing_if = "Map::is_empty")]
	pub validation_rules: Map<String, Value>,
	/// Allowed values, when the parameter is a choice.
	#[serde(default, skip_serializing_if = "Vec::is_empty")]
	pub options: Vec<Value>,
	/// UI hints and documentation kept as given (`display_name`, `description`, `input_type`…).
	#[serde(flatten)]
	pub ui: Map<String, Value>,
}

fn default_param_type() -> ParamType {
	ParamType::String
}

fn default_true() -> bool {
	true
}

const PARAMETER_UI_FIELDS: &[&str] = &[
	"display_name",
	"description",
	"input_type",
	"placeholder",
	"help_text",
];

impl Definition {
	/// Parses a definition, returning what could be understood and every structural problem
	/// (each path rooted at `definition`).
	pub fn parse(value: &Value) -> (Definition, Vec<Issue>) {
		let mut issues = Vec::new();
		let mut def = Definition::default();
		let Some(obj) = value.as_object() else {
			issues.push(Issue::new("definition", "must be an object"));
			return (def, issues);
		};
		for key in obj.keys() {
			if !matches!(
				key.as_str(),
				"components" | "connections" | "parameters" | "metadata"
			) {
				issues.push(Issue::new(format!("definition.{key}"), "unknown field"));
			}
		}
		def.components = parse_list(obj, "components", true, &mut issues, parse_component);
		def.connections = parse_list(obj, "connections", false, &mut issues, parse_connection);
		def.parameters = parse_list(obj, "parameters", false, &mut issues, parse_parameter);
		match obj.get("metadata") {
			Some(Value::Object(m)) => def.metadata = m.clone(),
			Some(Value::Null) | None => {}
			Some(_) => issues.push(Issue::new("definition.metadata", "must be an object")),
		}
		(def, issues)
	}

	/// The component with `id`, if any.
	pub fn component(&self, id: &str) -> Option<&ComponentSpec> {
		self.components.iter().find(|c| c.id == id)
	}

	/// This definition as the seed's JSON.
	pub fn to_value(&self) -> Value {
		serde_json::to_value(self).unwrap_or(Value::Null)
	}
}

/// Parses the array `key` of a definition with `parse` (given each item and its index); a
/// missing array is an error only when `required`.
fn parse_list<T>(
	obj: &Map<String, Value>,
	key: &str,
	required: bool,
	issues: &mut Vec<Issue>,
	parse: fn(&Value, usize, &mut Vec<Issue>) -> Option<T>,
) -> Vec<T> {
	match obj.get(key) {
		Some(Value::Array(items)) => items
			.iter()
			.enumerate()
			.filter_map(|(i, item)| parse(item, i, issues))
			.collect(),
		Some(Value::Null) | None if !required => Vec::new(),
		None => {
			issues.push(Issue::new(format!("definition.{key}"), "is required"));
			Vec::new()
		}
		Some(_) => {
			issues.push(Issue::new(format!("definition.{key}"), "must be an array"));
			Vec::new()
		}
	}
}

fn parse_component(item: &Value, i: usize, issues: &mut Vec<Issue>) -> Option<ComponentSpec> {
	let path = format!("definition.components[{i}]");
	let Some(obj) = item.as_object() else {
		issues.push(Issue::new(path, "must be an object"));
		return None;
	};
	for key in obj.keys() {
		if !matches!(key.as_str(), "id" | "type" | "config" | "position") {
			issues.push(Issue::new(format!("{path}.{key}"), "unknown field"));
		}
	}
	let id = required_string(obj, "id", &path, issues);
	let kind = required_string(obj, "type", &path, issues);
	let config = match obj.get("config") {
		Some(Value::Object(m)) => m.clone(),
		Some(Value::Null) | None => Map::new(),
		Some(_) => {
			issues.push(Issue::new(format!("{path}.config"), "must be an object"));
			Map::new()
		}
	};
	let position = match obj.get("position") {
		Some(Value::Null) | None => None,
		Some(v) => match serde_json::from_value::<Position>(v.clone()) {
			Ok(p) => Some(p),
			Err(_) => {
				issues.push(Issue::new(
					format!("{path}.position"),
					"must be an object with numeric x and y",
				));
				None
			}
		},
	};
	Some(ComponentSpec {
		id: id?,
		kind: kind?,
		config,
		position,
	})
}

fn parse_connection(item: &Value, i: usize, issues: &mut Vec<Issue>) -> Option<Connection> {
	let path = format!("definition.connections[{i}]");
	let Some(obj) = item.as_object() else {
		issues.push(Issue::new(path, "must be an object"));
		return None;
	};
	for key in obj.keys() {
		if !matches!(
			key.as_str(),
			"source" | "target" | "type" | "condition" | "branch" | "id"
		) {
			issues.push(Issue::new(format!("{path}.{key}"), "unknown field"));
		}
	}
	let source = required_string(obj, "source", &path, issues);
	let target = required_string(obj, "target", &path, issues);
	let kind = match obj.get("type") {
		None | Some(Value::Null) => Some(ConnectionType::Success),
		Some(Value::String(s)) => {
			let parsed = ConnectionType::parse(s);
			if parsed.is_none() {
				issues.push(Issue::new(
					format!("{path}.type"),
					format!("unknown connection type '{s}' (success, failure, always, condition)"),
				));
			}
			parsed
		}
		Some(_) => {
			issues.push(Issue::new(format!("{path}.type"), "must be a string"));
			None
		}
	};
	let condition = optional_string(obj, "condition", &path, issues);
	let branch = optional_string(obj, "branch", &path, issues);
	if kind == Some(ConnectionType::Condition) && condition.is_none() {
		issues.push(Issue::new(
			format!("{path}.condition"),
			"is required for a 'condition' connection",
		));
	}
	if condition.is_some() && kind.is_some_and(|k| k != ConnectionType::Condition) {
		issues.push(Issue::new(
			format!("{path}.condition"),
			"is only allowed on a 'condition' connection",
		));
	}
	Some(Connection {
		source: source?,
		target: target?,
		kind: kind?,
		condition,
		branch,
	})
}

fn parse_parameter(item: &Value, i: usize, issues: &mut Vec<Issue>) -> Option<ParameterSpec> {
	let path = format!("definition.parameters[{i}]");
	let Some(obj) = item.as_object() else {
		issues.push(Issue::new(path, "must be an object"));
		return None;
	};
	let name = required_string(obj, "name", &path, issues);
	let mut spec = ParameterSpec {
		name: String::new(),
		parameter_type: ParamType::String,
		required: true,
		default_value: None,
		validation_rules: Map::new(),
		options: Vec::new(),
		ui: Map::new(),
	};
	for (key, value) in obj {
		let field = format!("{path}.{key}");
		match key.as_str() {
			"name" => {}
			"parameter_type" | "type" => match value.as_str().and_then(ParamType::parse) {
				Some(t) => spec.parameter_type = t,
				None => issues.push(Issue::new(
					field,
					"must be one of string, integer, float, boolean, list, dict",
				)),
			},
			"required" => match value.as_bool() {
				Some(b) => spec.required = b,
				None => issues.push(Issue::new(field, "must be a boolean")),
			},
			"default_value" | "default" => {
				if !value.is_null() {
					spec.default_value = Some(value.clone());
				}
			}
			"validation_rules" => match value.as_object() {
				Some(m) => spec.validation_rules = m.clone(),
				None => issues.push(Issue::new(field, "must be an object")),
			},
			"options" => match value.as_array() {
				Some(a) => spec.options = a.clone(),
				None => issues.push(Issue::new(field, "must be an array")),
			},
			k if PARAMETER_UI_FIELDS.contains(&k) => {
				spec.ui.insert(key.clone(), value.clone());
			}
			_ => issues.push(Issue::new(field, "unknown field")),
		}
	}
	if let Some(default) = &spec.default_value
		&& let Err(message) = crate::params::check_parameter(&spec, default)
	{
		issues.push(Issue::new(format!("{path}.default_value"), message));
	}
	spec.name = name?;
	Some(spec)
}

fn required_string(
	obj: &Map<String, Value>,
	key: &str,
	path: &str,
	issues: &mut Vec<Issue>,
) -> Option<String> {
	match obj.get(key) {
		Some(Value::String(s)) if !s.trim().is_empty() => Some(s.clone()),
		Some(Value::String(_)) => {
			issues.push(Issue::new(format!("{path}.{key}"), "must not be empty"));
			None
		}
		Some(_) => {
			issues.push(Issue::new(format!("{path}.{key}"), "must be a string"));
			None
		}
		None => {
			issues.push(Issue::new(format!("{path}.{key}"), "is required"));
			None
		}
	}
}

fn optional_string(
	obj: &Map<String, Value>,
	key: &str,
	path: &str,
	issues: &mut Vec<Issue>,
) -> Option<String> {
	match obj.get(key) {
		Some(Value::String(s)) => Some(s.clone()),
		Some(Value::Null) | None => None,
		Some(_) => {
			issues.push(Issue::new(format!("{path}.{key}"), "must be a string"));
			None
		}
	}
}
