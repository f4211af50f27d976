//! Running a [`Plan`] over the input data, and the value semantics the rules share: dotted field
//! paths, and comparisons where numbers compare numerically, strings lexically and values of
//! different types never match.
//!
//! Items are processed in batches of `batch_size`; between batches the transform yields to the
//! runtime (so the engine's attempt timeout can fire on a huge input) and stops if the attempt was
//! cancelled. Batching never changes the result.

use std::cmp::Ordering;
use std::collections::{HashMap, HashSet};

use serde_json::{Map, Value, json};

use apg_core::{ComponentError, RunContext};

use super::rules::{Agg, Aggregate, Cond, Filter, Func, Op, Plan, SortKey};
use super::{describe, fatal};

/// Applies `plan` to `data` (a list or an object).
pub(crate) async fn apply(
	plan: &Plan,
	data: Value,
	batch_size: usize,
	ctx: &RunContext,
) -> Result<Value, ComponentError> {
	let mut batches = Batches {
		ctx,
		size: batch_size.max(1),
		done: 0,
	};
	match (plan, data) {
		(Plan::Map(pairs), Value::Object(item)) => Ok(Value::Object(map_item(&item, pairs))),
		(Plan::Map(pairs), Value::Array(items)) => {
			let mut out = Vec::with_capacity(items.len());
			for (i, item) in items.iter().enumerate() {
				let Value::Object(item) = item else {
					let kind = describe(item);
					return Err(fatal(format!(
						"map needs objects, but item [{i}] is {kind}"
					)));
				};
				out.push(Value::Object(map_item(item, pairs)));
				batches.tick().await?;
			}
			Ok(Value::Array(out))
		}
		(Plan::Filter(filter), Value::Array(items)) => {
			let mut kept = Vec::new();
			for item in items {
				if item.is_object() && filter.matches(&item) {
					kept.push(item);
				}
				batches.tick().await?;
			}
			Ok(Value::Array(kept))
		}
		(Plan::Aggregate(spec), Value::Array(items)) => aggregate(spec, &items, &mut batches).await,
		(Plan::Sort(keys), Value::Array(items)) => Ok(Value::Array(sort(keys, items))),
		(plan, data) => {
			let name = match plan {
				Plan::Map(_) => "map",
				Plan::Filter(_) => "filter",
				Plan::Aggregate(_) => "aggregate",
				Plan::Sort(_) => "sort",
			};
			Err(fatal(format!(
				"{name} needs a list input, got {}",
				describe(&data)
			)))
		}
	}
}

/// Counts processed items and pauses after each full batch.
struct Batches<'a> {
	ctx: &'a RunContext,
	size: usize,
	done: usize,
}

impl Batches<'_> {
	async fn tick(&mut self) -> Result<(), ComponentError> {
		self.done += 1;
		if self.done.is_multiple_of(self.size) {
			tokio::task::yield_now().await;
			if self.ctx.cancel.is_cancelled() {
				return Err(ComponentError::Retryable("transform cancelled".to_owned()));
			}
		}
		Ok(())
	}
}

/// The value at `path` in `item` (an object): see [`field`].
fn lookup<'v>(item: &'v Value, path: &str) -> Option<&'v Value> {
	field(item.as_object()?, path)
}

/// The value at `path`: an exact key first, else a dotted path (`a.b`, `items.0`).
fn field<'v>(item: &'v Map<String, Value>, path: &str) -> Option<&'v Value> {
	if let Some(value) = item.get(path) {
		return Some(value);
	}
	let (first, rest) = path.split_once('.')?;
	let mut current = item.get(first)?;
	for part in rest.split('.') {
		current = match current {
			Value::Object(map) => map.get(part)?,
			Value::Array(items) => items.get(part.parse::<usize>().ok()?)?,
			_ => return None,
		};
	}
	Some(current)
}

/// Numbers numerically, strings lexically; `None` for any other pair.
fn compare(a: &Value, b: &Value) -> Option<Ordering> {
	match (a, b) {
		(Value::Number(x), Value::Number(y)) => match (x.as_i64(), y.as_i64()) {
			(Some(x), Some(y)) => Some(x.cmp(&y)),
			_ => x.as_f64()?.partial_cmp(&y.as_f64()?),
		},
		(Value::String(x), Value::String(y)) => Some(x.cmp(y)),
		_ => None,
	}
}

