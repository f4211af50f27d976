//! The `{{ … }}` expression language: minijinja, configured so that an expression can reach
//! nothing but the context it is given.
//!
//! - No loader is installed, so `include`/`import`/`extends` cannot read files; minijinja has no
//!   access to the environment or the process; a fuel budget ([`FUEL`]) bounds both the time and
//!   the memory of one render; undefined names
//!   are errors (a typo fails loudly instead of rendering an empty string).
//! - Every text is bounded in size and shape ([`bounds`]) before minijinja compiles it, so no
//!   input can overflow a stack. Nothing can carry a value from one loop iteration to the next
//!   or recurse (no `namespace()`, no macros, no recursive loops): together with the fuel limit
//!   that keeps a render linear in its text instead of doubling a string at every step.
//! - A string that is exactly one `{{ expression }}` keeps the expression's JSON type
//!   (`"{{batch_size}}"` → `1000`); any other string containing a template renders to a string.
//! - The context (built by the engine) holds the parameters at the top level and under `params`,
//!   `steps.<id>.output`, `vars`, `execution` and `input`.

use std::collections::HashSet;
use std::sync::LazyLock;

use minijinja::{Environment, UndefinedBehavior};
use serde_json::{Map, Value};

use crate::error::{Error, Result};

mod bounds;

pub use bounds::{MAX_NESTING, MAX_OPERATORS, MAX_TEMPLATE_BYTES};

/// The budget of one render, in minijinja's fuel: one per instruction and about one per 64 bytes
/// of data the render creates or processes (its output, strings and lists built by operators and
/// filters; a value whose size is known in advance, `"x" * n`, is not even built when the fuel
/// cannot pay for it). 500,000 is half a million instructions or about 32 MB, enough to pass a
/// stored output at its default cap (4 MiB) through a few filters, and small enough that a
/// render doubling a string stops long before the process grows.
pub const FUEL: u64 = 500_000;

/// Names every expression may use besides parameters: the context roots and minijinja's
/// built-in functions.
pub const CONTEXT_ROOTS: &[&str] = &[
	"params",
	"steps",
	"vars",
	"execution",
	"input",
	"secrets",
	"range",
	"dict",
	"debug",
	"loop",
];

static ENV: LazyLock<Environment<'static>> = LazyLock::new(|| {
	let mut env = Environment::new();
	env.set_undefined_behavior(UndefinedBehavior::Strict);
	env.set_fuel(Some(FUEL));
	env.set_recursion_limit(64);
	// `namespace()` is the one way to carry a value across loop iterations, and so to double a
	// string at each one; workflow expressions do without it.
	env.remove_global("namespace");
	// No auto-escaping: configs are data, not HTML.
	env.set_auto_escape_callback(|_| minijinja::AutoEscape::None);
	env
});

/// Whether `text` contains template syntax and must be rendered.
pub fn is_template(text: &str) -> bool {
	text.contains("{{") || text.contains("{%")
}

/// The inner expression when `text` is exactly one `{{ expression }}`.
pub fn whole_expression(text: &str) -> Option<&str> {
	let inner = text.trim().strip_prefix("{{")?.strip_suffix("}}")?;
	if inner.contains("{{") || inner.contains("}}") || inner.contains("{%") {
		return None;
	}
	Some(inner.trim())
}

/// Renders one string against `ctx`.
pub fn render_str(text: &str, ctx: &minijinja::Value) -> Result<Value> {
	if !is_template(text) {
		return Ok(Value::String(text.to_owned()));
	}
	if let Some(source) = whole_expression(text) {
		bounds::check(source, true).map_err(Error::Expression)?;
		let expression = ENV.compile_expression(source).map_err(describe)?;
		let value = expression.eval(ctx).map_err(describe)?;
		if value.is_undefined() {
			return Err(Error::Expression(format!("'{source}' is undefined")));
		}
		// Measured before it is built: a lazy value (a repeated list, a range) is only walked here.
		if !crate::size::json_fits(&value, (FUEL * 64) as usize) {
			return Err(describe(minijinja::Error::from(
				minijinja::ErrorKind::OutOfFuel,
			)));
		}
		return serde_json::to_value(&value).map_err(|e| Error::Expression(e.to_string()));
	}
	bounds::check(text, false).map_err(Error::Expression)?;
	ENV.render_str(text, ctx)
		.map(Value::String)
		.map_err(describe)
}

