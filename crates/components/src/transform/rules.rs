//! `transformation_rules`, parsed into a [`Plan`]. One parser serves both `check_config` (where a
//! `{{ }}` template is accepted as a value only known at run time) and `run` (where the rules are
//! rendered and any problem is fatal), so validation and execution can never disagree about what
//! a rule means. Problems carry paths such as `transformation_rules.conditions[1].operator`.

use serde_json::{Map, Value};

use crate::is_template;

/// Path of the rules object in the config.
const ROOT: &str = "transformation_rules";

/// Problems found in the rules, each as `(path under config, message)`.
pub(crate) type Problems = Vec<(String, String)>;

/// The transformation types.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
	Map,
	Filter,
	Aggregate,
	Sort,
}

impl Kind {
	/// Parses a `transformation_type`.
	pub(crate) fn parse(text: &str) -> Option<Self> {
		match text {
			"map" => Some(Self::Map),
			"filter" => Some(Self::Filter),
			"aggregate" => Some(Self::Aggregate),
			"sort" => Some(Self::Sort),
			_ => None,
		}
	}
}

/// What a transform does to its input.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Plan {
	/// `(source field, target field)` pairs, in rule order.
	Map(Vec<(String, String)>),
	/// Keep the objects that match.
	Filter(Filter),
	/// Group and compute results.
	Aggregate(Aggregate),
	/// Stable sort by these keys, the first most significant.
	Sort(Vec<SortKey>),
}

/// Conditions an object must meet to be kept.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Filter {
	pub(crate) conditions: Vec<Cond>,
	/// `match: any` (one condition suffices) rather than `all`.
	pub(crate) any: bool,
}

/// One `{field, operator, value}` test.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Cond {
	pub(crate) field: String,
	pub(crate) op: Op,
	/// For `exists`, whether the field must exist (default `true`).
	pub(crate) value: Value,
}

/// Filter operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Op {
	Eq,
	Ne,
	Gt,
	Gte,
	Lt,
	Lte,
	In,
	NotIn,
	Contains,
	Exists,
}

const OPERATORS: &[(&str, Op)] = &[
	("eq", Op::Eq),
	("ne", Op::Ne),
	("gt", Op::Gt),
	("gte", Op::Gte),
	("lt", Op::Lt),
	("lte", Op::Lte),
	("in", Op::In),
	("not_in", Op::NotIn),
	("contains", Op::Contains),
	("exists", Op::Exists),
];

/// Grouping and the results computed per group.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Aggregate {
	/// Empty: one result object over all items.
	pub(crate) group_by: Vec<String>,
	/// `(result name, aggregation)`, in rule order.
	pub(crate) outputs: Vec<(String, Agg)>,
}

/// One aggregation: a function over a field (`count` may have no field).
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Agg {
	pub(crate) field: Option<String>,
	pub(crate) function: Func,
}

/// Aggregation functions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Func {
	Sum,
	Avg,
	Min,
	Max,
	Count,
	CountDistinct,
	First,
	Last,
	List,
}

const FUNCTIONS: &[(&str, Func)] = &[
	("sum", Func::Sum),
	("avg", Func::Avg),
	("min", Func::Min),
	("max", Func::Max),
	("count", Func::Count),
	("count_distinct", Func::CountDistinct),
	("first", Func::First),
	("last", Func::Last),
	("list", Func::List),
];

/// One sort key.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct SortKey {
	pub(crate) field: String,
	pub(crate) descending: bool,
}

/// Parses the rules of a `kind` transform. With `defer`, templates are accepted unchecked; the
/// plan is then only meaningful when the rules contain none (`check_config` uses the problems).
pub(crate) fn parse(kind: Kind, rules: &Map<String, Value>, defer: bool) -> Result<Plan, Problems> {
	let mut parser = Parser {
		defer,
		problems: Vec::new(),
	};
	let plan = match kind {
		Kind::Map => parser.map(rules),
		Kind::Filter => parser.filter(rules),
		Kind::Aggregate => parser.aggregate(rules),
		Kind::Sort => parser.sort(rules),
	};
	match plan {
		Some(plan) if parser.problems.is_empty() => Ok(plan),
		_ => Err(parser.problems),
	}
}

fn join(path: &str, key: &str) -> String {
	format!("{path}.{key}")
}

fn quoted<T>(options: &[(&str, T)]) -> String {
	let names: Vec<String> = options.iter().map(|(n, _)| format!("\"{n}\"")).collect();
	names.join(", ")
}

struct Parser {
	/// Whether template strings are accepted as values only known at run time.
	defer: bool,
	problems: Problems,
}