/// JSON equality, except that `1` equals `1.0`.
fn equal(a: &Value, b: &Value) -> bool {
	match (a, b) {
		(Value::Number(_), Value::Number(_)) => compare(a, b) == Some(Ordering::Equal),
		_ => a == b,
	}
}

/// The seed's `_map_item`: copies only the mapped fields that exist.
fn map_item(item: &Map<String, Value>, pairs: &[(String, String)]) -> Map<String, Value> {
	let mut out = Map::with_capacity(pairs.len());
	for (source, target) in pairs {
		if let Some(value) = field(item, source) {
			out.insert(target.clone(), value.clone());
		}
	}
	out
}

impl Filter {
	fn matches(&self, item: &Value) -> bool {
		if self.any {
			self.conditions.iter().any(|c| c.matches(item))
		} else {
			self.conditions.iter().all(|c| c.matches(item))
		}
	}
}

impl Cond {
	fn matches(&self, item: &Value) -> bool {
		let found = lookup(item, &self.field);
		let ordered = |want: fn(Ordering) -> bool| {
			found
				.and_then(|v| compare(v, &self.value))
				.is_some_and(want)
		};
		let listed = || {
			let options = self.value.as_array().map(Vec::as_slice).unwrap_or_default();
			found.is_some_and(|v| options.iter().any(|o| equal(v, o)))
		};
		match self.op {
			Op::Eq => found.is_some_and(|v| equal(v, &self.value)),
			Op::Ne => !found.is_some_and(|v| equal(v, &self.value)),
			Op::Gt => ordered(Ordering::is_gt),
			Op::Gte => ordered(Ordering::is_ge),
			Op::Lt => ordered(Ordering::is_lt),
			Op::Lte => ordered(Ordering::is_le),
			Op::In => listed(),
			Op::NotIn => !listed(),
			Op::Contains => match (found, &self.value) {
				(Some(Value::String(text)), Value::String(part)) => text.contains(part.as_str()),
				(Some(Value::Array(items)), value) => items.iter().any(|v| equal(v, value)),
				_ => false,
			},
			Op::Exists => found.is_some_and(|v| !v.is_null()) == (self.value != json!(false)),
		}
	}
}

async fn aggregate(
	spec: &Aggregate,
	items: &[Value],
	batches: &mut Batches<'_>,
) -> Result<Value, ComponentError> {
	if spec.group_by.is_empty() {
		let all: Vec<&Value> = items.iter().collect();
		return results(spec, &all).map(Value::Object);
	}
	// Groups in first-seen order; the key's JSON text finds a group.
	let mut index: HashMap<String, usize> = HashMap::new();
	let mut groups: Vec<(Vec<Value>, Vec<&Value>)> = Vec::new();
	for item in items {
		let key: Vec<Value> = spec
			.group_by
			.iter()
			.map(|field| lookup(item, field).cloned().unwrap_or(Value::Null))
			.collect();
		let text = Value::Array(key.clone()).to_string();
		let slot = *index.entry(text).or_insert_with(|| {
			groups.push((key, Vec::new()));
			groups.len() - 1
		});
		groups[slot].1.push(item);
		batches.tick().await?;
	}
	let mut rows = Vec::with_capacity(groups.len());
	for (key, members) in groups {
		let mut row: Map<String, Value> = spec.group_by.iter().cloned().zip(key).collect();
		row.extend(results(spec, &members)?);
		rows.push(Value::Object(row));
	}
	Ok(Value::Array(rows))
}

/// Every result of `spec` over one group.
fn results(spec: &Aggregate, items: &[&Value]) -> Result<Map<String, Value>, ComponentError> {
	spec.outputs
		.iter()
		.map(|(name, agg)| Ok((name.clone(), compute(name, agg, items)?)))
		.collect()
}

