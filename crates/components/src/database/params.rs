//! Bound parameters: the SQL a workflow writes (`$1`… with a list, `:name` with an object, or
//! `?` with a list on MySQL and SQLite) rewritten to the placeholders of the driver, and the
//! values in the order the driver binds them. Values are only ever bound, never spliced into the
//! text, so an expression's output cannot change the statement.
//!
//! The scanner skips what is not code: string literals (`'…'` with `''`, and backslash escapes on
//! MySQL), quoted identifiers (`"…"`, `` `…` ``), comments (`--`, `/* */`, `#` on MySQL), and
//! PostgreSQL's dollar-quoted strings (`$tag$…$tag$`) and casts (`x::int` is not a `:int`).

use serde_json::{Map, Value};

use super::DbError;
use super::target::Backend;

/// The parameters of a query as configured.
#[derive(Debug)]
pub(super) enum Params<'a> {
	/// None given.
	None,
	/// `parameters: [..]`: `$1`… (or `?`).
	List(&'a [Value]),
	/// `parameters: {..}`: `:name`.
	Named(&'a Map<String, Value>),
}

/// The statement for the driver and its values in binding order.
#[derive(Debug, PartialEq)]
pub(super) struct Bound<'a> {
	pub(super) sql: String,
	pub(super) values: Vec<&'a Value>,
}

/// A placeholder found in the SQL.
enum Mark<'s> {
	Dollar(usize),
	Question,
	Name(&'s str),
}

fn err(message: impl Into<String>) -> DbError {
	DbError::Config(format!("parameters: {}", message.into()))
}

/// Rewrites `sql` for `backend` and orders the values of `params` for it.
pub(super) fn bind<'a>(
	sql: &str,
	params: &Params<'a>,
	backend: Backend,
) -> Result<Bound<'a>, DbError> {
	let mut out = String::with_capacity(sql.len());
	let mut values: Vec<&'a Value> = Vec::new();
	// PostgreSQL numbers each distinct name once, so `:a … :a` binds one value.
	let mut numbered: Vec<&str> = Vec::new();
	let (mut dollars, mut questions, mut highest) = (false, 0usize, 0usize);
	let mut rest = sql;
	while let Some((before, mark, after)) = next_mark(rest, backend) {
		out.push_str(before);
		rest = after;
		match (mark, params) {
			(Mark::Name(name), Params::Named(map)) => {
				let value = map
					.get(name)
					.ok_or_else(|| err(format!("no value for :{name}")))?;
				if backend == Backend::Postgres {
					let n = match numbered.iter().position(|n| *n == name) {
						Some(i) => i + 1,
						None => {
							numbered.push(name);
							values.push(value);
							numbered.len()
						}
					};
					out.push_str(&format!("${n}"));
				} else {
					values.push(value);
					out.push('?');
				}
			}
			(Mark::Name(name), _) => {
				return Err(err(format!(
					"the query uses :{name}, so parameters must be an object"
				)));
			}
			(Mark::Dollar(n), Params::List(list)) => {
				dollars = true;
				let value = list.get(n.wrapping_sub(1)).ok_or_else(|| {
					err(format!("${n} has no value (the list has {})", list.len()))
				})?;
				highest = highest.max(n);
				if backend == Backend::Postgres {
					out.push_str(&format!("${n}"));
				} else {
					values.push(value);
					out.push('?');
				}
			}
			(Mark::Question, Params::List(list)) => {
				let value = list.get(questions).ok_or_else(|| {
					err(format!(
						"the query has more ? than the list has values ({})",
						list.len()
					))
				})?;
				questions += 1;
				values.push(value);
				out.push('?');
			}
			(Mark::Dollar(n), _) => {
				return Err(err(format!(
					"the query uses ${n}, so parameters must be a list"
				)));
			}
			(Mark::Question, _) => {
				return Err(err("the query uses ?, so parameters must be a list"));
			}
		}
	}
	out.push_str(rest);
	if let Params::List(list) = params {
		if dollars && questions > 0 {
			return Err(err("the query mixes $n and ? placeholders"));
		}
		let used = if dollars { highest } else { questions };
		if used != list.len() {
			return Err(err(format!(
				"the list has {} values but the query uses {used}",
				list.len()
			)));
		}
		if backend == Backend::Postgres {
			values = list.iter().collect();
		}
	}
	Ok(Bound { sql: out, values })
}