impl Parser {
	fn problem(&mut self, path: &str, message: impl Into<String>) {
		self.problems.push((path.to_owned(), message.into()));
	}

	fn deferred(&self, value: &Value) -> bool {
		self.defer && is_template(value)
	}

	fn known_keys(&mut self, map: &Map<String, Value>, path: &str, known: &[&str]) {
		for key in map.keys().filter(|k| !known.contains(&k.as_str())) {
			let message = format!("unknown field (expected {})", known.join(", "));
			self.problem(&join(path, key), message);
		}
	}

	fn object<'v>(&mut self, value: &'v Value, path: &str) -> Option<&'v Map<String, Value>> {
		match value {
			Value::Object(map) => Some(map),
			v if self.deferred(v) => None,
			_ => {
				self.problem(path, "must be an object");
				None
			}
		}
	}

	/// The non-empty array at `path`, or a problem naming what it should hold.
	fn list<'v>(
		&mut self,
		value: Option<&'v Value>,
		path: &str,
		what: &str,
	) -> Option<&'v [Value]> {
		match value {
			Some(Value::Array(items)) if !items.is_empty() => Some(items),
			Some(v) if self.deferred(v) => None,
			_ => {
				self.problem(path, format!("must be a non-empty array of {what}"));
				None
			}
		}
	}

	/// The required field name `map[key]` (dots address nested fields).
	fn field_name(&mut self, map: &Map<String, Value>, key: &str, path: &str) -> Option<String> {
		let path = join(path, key);
		match map.get(key) {
			Some(v) if self.deferred(v) => None,
			Some(Value::String(name)) if !name.is_empty() => Some(name.clone()),
			None => {
				self.problem(&path, "is required");
				None
			}
			Some(_) => {
				self.problem(&path, "must be a field name (a non-empty string)");
				None
			}
		}
	}

	/// The option named by `value`, or `default` when it is absent.
	fn choice<T: Copy>(
		&mut self,
		value: Option<&Value>,
		path: &str,
		options: &[(&str, T)],
		default: Option<T>,
	) -> Option<T> {
		let Some(value) = value else {
			if default.is_none() {
				self.problem(path, "is required");
			}
			return default;
		};
		if self.deferred(value) {
			return None;
		}
		let found = value
			.as_str()
			.and_then(|name| options.iter().find(|(n, _)| *n == name));
		if found.is_none() {
			self.problem(path, format!("must be one of {}", quoted(options)));
		}
		found.map(|(_, t)| *t)
	}

	fn map(&mut self, rules: &Map<String, Value>) -> Option<Plan> {
		self.known_keys(rules, ROOT, &["mapping"]);
		let Some(mapping) = rules.get("mapping") else {
			self.problem(ROOT, "Map transformation requires 'mapping' in rules");
			return None;
		};
		let path = join(ROOT, "mapping");
		let mapping = self.object(mapping, &path)?;
		if mapping.is_empty() {
			self.problem(&path, "must map at least one field");
		}
		let mut pairs = Vec::with_capacity(mapping.len());
		for (source, target) in mapping {
			match target {
				v if self.deferred(v) => {}
				Value::String(target) if !target.is_empty() => {
					pairs.push((source.clone(), target.clone()));
				}
				_ => self.problem(
					&join(&path, source),
					"must be the target field name (a non-empty string)",
				),
			}
		}
		Some(Plan::Map(pairs))
	}

	fn filter(&mut self, rules: &Map<String, Value>) -> Option<Plan> {
		if rules.contains_key("conditions") {
			self.known_keys(rules, ROOT, &["conditions", "match"]);
			let any = self.choice(
				rules.get("match"),
				&join(ROOT, "match"),
				&[("all", false), ("any", true)],
				Some(false),
			);
			let path = join(ROOT, "conditions");
			let items = self.list(rules.get("conditions"), &path, "conditions")?;
			let conditions: Vec<Option<Cond>> = items
				.iter()
				.enumerate()
				.map(|(i, item)| {
					let path = format!("{path}[{i}]");
					self.object(item, &path)
						.and_then(|cond| self.condition(cond, &path))
				})
				.collect();
			let conditions = conditions.into_iter().collect::<Option<Vec<_>>>()?;
			Some(Plan::Filter(Filter {
				conditions,
				any: any?,
			}))
		} else if rules.contains_key("field") || rules.contains_key("operator") {
			let cond = self.condition(rules, ROOT)?;
			Some(Plan::Filter(Filter {
				conditions: vec![cond],
				any: false,
			}))
		} else {
			self.problem(
				ROOT,
				"a filter needs 'field', 'operator' and 'value', or a list of 'conditions'",
			);
			None
		}
	}

	fn condition(&mut self, cond: &Map<String, Value>, path: &str) -> Option<Cond> {
		self.known_keys(cond, path, &["field", "operator", "value"]);
		let field = self.field_name(cond, "field", path);
		let op = self.choice(
			cond.get("operator"),
			&join(path, "operator"),
			OPERATORS,
			None,
		);
		let value = cond.get("value");
		let value_path = join(path, "value");
		let name = op.and_then(|op| OPERATORS.iter().find(|(_, o)| *o == op).map(|(n, _)| *n));
		let wrong = match (op?, value) {
			(_, Some(v)) if self.deferred(v) => None,
			(Op::Exists, None) => None,
			(Op::Exists, Some(v)) => (!v.is_boolean()).then_some("true or false"),
			(_, None) => {
				let message = format!("is required for '{}'", name.unwrap_or_default());
				self.problem(&value_path, message);
				return None;
			}
			(Op::Gt | Op::Gte | Op::Lt | Op::Lte, Some(v)) => {
				(!v.is_number() && !v.is_string()).then_some("a number or a string")
			}
			(Op::In | Op::NotIn, Some(v)) => (!v.is_array()).then_some("an array"),
			_ => None,
		};
		if let Some(expected) = wrong {
			let message = format!("must be {expected} for '{}'", name.unwrap_or_default());
			self.problem(&value_path, message);
			return None;
		}
		Some(Cond {
			field: field?,
			op: op?,
			value: value.cloned().unwrap_or(Value::Bool(true)),
		})
	}

	fn aggregate(&mut self, rules: &Map<String, Value>) -> Option<Plan> {
		self.known_keys(rules, ROOT, &["group_by", "aggregations"]);
		let group_path = join(ROOT, "group_by");
		let group_by = match rules.get("group_by") {
			None => Some(Vec::new()),
			Some(Value::String(name)) if !name.is_empty() => Some(vec![name.clone()]),
			Some(v @ Value::Array(_)) => {
				let items = self.list(Some(v), &group_path, "field names")?;
				let names: Vec<Option<String>> = items
					.iter()
					.enumerate()
					.map(|(i, item)| match item {
						Value::String(name) if !name.is_empty() => Some(name.clone()),
						v if self.deferred(v) => None,
						_ => {
							let path = format!("{group_path}[{i}]");
							self.problem(&path, "must be a field name (a non-empty string)");
							None
						}
					})
					.collect();
				names.into_iter().collect()
			}
			Some(v) if self.deferred(v) => None,
			Some(_) => {
				self.problem(
					&group_path,
					"must be a field name or a non-empty array of field names",
				);
				None
			}
		};
		let path = join(ROOT, "aggregations");
		let Some(aggregations) = rules.get("aggregations") else {
			self.problem(&path, "is required");
			return None;
		};
		let aggregations = self.object(aggregations, &path)?;
		if aggregations.is_empty() {
			self.problem(&path, "must define at least one result");
		}
		let mut outputs = Vec::with_capacity(aggregations.len());
		for (name, spec) in aggregations {
			let spec_path = join(&path, name);
			if group_by.as_ref().is_some_and(|g| g.contains(name)) {
				let message =
					format!("'{name}' is also a group_by field; name the result otherwise");
				self.problem(&spec_path, message);
			}
			let agg = self
				.object(spec, &spec_path)
				.and_then(|spec| self.aggregation(spec, &spec_path));
			outputs.push(agg.map(|agg| (name.clone(), agg)));
		}
		Some(Plan::Aggregate(Aggregate {
			group_by: group_by?,
			outputs: outputs.into_iter().collect::<Option<_>>()?,
		}))
	}

	fn aggregation(&mut self, spec: &Map<String, Value>, path: &str) -> Option<Agg> {
		self.known_keys(spec, path, &["field", "function"]);
		let function = self.choice(
			spec.get("function"),
			&join(path, "function"),
			FUNCTIONS,
			None,
		);
		let field = match spec.get("field") {
			// `count` without a field counts items; a bad function is already reported.
			None if function.is_none_or(|f| f == Func::Count) => None,
			_ => Some(self.field_name(spec, "field", path)?),
		};
		Some(Agg {
			field,
			function: function?,
		})
	}

	fn sort(&mut self, rules: &Map<String, Value>) -> Option<Plan> {
		if !rules.contains_key("keys") {
			return self.sort_key(rules, ROOT).map(|key| Plan::Sort(vec![key]));
		}
		self.known_keys(rules, ROOT, &["keys"]);
		let path = join(ROOT, "keys");
		let items = self.list(rules.get("keys"), &path, "sort keys")?;
		let keys: Vec<Option<SortKey>> = items
			.iter()
			.enumerate()
			.map(|(i, item)| {
				let path = format!("{path}[{i}]");
				self.object(item, &path)
					.and_then(|key| self.sort_key(key, &path))
			})
			.collect();
		keys.into_iter().collect::<Option<Vec<_>>>().map(Plan::Sort)
	}

	fn sort_key(&mut self, key: &Map<String, Value>, path: &str) -> Option<SortKey> {
		self.known_keys(key, path, &["field", "order"]);
		let field = self.field_name(key, "field", path);
		let descending = self.choice(
			key.get("order"),
			&join(path, "order"),
			&[("asc", false), ("desc", true)],
			Some(false),
		);
		Some(SortKey {
			field: field?,
			descending: descending?,
		})
	}
}

