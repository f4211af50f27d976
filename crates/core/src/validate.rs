//! Validation of a definition (DESIGN §2): every problem at once, each with a path such as
//! `definition.components[3].config.url`, plus the security warnings of the seed's
//! `validate_workflow_security`. It is linear in the size of the definition: a 1,000-component
//! workflow validates in well under the 10 ms the contract asks for.

use std::collections::{HashMap, HashSet, VecDeque};
use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::component::Registry;
use crate::definition::{ConnectionType, Definition};
use crate::options::{COMMON_FIELDS, EXPRESSION_FIELDS};
use crate::{expr, schema, security};

/// One problem, with where it is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Issue {
	/// Dotted path (`definition.components[3].config.url`).
	pub path: String,
	/// What is wrong.
	pub message: String,
}

impl Issue {
	/// A problem at `path`.
	pub fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
		Self {
			path: path.into(),
			message: message.into(),
		}
	}
}

impl fmt::Display for Issue {
	fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
		if self.path.is_empty() {
			f.write_str(&self.message)
		} else {
			write!(f, "{}: {}", self.path, self.message)
		}
	}
}

/// The result of validating a definition.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ValidationReport {
	/// Whether there are no errors (warnings do not count).
	pub is_valid: bool,
	/// Problems that prevent execution.
	pub errors: Vec<Issue>,
	/// Security warnings (hard-coded secrets, unsafe script operations).
	pub warnings: Vec<Issue>,
}

/// Validates a definition given as JSON against the registry's component types.
pub fn validate(value: &Value, registry: &Registry) -> (Definition, ValidationReport) {
	let (def, mut errors) = Definition::parse(value);
	let index = check_ids(&def, &mut errors);
	check_components(&def, registry, &mut errors);
	check_connections(&def, registry, &index, &mut errors);
	check_graph(&def, &index, &mut errors);
	check_expressions(&def, &index, &mut errors);
	check_bodies(&def, registry, &mut errors);
	let warnings = security::scan(&def);
	let report = ValidationReport {
		is_valid: errors.is_empty(),
		errors,
		warnings,
	};
	(def, report)
}

/// A for_each's inline body is a definition of its own: validated as one, its problems under
/// the step's config.
fn check_bodies(def: &Definition, registry: &Registry, errors: &mut Vec<Issue>) {
	for (i, c) in def.components.iter().enumerate() {
		if c.kind != crate::child::FOR_EACH {
			continue;
		}
		let Some(body) = crate::child::inline_body(&c.config) else {
			continue;
		};
		let (inner, report) = validate(&body, registry);
		let prefix = format!("{}.config", component_path(i));
		// A child finds its inline body by its step's id in the parent's own definition, so
		// a body in a body is refused (a nested for_each calls a workflow instead).
		for (j, c) in inner.components.iter().enumerate() {
			if c.kind == crate::child::FOR_EACH && crate::child::inline_body(&c.config).is_some() {
				errors.push(Issue::new(
					format!("{prefix}.components[{j}]"),
					"a for_each inside an inline body cannot have an inline body of its own \
					 (give it a workflow_id)",
				));
			}
		}
		for issue in report.errors {
			let path = issue.path.replacen("definition", &prefix, 1);
			errors.push(Issue::new(path, issue.message));
		}
	}
}

fn component_path(i: usize) -> String {
	format!("definition.components[{i}]")
}

fn check_ids<'a>(def: &'a Definition, errors: &mut Vec<Issue>) -> HashMap<&'a str, usize> {
	let mut index = HashMap::with_capacity(def.components.len());
	for (i, c) in def.components.iter().enumerate() {
		if let Err(why) = crate::text::check_name(&c.id) {
			errors.push(Issue::new(format!("{}.id", component_path(i)), why));
		}
		if let Some(first) = index.insert(c.id.as_str(), i) {
			errors.push(Issue::new(
				format!("{}.id", component_path(i)),
				format!("duplicate id '{}' (also used by components[{first}])", c.id),
			));
			index.insert(c.id.as_str(), first);
		}
	}
	for (i, p) in def.parameters.iter().enumerate() {
		if let Err(why) = crate::text::check_name(&p.name) {
			errors.push(Issue::new(format!("definition.parameters[{i}].name"), why));
		}
	}
	index
}