/// Renders every template string inside `value` (recursively) against `ctx`.
pub fn render_value(value: &Value, ctx: &minijinja::Value) -> Result<Value> {
	match value {
		Value::String(s) => render_str(s, ctx),
		Value::Array(items) => items
			.iter()
			.map(|v| render_value(v, ctx))
			.collect::<Result<_>>()
			.map(Value::Array),
		Value::Object(map) => {
			let mut out = Map::with_capacity(map.len());
			for (k, v) in map {
				out.insert(k.clone(), render_value(v, ctx)?);
			}
			Ok(Value::Object(out))
		}
		other => Ok(other.clone()),
	}
}

/// Whether any string inside `value` is a template.
pub fn contains_template(value: &Value) -> bool {
	match value {
		Value::String(s) => is_template(s),
		Value::Array(items) => items.iter().any(contains_template),
		Value::Object(map) => map.values().any(contains_template),
		_ => false,
	}
}

/// Evaluates a condition (`"{{ output.count > 3 }}"` or a bare `output.count > 3`) to a boolean,
/// with Jinja truthiness.
pub fn eval_condition(text: &str, ctx: &minijinja::Value) -> Result<bool> {
	let source = whole_expression(text).unwrap_or(text.trim());
	bounds::check(source, true).map_err(Error::Expression)?;
	let expression = ENV.compile_expression(source).map_err(describe)?;
	let value = expression.eval(ctx).map_err(describe)?;
	Ok(value.is_true())
}

/// Compiles a template string and returns the dotted names it reads (`steps.extract.output`,
/// `source_url`), or the syntax error.
pub fn references(text: &str) -> std::result::Result<HashSet<String>, String> {
	if let Some(source) = whole_expression(text) {
		bounds::check(source, true)?;
		let expression = ENV.compile_expression(source).map_err(|e| plain(&e))?;
		return Ok(expression.undeclared_variables(true));
	}
	bounds::check(text, false)?;
	let template = ENV.template_from_str(text).map_err(|e| plain(&e))?;
	Ok(template.undeclared_variables(true))
}

/// The first `{% include %}`, `import`, `from` or `extends` in `text`, if any. There is no
/// loader, so they could never work; validation rejects them so the mistake (or the probe for
/// files) is reported when the workflow is saved rather than when it runs.
pub fn loading_statement(text: &str) -> Option<&'static str> {
	static LOADING: LazyLock<regex::Regex> = LazyLock::new(|| {
		regex::Regex::new(r"\{%-?\s*(include|import|from|extends)\b").expect("static pattern")
	});
	LOADING
		.captures(text)
		.and_then(|c| match c.get(1).map(|m| m.as_str()) {
			Some("include") => Some("include"),
			Some("import") => Some("import"),
			Some("from") => Some("from"),
			Some("extends") => Some("extends"),
			_ => None,
		})
}

/// Builds a minijinja context from JSON.
pub fn context(value: &Value) -> minijinja::Value {
	minijinja::Value::from(minijinja::value::Serde(value))
}

fn plain(error: &minijinja::Error) -> String {
	match error.detail() {
		Some(detail) => format!("{}: {detail}", error.kind()),
		None => error.kind().to_string(),
	}
}

fn describe(error: minijinja::Error) -> Error {
	if error.kind() == minijinja::ErrorKind::OutOfFuel {
		return Error::Expression(format!(
			"the expression used up its fuel budget ({FUEL} instructions, or about {} MB of data); \
			 work on less data at a time",
			FUEL * 64 / 1_000_000
		));
	}
	Error::Expression(plain(&error))
}