/// One aggregation over a group. Missing and null values are ignored, except by a `count`
/// without a field, which counts items.
fn compute(name: &str, agg: &Agg, items: &[&Value]) -> Result<Value, ComponentError> {
	let field = agg.field.as_deref();
	let values = || {
		items
			.iter()
			.filter_map(move |item| lookup(item, field?))
			.filter(|v| !v.is_null())
	};
	Ok(match agg.function {
		Func::Count if field.is_none() => json!(items.len()),
		Func::Count => json!(values().count()),
		Func::CountDistinct => json!(values().map(Value::to_string).collect::<HashSet<_>>().len()),
		Func::Sum => sum(name, values())?.0,
		Func::Avg => match sum(name, values())? {
			(_, _, 0) => Value::Null,
			(_, total, n) => json!(total / n as f64),
		},
		Func::Min => extreme(name, values(), Ordering::Less)?,
		Func::Max => extreme(name, values(), Ordering::Greater)?,
		Func::First => values().next().cloned().unwrap_or(Value::Null),
		Func::Last => values().next_back().cloned().unwrap_or(Value::Null),
		Func::List => Value::Array(values().cloned().collect()),
	})
}

/// The sum (an integer while every value is one and it fits), the sum as a float, and the count.
fn sum<'v>(
	name: &str,
	values: impl Iterator<Item = &'v Value>,
) -> Result<(Value, f64, usize), ComponentError> {
	let (mut int, mut float, mut count) = (Some(0i64), 0.0, 0);
	for value in values {
		let Some(number) = value.as_f64() else {
			let shown = short(value);
			return Err(fatal(format!(
				"aggregation '{name}': {shown} is not a number"
			)));
		};
		float += number;
		count += 1;
		int = int.and_then(|acc| acc.checked_add(value.as_i64()?));
	}
	let total = int.map_or_else(|| json!(float), |i| json!(i));
	Ok((total, float, count))
}

/// The least (`Less`) or greatest (`Greater`) value; numbers and strings only.
fn extreme<'v>(
	name: &str,
	values: impl Iterator<Item = &'v Value>,
	want: Ordering,
) -> Result<Value, ComponentError> {
	let mut best: Option<&Value> = None;
	for value in values {
		best = Some(match best {
			None => value,
			Some(current) => match compare(value, current) {
				Some(order) if order == want => value,
				Some(_) => current,
				None => {
					return Err(fatal(format!(
						"aggregation '{name}': cannot compare {} with {}",
						short(value),
						short(current)
					)));
				}
			},
		});
	}
	Ok(best.cloned().unwrap_or(Value::Null))
}

/// A value's JSON text, cut short for error messages.
fn short(value: &Value) -> String {
	let text = value.to_string();
	match text.char_indices().nth(60) {
		Some((cut, _)) => format!("{}…", &text[..cut]),
		None => text,
	}
}

/// Stable sort by `keys`; a missing or null field sorts last whatever the order.
fn sort(keys: &[SortKey], mut items: Vec<Value>) -> Vec<Value> {
	let order: Vec<usize> = {
		let found: Vec<Vec<Option<&Value>>> = items
			.iter()
			.map(|item| {
				keys.iter()
					.map(|key| lookup(item, &key.field).filter(|v| !v.is_null()))
					.collect()
			})
			.collect();
		let mut order: Vec<usize> = (0..items.len()).collect();
		order.sort_by(|&a, &b| compare_keys(&found[a], &found[b], keys));
		order
	};
	order
		.into_iter()
		.map(|i| std::mem::take(&mut items[i]))
		.collect()
}

fn compare_keys(a: &[Option<&Value>], b: &[Option<&Value>], keys: &[SortKey]) -> Ordering {
	for ((x, y), key) in a.iter().zip(b).zip(keys) {
		let order = match (x, y) {
			(None, None) => Ordering::Equal,
			(None, Some(_)) => Ordering::Greater,
			(Some(_), None) => Ordering::Less,
			(Some(x), Some(y)) if key.descending => total_order(x, y).reverse(),
			(Some(x), Some(y)) => total_order(x, y),
		};
		if order.is_ne() {
			return order;
		}
	}
	Ordering::Equal
}

/// A total order for sorting mixed values: booleans, numbers, strings, arrays, then objects.
fn total_order(a: &Value, b: &Value) -> Ordering {
	let rank = |v: &Value| match v {
		Value::Null => 0,
		Value::Bool(_) => 1,
		Value::Number(_) => 2,
		Value::String(_) => 3,
		Value::Array(_) => 4,
		Value::Object(_) => 5,
	};
	rank(a).cmp(&rank(b)).then_with(|| match (a, b) {
		(Value::Bool(x), Value::Bool(y)) => x.cmp(y),
		_ => compare(a, b).unwrap_or_else(|| a.to_string().cmp(&b.to_string())),
	})
}