/// The text before the next placeholder, the placeholder, and the text after it.
fn next_mark(sql: &str, backend: Backend) -> Option<(&str, Mark<'_>, &str)> {
	let bytes = sql.as_bytes();
	let mysql = backend == Backend::MySql;
	let mut i = 0;
	while i < bytes.len() {
		let c = bytes[i];
		let next = bytes.get(i + 1).copied();
		match c {
			b'\'' => i = skip_quoted(bytes, i, b'\'', mysql),
			b'"' => i = skip_quoted(bytes, i, b'"', false),
			b'`' if mysql => i = skip_quoted(bytes, i, b'`', false),
			b'-' if next == Some(b'-') => i = skip_line(bytes, i),
			b'#' if mysql => i = skip_line(bytes, i),
			b'/' if next == Some(b'*') => {
				i = sql[i + 2..]
					.find("*/")
					.map_or(bytes.len(), |end| i + 2 + end + 2);
			}
			b':' if next == Some(b':') => i += 2,
			b':' if next.is_some_and(is_ident_start) => {
				let end = ident_end(bytes, i + 1);
				return Some((&sql[..i], Mark::Name(&sql[i + 1..end]), &sql[end..]));
			}
			b'$' if next.is_some_and(|d| d.is_ascii_digit()) => {
				let end = (i + 1..bytes.len())
					.find(|&j| !bytes[j].is_ascii_digit())
					.unwrap_or(bytes.len());
				let n = sql[i + 1..end].parse().unwrap_or(usize::MAX);
				return Some((&sql[..i], Mark::Dollar(n), &sql[end..]));
			}
			b'$' if backend == Backend::Postgres => i = skip_dollar_quoted(sql, i),
			// `?` is a JSONB operator on PostgreSQL, a placeholder elsewhere.
			b'?' if backend != Backend::Postgres => {
				return Some((&sql[..i], Mark::Question, &sql[i + 1..]));
			}
			_ => i += 1,
		}
	}
	None
}

fn is_ident_start(c: u8) -> bool {
	c.is_ascii_alphabetic() || c == b'_'
}

fn ident_end(bytes: &[u8], from: usize) -> usize {
	(from..bytes.len())
		.find(|&j| !(bytes[j].is_ascii_alphanumeric() || bytes[j] == b'_'))
		.unwrap_or(bytes.len())
}

/// The index after a literal opened by `quote` at `start` (a doubled quote stays inside).
fn skip_quoted(bytes: &[u8], start: usize, quote: u8, backslash: bool) -> usize {
	let mut i = start + 1;
	while i < bytes.len() {
		match bytes[i] {
			b'\\' if backslash => i += 2,
			c if c == quote => {
				if bytes.get(i + 1) == Some(&quote) {
					i += 2;
				} else {
					return i + 1;
				}
			}
			_ => i += 1,
		}
	}
	bytes.len()
}

fn skip_line(bytes: &[u8], start: usize) -> usize {
	(start..bytes.len())
		.find(|&j| bytes[j] == b'\n')
		.unwrap_or(bytes.len())
}

/// The index after `$tag$…$tag$` starting at `start`, or after the `$` when it opens none.
fn skip_dollar_quoted(sql: &str, start: usize) -> usize {
	let bytes = sql.as_bytes();
	let tag_end = (start + 1..bytes.len())
		.find(|&j| !(bytes[j].is_ascii_alphanumeric() || bytes[j] == b'_'))
		.unwrap_or(bytes.len());
	if bytes.get(tag_end) != Some(&b'$') {
		return start + 1;
	}
	let tag = &sql[start..=tag_end];
	let body = tag_end + 1;
	sql[body..]
		.find(tag)
		.map_or(bytes.len(), |end| body + end + tag.len())
}