#[cfg(test)]
mod tests {
	use serde_json::json;

	use super::*;

	fn ctx() -> minijinja::Value {
		context(
			&json!({"batch_size": 1000, "params": {"batch_size": 1000}, "name": "etl",
			"steps": {"a": {"output": {"items": [1, 2, 3]}}}}),
		)
	}

	#[test]
	fn a_whole_expression_keeps_its_type() {
		assert_eq!(render_str("{{batch_size}}", &ctx()).unwrap(), json!(1000));
		assert_eq!(
			render_str("{{ steps.a.output.items }}", &ctx()).unwrap(),
			json!([1, 2, 3])
		);
	}

	#[test]
	fn a_mixed_string_renders_to_text() {
		assert_eq!(
			render_str("/tmp/{{name}}.json", &ctx()).unwrap(),
			json!("/tmp/etl.json")
		);
	}

	#[test]
	fn an_undefined_name_is_an_error_not_an_empty_string() {
		assert!(render_str("{{ nope }}", &ctx()).is_err());
		assert!(render_str("x{{ nope }}", &ctx()).is_err());
	}

	#[test]
	fn templates_cannot_reach_files_or_loop_forever() {
		assert!(render_str("{% include '/etc/passwd' %}", &ctx()).is_err());
		assert!(
			render_str(
				"{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
				&ctx()
			)
			.is_err()
		);
	}

	#[test]
	fn references_list_dotted_names_and_syntax_errors() {
		let refs = references("{{ steps.a.output.x }} {{ source_url }}").unwrap();
		assert!(refs.contains("steps.a.output.x"), "{refs:?}");
		assert!(refs.contains("source_url"));
		assert!(references("{{ a + }}").is_err());
	}

	/// The longest chain of each operator the bounds let through, and the deepest nesting, compile
	/// and run on a thread with a tokio worker's 2 MiB stack.
	#[test]
	fn the_worst_case_within_the_bounds_fits_a_worker_stack() {
		let n = MAX_OPERATORS / 2 - 4;
		let chains = [
			format!("{{{{ {}1 }}}}", "- ".repeat(MAX_OPERATORS - 2)),
			format!("{{{{ 1{} }}}}", " + 1".repeat(MAX_OPERATORS - 2)),
			format!("{{{{ 1{} }}}}", " ~ 1".repeat(MAX_OPERATORS - 2)),
			format!("{{{{ 1{} }}}}", "|abs".repeat(MAX_OPERATORS - 2)),
			format!("{{{{ 1{} }}}}", " and 1".repeat(MAX_OPERATORS - 2)),
			format!("{{{{ 2{} }}}}", "**1".repeat(n)),
			format!("{{{{ [[1]]{} }}}}", "[0]".repeat(n / 2)),
			format!("{{{{ 1{} }}}}", " if 1 else 1".repeat(n)),
			format!(
				"{{{{ {}1{} }}}}",
				"(".repeat(MAX_NESTING),
				")".repeat(MAX_NESTING)
			),
			format!(
				"{{{{ {}1{} }}}}",
				"[".repeat(MAX_NESTING),
				"]".repeat(MAX_NESTING)
			),
			format!(
				"{}{{{{ 1{} }}}}{}",
				"{% if 1 %}".repeat(MAX_NESTING),
				" + 1".repeat(MAX_OPERATORS - 2),
				"{% endif %}".repeat(MAX_NESTING)
			),
		];
		std::thread::Builder::new()
			.stack_size(2 << 20)
			.spawn(move || {
				for text in &chains {
					bounds::check(text, false).unwrap();
					let _ = render_str(text, &ctx());
					let _ = references(text);
				}
			})
			.unwrap()
			.join()
			.unwrap();
	}