#[cfg(test)]
mod tests {
	use super::*;
	use crate::testing::{ctx, obj};
	use crate::transform::rules::{Kind, parse};

	async fn run(kind: Kind, rules: Value, data: Value) -> Result<Value, ComponentError> {
		let plan = parse(kind, &obj(rules), false).expect("valid rules");
		apply(&plan, data, 2, &ctx()).await
	}

	fn people() -> Value {
		json!([
			{"name": "ann", "age": 31, "city": {"name": "Oslo"}, "tags": ["a", "b"]},
			{"name": "bob", "age": 25.0, "city": {"name": "Rome"}, "tags": []},
			{"name": "cy", "age": "unknown", "city": null},
			{"name": "dee", "age": 40, "city": {"name": "Oslo"}, "nick": null},
			"not an object"
		])
	}

	async fn names(rules: Value) -> Vec<String> {
		let kept = run(Kind::Filter, rules, people()).await.unwrap();
		kept.as_array()
			.unwrap()
			.iter()
			.map(|p| p["name"].as_str().unwrap().to_owned())
			.collect()
	}

	#[tokio::test]
	async fn filter_operators_compare_like_types_only() {
		let cases = [
			(
				json!({"field": "age", "operator": "gt", "value": 30}),
				vec!["ann", "dee"],
			),
			(
				json!({"field": "age", "operator": "lte", "value": 25}),
				vec!["bob"],
			),
			(
				json!({"field": "age", "operator": "eq", "value": 25}),
				vec!["bob"],
			),
			(
				json!({"field": "age", "operator": "ne", "value": 25}),
				vec!["ann", "cy", "dee"],
			),
			(
				json!({"field": "name", "operator": "gte", "value": "c"}),
				vec!["cy", "dee"],
			),
			(
				json!({"field": "name", "operator": "in", "value": ["ann", "dee", "x"]}),
				vec!["ann", "dee"],
			),
			(
				json!({"field": "name", "operator": "not_in", "value": ["ann"]}),
				vec!["bob", "cy", "dee"],
			),
			(
				json!({"field": "tags", "operator": "contains", "value": "b"}),
				vec!["ann"],
			),
			(
				json!({"field": "name", "operator": "contains", "value": "e"}),
				vec!["dee"],
			),
			(json!({"field": "nick", "operator": "exists"}), vec![]),
			(
				json!({"field": "tags", "operator": "exists", "value": false}),
				vec!["cy", "dee"],
			),
			(
				json!({"field": "city.name", "operator": "eq", "value": "Oslo"}),
				vec!["ann", "dee"],
			),
			(
				json!({"field": "tags.1", "operator": "eq", "value": "b"}),
				vec!["ann"],
			),
		];
		for (rules, expected) in cases {
			assert_eq!(names(rules.clone()).await, expected, "{rules}");
		}
	}

	#[tokio::test]
	async fn filter_conditions_match_all_or_any() {
		let conditions = json!([{"field": "age", "operator": "gt", "value": 30},
			{"field": "city.name", "operator": "eq", "value": "Rome"}]);
		assert!(
			names(json!({"conditions": conditions, "match": "all"}))
				.await
				.is_empty()
		);
		assert_eq!(
			names(json!({"conditions": conditions, "match": "any"})).await,
			["ann", "bob", "dee"]
		);
	}