#[cfg(test)]
mod tests {
	use serde_json::json;

	use super::*;

	fn sql(text: &str, params: &Value, backend: Backend) -> Result<(String, Vec<Value>), String> {
		let params = match params {
			Value::Array(list) => Params::List(list),
			Value::Object(map) => Params::Named(map),
			_ => Params::None,
		};
		bind(text, &params, backend)
			.map(|b| (b.sql, b.values.into_iter().cloned().collect()))
			.map_err(|e| e.to_string())
	}

	#[test]
	fn names_become_numbered_on_postgres_and_question_marks_elsewhere() {
		let q = "select * from t where a = :a and b = :b or a = :a";
		let p = json!({"a": 1, "b": "x"});
		assert_eq!(
			sql(q, &p, Backend::Postgres).unwrap(),
			(
				"select * from t where a = $1 and b = $2 or a = $1".to_owned(),
				vec![json!(1), json!("x")]
			)
		);
		assert_eq!(
			sql(q, &p, Backend::MySql).unwrap(),
			(
				"select * from t where a = ? and b = ? or a = ?".to_owned(),
				vec![json!(1), json!("x"), json!(1)]
			)
		);
	}

	#[test]
	fn names_inside_literals_comments_and_casts_are_left_alone() {
		let q =
			"select ':x', \":y\", $$ :z $$, $t$ :w $t$, a::int -- :c\n/* :d */ from t where b = :b";
		let (text, values) = sql(q, &json!({"b": 2}), Backend::Postgres).unwrap();
		assert_eq!(
			text,
			"select ':x', \":y\", $$ :z $$, $t$ :w $t$, a::int -- :c\n/* :d */ from t where b = $1"
		);
		assert_eq!(values, vec![json!(2)]);
		let q = "select 'it''s :x', 'a\\' :y', `:z` # :c\n from t where b = :b";
		let (text, _) = sql(q, &json!({"b": 2}), Backend::MySql).unwrap();
		assert!(
			text.ends_with("where b = ?") && text.contains("'it''s :x'"),
			"{text}"
		);
	}

	#[test]
	fn positional_dollars_are_reordered_for_question_mark_drivers() {
		let (text, values) = sql("select $2, $1", &json!(["a", "b"]), Backend::Sqlite).unwrap();
		assert_eq!(text, "select ?, ?");
		assert_eq!(values, vec![json!("b"), json!("a")]);
		let (text, values) = sql("select $2, $1", &json!(["a", "b"]), Backend::Postgres).unwrap();
		assert_eq!(text, "select $2, $1");
		assert_eq!(values, vec![json!("a"), json!("b")]);
		let (text, _) = sql("select ?, ?", &json!([1, 2]), Backend::MySql).unwrap();
		assert_eq!(text, "select ?, ?");
	}

	#[test]
	fn a_missing_or_surplus_value_and_the_wrong_shape_are_errors() {
		let cases = [
			("select :a", json!({}), Backend::Postgres, "no value for :a"),
			(
				"select $2",
				json!([1]),
				Backend::Postgres,
				"$2 has no value",
			),
			(
				"select $1",
				json!([1, 2]),
				Backend::Postgres,
				"has 2 values but the query uses 1",
			),
			("select :a", json!([1]), Backend::MySql, "must be an object"),
			(
				"select $1",
				json!({"a": 1}),
				Backend::MySql,
				"must be a list",
			),
			("select $1, ?", json!([1, 2]), Backend::Sqlite, "mixes"),
			(
				"select :a",
				Value::Null,
				Backend::Sqlite,
				"must be an object",
			),
		];
		for (q, p, backend, expected) in cases {
			let e = sql(q, &p, backend).unwrap_err();
			assert!(e.contains(expected), "{q}: {e}");
		}
	}

	#[test]
	fn a_jsonb_question_operator_on_postgres_is_not_a_placeholder() {
		let (text, values) = sql("select j ? 'k' from t", &Value::Null, Backend::Postgres).unwrap();
		assert_eq!(text, "select j ? 'k' from t");
		assert!(values.is_empty());
	}
}