fn check_components(def: &Definition, registry: &Registry, errors: &mut Vec<Issue>) {
	for (i, c) in def.components.iter().enumerate() {
		let path = component_path(i);
		let (Some(component), Some(config_schema)) =
			(registry.get(&c.kind), registry.schema(&c.kind))
		else {
			errors.push(Issue::new(
				format!("{path}.type"),
				format!(
					"unknown component type '{}' (known: {})",
					c.kind,
					registry.kinds().join(", ")
				),
			));
			continue;
		};
		let config_path = format!("{path}.config");
		let config = Value::Object(c.config.clone());
		schema::check(config_schema, &config, &config_path, errors);
		for field in COMMON_FIELDS
			.iter()
			.filter(|f| !EXPRESSION_FIELDS.contains(f))
		{
			if let Some(Value::String(s)) = c.config.get(*field)
				&& expr::is_template(s)
			{
				errors.push(Issue::new(
					format!("{config_path}.{field}"),
					"must be a literal value, not an expression",
				));
			}
		}
		for (field, message) in component.check_config(&c.config) {
			errors.push(Issue::new(format!("{config_path}.{field}"), message));
		}
	}
}

fn check_connections(
	def: &Definition,
	registry: &Registry,
	index: &HashMap<&str, usize>,
	errors: &mut Vec<Issue>,
) {
	let mut seen = HashSet::new();
	for (i, conn) in def.connections.iter().enumerate() {
		let path = format!("definition.connections[{i}]");
		for (field, id) in [("source", &conn.source), ("target", &conn.target)] {
			if !index.contains_key(id.as_str()) {
				errors.push(Issue::new(
					format!("{path}.{field}"),
					format!("unknown component '{id}'"),
				));
			}
		}
		if !seen.insert((
			conn.source.as_str(),
			conn.target.as_str(),
			conn.kind,
			conn.branch.as_deref(),
		)) {
			errors.push(Issue::new(path.clone(), "duplicate connection"));
		}
		if let Some(kind) = def.component(&conn.target).map(|c| c.kind.as_str())
			&& kind == "start"
		{
			errors.push(Issue::new(
				format!("{path}.target"),
				"a start component cannot have incoming connections",
			));
		}
		if let Some(branch) = &conn.branch {
			let source = def.component(&conn.source);
			let branches = source
				.and_then(|c| registry.get(&c.kind).map(|comp| (c, comp)))
				.map(|(c, comp)| comp.branches(&c.config));
			match branches {
				Some(Some(names)) if !names.contains(branch) => errors.push(Issue::new(
					format!("{path}.branch"),
					format!(
						"'{}' has no branch '{branch}' (branches: {})",
						conn.source,
						names.join(", ")
					),
				)),
				Some(None) => errors.push(Issue::new(
					format!("{path}.branch"),
					format!(
						"'{}' does not branch; only condition and switch components do",
						conn.source
					),
				)),
				_ => {}
			}
			if conn.kind != ConnectionType::Success {
				errors.push(Issue::new(
					format!("{path}.branch"),
					"is only allowed on 'success' connections",
				));
			}
		}
	}
}

fn check_graph(def: &Definition, index: &HashMap<&str, usize>, errors: &mut Vec<Issue>) {
	let n = def.components.len();
	let mut outgoing: Vec<Vec<usize>> = vec![Vec::new(); n];
	let mut indegree = vec![0usize; n];
	for conn in &def.connections {
		if let (Some(&s), Some(&t)) = (
			index.get(conn.source.as_str()),
			index.get(conn.target.as_str()),
		) {
			outgoing[s].push(t);
			indegree[t] += 1;
		}
	}
	let starts: Vec<usize> = (0..n)
		.filter(|&i| def.components[i].kind == "start")
		.collect();
	if starts.is_empty() {
		errors.push(Issue::new(
			"definition.components",
			"no start component (add one of type 'start')",
		));
	}
	// Kahn's algorithm: whatever is left over lies on or behind a cycle.
	let mut remaining = indegree.clone();
	let mut queue: VecDeque<usize> = (0..n).filter(|&i| remaining[i] == 0).collect();
	let mut visited = 0;
	while let Some(i) = queue.pop_front() {
		visited += 1;
		for &t in &outgoing[i] {
			remaining[t] -= 1;
			if remaining[t] == 0 {
				queue.push_back(t);
			}
		}
	}
	if visited < n {
		let cycle = find_cycle(&outgoing, &remaining);
		let names: Vec<&str> = cycle
			.iter()
			.map(|&i| def.components[i].id.as_str())
			.collect();
		errors.push(Issue::new(
			"definition.connections",
			format!("cycle: {}", names.join(" → ")),
		));
	}
	let mut reachable = vec![false; n];
	let mut queue: VecDeque<usize> = starts.iter().copied().collect();
	for &s in &starts {
		reachable[s] = true;
	}
	while let Some(i) = queue.pop_front() {
		for &t in &outgoing[i] {
			if !reachable[t] {
				reachable[t] = true;
				queue.push_back(t);
			}
		}
	}
	if !starts.is_empty() {
		for (i, c) in def.components.iter().enumerate() {
			if !reachable[i] && index.get(c.id.as_str()) == Some(&i) {
				errors.push(Issue::new(
					component_path(i),
					format!("'{}' is unreachable from any start component", c.id),
				));
			}
		}
	}
}