	#[test]
	fn chains_beyond_the_bounds_are_errors_not_crashes() {
		let chain = format!("{{{{ {}1 }}}}", "-".repeat(10_000));
		assert!(
			render_str(&chain, &ctx())
				.unwrap_err()
				.to_string()
				.contains("operators")
		);
		assert!(references(&chain).is_err());
		assert!(eval_condition(&"not ".repeat(10_000), &ctx()).is_err());
	}

	#[test]
	fn nothing_carries_a_value_across_loop_iterations() {
		let doubling = "{% set ns = namespace(s='x') %}{% for i in range(28) %}\
			{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s|length }}";
		assert!(render_str(doubling, &ctx()).is_err());
		assert!(
			render_str(
				"{% macro f(s) %}{{ f(s ~ s) }}{% endmacro %}{{ f('x') }}",
				&ctx()
			)
			.is_err()
		);
	}

	/// What a render may allocate is bounded by its fuel: each way of growing a value stops with
	/// the budget's error, and a large value passed through whole still renders.
	#[test]
	fn a_render_stops_at_its_memory_budget() {
		let big = "x".repeat(4 << 20);
		let ctx = context(&json!({"big": big, "s": "ab"}));
		for text in [
			"{{ 'x' * 100000000 }}",
			"{{ s * 99999999 ~ s * 99999999 }}",
			"{% for i in range(100000) %}{{ big }}{% endfor %}",
			"{% set a = big ~ big %}{% set b = a ~ a %}{% set c = b ~ b %}{% set d = c ~ c %}{{ d|length }}",
			"{% for i in range(100000) %}{% set t = big ~ big %}{% endfor %}",
			"{{ big|replace('x', 'xxxxxxxx') }}",
			"{{ big|list|length }}",
			"{% for i in range(90000) %}{{ [big, big]|join }}{% endfor %}",
		] {
			let error = render_str(text, &ctx).unwrap_err().to_string();
			assert!(
				error.contains("budget") || error.contains("too large"),
				"{text}: {error}"
			);
		}
		assert_eq!(
			render_str("{{ big }}", &ctx)
				.unwrap()
				.as_str()
				.map(str::len),
			Some(4 << 20)
		);
		assert_eq!(
			render_str("{{ big|length }}", &ctx).unwrap(),
			json!(4 << 20)
		);
	}

	/// Found by fuzzing: a repeated list is lazy, and what formats, compares or serializes it
	/// walked every item without fuel (7 GB for the first form). Each is now charged, at compile
	/// time too (folding), and so stops at the budget at once.
	#[test]
	fn a_repeated_list_is_charged_as_if_it_were_built() {
		for text in [
			"{{ (9999 * [1]) * 9999 }}",
			"{{ (9999 * [1]) * 9999 ~ 'x' }}",
			"{{ ((9999 * [1]) * 9999)|string|length }}",
			"x{{ (9999 * [1]) * 9999 }}",
			"{{ ((9999 * [1]) * 9999)|tojson|length }}",
			"{{ (9999 * [1]) * 9999 == (9999 * [1]) * 9999 }}",
			"{{ steps.a.output.items * 99999999 }}",
			"{{ 99999999 * [22] }}",
		] {
			let error = render_str(text, &ctx()).unwrap_err().to_string();
			assert!(
				error.contains("fuel budget") || error.contains("too large"),
				"{text}: {error}"
			);
			// Compiling folds constants; without the patch this walked the list too. It must
			// return (a hang is the failure); the fuzz corpus keeps the input that found it.
			let _ = references(text);
		}
	}

	#[test]
	fn a_lexer_panic_found_by_fuzzing_is_an_error() {
		assert!(references("u}}s itpt.ems{{ . | lenga.ot").is_err());
		assert!(render_str("u}}s itpt.ems{{ . | lenga.ot", &ctx()).is_err());
	}

	#[test]
	fn conditions_use_jinja_truthiness() {
		assert!(eval_condition("{{ batch_size > 10 }}", &ctx()).unwrap());
		assert!(!eval_condition("steps.a.output.items | length > 5", &ctx()).unwrap());
	}
}