#[cfg(test)]
mod tests {
	use serde_json::json;

	use super::*;
	use crate::testing::obj;

	/// The paths of the problems in `rules` for `kind`, checked as at validation.
	fn paths(kind: Kind, rules: Value) -> Vec<String> {
		match parse(kind, &obj(rules), true) {
			Ok(_) => Vec::new(),
			Err(problems) => problems.into_iter().map(|(path, _)| path).collect(),
		}
	}

	#[test]
	fn a_single_filter_condition_becomes_a_plan() {
		let plan = parse(
			Kind::Filter,
			&obj(json!({"field": "status", "operator": "eq", "value": "active"})),
			false,
		);
		assert_eq!(
			plan,
			Ok(Plan::Filter(Filter {
				conditions: vec![Cond {
					field: "status".to_owned(),
					op: Op::Eq,
					value: json!("active")
				}],
				any: false
			}))
		);
	}

	#[test]
	fn filter_problems_name_the_condition_and_field() {
		assert_eq!(
			paths(
				Kind::Filter,
				json!({"conditions": [{"field": "a", "operator": "eq", "value": 1},
					{"field": "b", "operator": "like", "value": 1},
					{"field": "c", "operator": "in", "value": 3},
					{"operator": "gt"}], "match": "most"})
			),
			[
				"transformation_rules.match",
				"transformation_rules.conditions[1].operator",
				"transformation_rules.conditions[2].value",
				"transformation_rules.conditions[3].field",
				"transformation_rules.conditions[3].value",
			]
		);
		assert_eq!(
			paths(Kind::Filter, json!({"feild": "a"})),
			["transformation_rules"]
		);
		assert_eq!(
			paths(
				Kind::Filter,
				json!({"field": "a", "operator": "eq", "valeu": 1})
			),
			["transformation_rules.valeu", "transformation_rules.value"]
		);
	}