/// Follows edges among the nodes Kahn's algorithm could not order until a node repeats.
fn find_cycle(outgoing: &[Vec<usize>], remaining: &[usize]) -> Vec<usize> {
	let Some(mut node) = (0..remaining.len()).find(|&i| remaining[i] > 0) else {
		return Vec::new();
	};
	let mut position = HashMap::new();
	let mut path = Vec::new();
	loop {
		if let Some(&p) = position.get(&node) {
			let mut cycle: Vec<usize> = path[p..].to_vec();
			cycle.push(node);
			return cycle;
		}
		position.insert(node, path.len());
		path.push(node);
		match outgoing[node].iter().find(|&&t| remaining[t] > 0) {
			Some(&next) => node = next,
			None => return path,
		}
	}
}

fn check_expressions(def: &Definition, index: &HashMap<&str, usize>, errors: &mut Vec<Issue>) {
	let declared: Option<HashSet<&str>> = if def.parameters.is_empty() {
		None
	} else {
		Some(def.parameters.iter().map(|p| p.name.as_str()).collect())
	};
	let check = |text: &str, path: String, extra_roots: &[&str], errors: &mut Vec<Issue>| {
		if !expr::is_template(text) {
			return;
		}
		if let Some(statement) = expr::loading_statement(text) {
			errors.push(Issue::new(
				path,
				format!("'{statement}' is not allowed: expressions cannot load templates"),
			));
			return;
		}
		let names = match expr::references(text) {
			Ok(names) => names,
			Err(message) => {
				errors.push(Issue::new(path, format!("invalid expression: {message}")));
				return;
			}
		};
		for name in names {
			let mut parts = name.split('.');
			let root = parts.next().unwrap_or_default();
			if root == "steps" {
				if let Some(id) = parts.next()
					&& !index.contains_key(id)
				{
					errors.push(Issue::new(
						path.clone(),
						format!("'{name}' names unknown component '{id}'"),
					));
				}
				continue;
			}
			if expr::CONTEXT_ROOTS.contains(&root) || extra_roots.contains(&root) {
				continue;
			}
			if let Some(declared) = &declared
				&& !declared.contains(root)
			{
				errors.push(Issue::new(
					path.clone(),
					format!("'{root}' is not a declared parameter"),
				));
			}
		}
	};
	for (i, c) in def.components.iter().enumerate() {
		let path = format!("{}.config", component_path(i));
		for (key, value) in &c.config {
			// A for_each's inline body is checked as a definition of its own (`check_bodies`).
			if c.kind == crate::child::FOR_EACH
				&& ["components", "connections"].contains(&key.as_str())
			{
				continue;
			}
			visit_strings(value, &format!("{path}.{key}"), &mut |text, p| {
				check(text, p, &[], errors)
			});
		}
	}
	for (i, conn) in def.connections.iter().enumerate() {
		if let Some(condition) = &conn.condition {
			let path = format!("definition.connections[{i}].condition");
			// A bare expression (without braces) is accepted in conditions.
			let text = if expr::is_template(condition) {
				condition.clone()
			} else {
				format!("{{{{ {condition} }}}}")
			};
			check(&text, path, &["output"], errors);
		}
	}
}

fn visit_strings(value: &Value, path: &str, f: &mut dyn FnMut(&str, String)) {
	match value {
		Value::String(s) => f(s, path.to_owned()),
		Value::Array(items) => {
			for (i, item) in items.iter().enumerate() {
				visit_strings(item, &format!("{path}[{i}]"), f);
			}
		}
		Value::Object(map) => {
			for (k, v) in map {
				visit_strings(v, &format!("{path}.{k}"), f);
			}
		}
		_ => {}
	}
}