	#[tokio::test]
	async fn aggregate_groups_in_first_seen_order() {
		let sales = json!([
			{"region": "eu", "amount": 10, "who": "a"},
			{"region": "us", "amount": 2.5, "who": "b"},
			{"region": "eu", "amount": 5, "who": "a"},
			{"region": "eu", "amount": null, "who": "c"},
			{"amount": 1}
		]);
		let rules = json!({"group_by": "region", "aggregations": {
			"total": {"field": "amount", "function": "sum"},
			"mean": {"field": "amount", "function": "avg"},
			"rows": {"function": "count"},
			"with_amount": {"field": "amount", "function": "count"},
			"people": {"field": "who", "function": "count_distinct"},
			"low": {"field": "amount", "function": "min"},
			"high": {"field": "amount", "function": "max"},
			"first": {"field": "who", "function": "first"},
			"last": {"field": "who", "function": "last"},
			"all": {"field": "who", "function": "list"}}});
		let out = run(Kind::Aggregate, rules, sales).await.unwrap();
		assert_eq!(
			out,
			json!([
				{"region": "eu", "total": 15, "mean": 7.5, "rows": 3, "with_amount": 2,
					"people": 2, "low": 5, "high": 10, "first": "a", "last": "c",
					"all": ["a", "a", "c"]},
				{"region": "us", "total": 2.5, "mean": 2.5, "rows": 1, "with_amount": 1,
					"people": 1, "low": 2.5, "high": 2.5, "first": "b", "last": "b",
					"all": ["b"]},
				{"region": null, "total": 1, "mean": 1.0, "rows": 1, "with_amount": 1,
					"people": 0, "low": 1, "high": 1, "first": null, "last": null, "all": []}
			])
		);
	}

	#[tokio::test]
	async fn aggregate_without_group_by_gives_one_object() {
		let rules = json!({"aggregations": {"n": {"function": "count"},
			"total": {"field": "x", "function": "sum"},
			"mean": {"field": "x", "function": "avg"}}});
		assert_eq!(
			run(Kind::Aggregate, rules.clone(), json!([{"x": 1}, {"x": 2}]))
				.await
				.unwrap(),
			json!({"n": 2, "total": 3, "mean": 1.5})
		);
		assert_eq!(
			run(Kind::Aggregate, rules, json!([])).await.unwrap(),
			json!({"n": 0, "total": 0, "mean": null})
		);
	}

	#[tokio::test]
	async fn aggregating_values_of_the_wrong_type_is_fatal() {
		let sum = json!({"aggregations": {"t": {"field": "x", "function": "sum"}}});
		let err = run(Kind::Aggregate, sum, json!([{"x": 1}, {"x": "2"}]))
			.await
			.unwrap_err();
		assert_eq!(
			err,
			ComponentError::Fatal("aggregation 't': \"2\" is not a number".to_owned())
		);
		let max = json!({"aggregations": {"m": {"field": "x", "function": "max"}}});
		assert!(
			run(Kind::Aggregate, max, json!([{"x": 1}, {"x": "2"}]))
				.await
				.is_err()
		);
	}

	#[tokio::test]
	async fn sort_is_stable_and_puts_missing_fields_last() {
		let data = json!([
			{"id": 1, "g": "b", "n": 2},
			{"id": 2, "n": 1},
			{"id": 3, "g": "a", "n": 3},
			{"id": 4, "g": "b", "n": 1},
			{"id": 5, "g": null}
		]);
		let ids = |out: Value| -> Vec<i64> {
			out.as_array()
				.unwrap()
				.iter()
				.map(|v| v["id"].as_i64().unwrap())
				.collect()
		};
		let asc = run(Kind::Sort, json!({"field": "g"}), data.clone())
			.await
			.unwrap();
		assert_eq!(ids(asc), [3, 1, 4, 2, 5]);
		let desc = run(
			Kind::Sort,
			json!({"field": "g", "order": "desc"}),
			data.clone(),
		)
		.await
		.unwrap();
		assert_eq!(ids(desc), [1, 4, 3, 2, 5]);
		let keys = json!({"keys": [{"field": "g"}, {"field": "n", "order": "desc"}]});
		let both = run(Kind::Sort, keys, data).await.unwrap();
		assert_eq!(ids(both), [3, 1, 4, 2, 5]);
	}

	#[tokio::test]
	async fn a_cancelled_attempt_stops_between_batches() {
		let plan = parse(Kind::Map, &obj(json!({"mapping": {"a": "b"}})), false).unwrap();
		let ctx = ctx();
		ctx.cancel.cancel();
		let data = json!([{"a": 1}, {"a": 2}, {"a": 3}]);
		let err = apply(&plan, data, 2, &ctx).await.unwrap_err();
		assert!(err.is_retryable());
	}
}