	#[test]
	fn aggregate_problems_name_the_result() {
		assert_eq!(
			paths(
				Kind::Aggregate,
				json!({"group_by": ["region", 3], "aggregations": {
					"total": {"field": "amount", "function": "sum"},
					"n": {"function": "count"},
					"region": {"field": "x", "function": "first"},
					"avg": {"function": "avg"},
					"odd": {"field": "x", "function": "median"}}})
			),
			[
				"transformation_rules.group_by[1]",
				"transformation_rules.aggregations.avg.field",
				"transformation_rules.aggregations.odd.function",
			]
		);
		assert_eq!(
			paths(
				Kind::Aggregate,
				json!({"group_by": "region", "aggregations": {
					"region": {"field": "x", "function": "first"}}})
			),
			["transformation_rules.aggregations.region"]
		);
		assert_eq!(
			paths(Kind::Aggregate, json!({"group_by": "a"})),
			["transformation_rules.aggregations"]
		);
	}

	#[test]
	fn sort_and_map_problems_name_the_field() {
		assert_eq!(
			paths(
				Kind::Sort,
				json!({"keys": [{"field": "a"}, {"field": "b", "order": "up"}]})
			),
			["transformation_rules.keys[1].order"]
		);
		assert_eq!(
			paths(Kind::Sort, json!({"keys": []})),
			["transformation_rules.keys"]
		);
		assert_eq!(
			paths(Kind::Sort, json!({"order": "asc"})),
			["transformation_rules.field"]
		);
		assert_eq!(
			paths(Kind::Map, json!({"mapping": {"a": "b", "c": 1}})),
			["transformation_rules.mapping.c"]
		);
		assert_eq!(
			paths(Kind::Map, json!({"mapping": "a"})),
			["transformation_rules.mapping"]
		);
	}
}
