//! Bounds on an expression's size and shape, checked before minijinja sees the text.
//!
//! minijinja's parser guards parentheses, but its code generator (and the parser for prefix
//! chains) recurses once per operator of a chain: `- - - … 1`, `a + a + …`, `x|abs|abs…`,
//! `a.b.c…`, `a[0][0]…`, `a if b else a if b else …`. Ten thousand of them overflow the stack of
//! the thread that compiles them, which aborts the whole server. Counting operators and nesting
//! here, on the raw text, with no recursion, keeps every tree minijinja builds shallow enough for
//! the 2 MiB stack of a tokio worker (a test compiles the worst case of every kind on such a
//! thread, in a debug build).
//!
//! The count is deliberately coarse: every punctuation character and every operator keyword
//! inside a `{{ }}` or `{% %}` tag is one operator. `**` counts twice, which only makes the
//! bound stricter. Text outside tags is copied, never parsed, so only its length is bounded.

/// The longest template string accepted (bytes).
pub const MAX_TEMPLATE_BYTES: usize = 64 * 1024;

/// Operators (punctuation and operator keywords) in one `{{ }}` or `{% %}` tag.
pub const MAX_OPERATORS: usize = 256;

/// Brackets open at once inside a tag, and blocks (`if`, `for`…) open at once in a template.
pub const MAX_NESTING: usize = 32;

/// Keywords that build a node of the expression tree.
const OPERATOR_WORDS: &[&str] = &["and", "or", "not", "if", "else", "in", "is"];

/// Statements that open a block closed by an `end…` tag.
const BLOCK_WORDS: &[&str] = &[
	"for",
	"if",
	"with",
	"filter",
	"autoescape",
	"raw",
	"macro",
	"call",
];

/// Checks `text` (a template, or a bare expression when `bare`) against the bounds above.
/// The error names the bound that was passed, for the author of the workflow.
pub(crate) fn check(text: &str, bare: bool) -> Result<(), String> {
	if text.len() > MAX_TEMPLATE_BYTES {
		return Err(format!(
			"the expression is {} bytes long; at most {MAX_TEMPLATE_BYTES} are allowed",
			text.len()
		));
	}
	if bare {
		return check_tag(text).map(|_| ());
	}
	let mut blocks = 0usize;
	let mut rest = text;
	while let Some(start) = rest.find(['{']) {
		let after = &rest[start + 1..];
		let close = match after.as_bytes().first() {
			Some(b'{') => "}}",
			Some(b'%') => "%}",
			Some(b'#') => "#}",
			_ => {
				rest = after;
				continue;
			}
		};
		let body = &after[1..];
		let (inner, next) = match find_close(body, close) {
			Some(end) => (&body[..end], &body[end + close.len()..]),
			// An unclosed tag is minijinja's syntax error to report; bound what is there.
			None => (body, ""),
		};
		rest = next;
		if close == "#}" {
			continue;
		}
		let first = check_tag(inner)?;
		if close == "%}" {
			match first {
				Some(word) if word.starts_with("end") => blocks = blocks.saturating_sub(1),
				Some("set") if !inner.contains('=') => blocks += 1,
				Some(word) if BLOCK_WORDS.contains(&word) => blocks += 1,
				_ => {}
			}
			if blocks > MAX_NESTING {
				return Err(format!(
					"blocks are nested more than {MAX_NESTING} deep; simplify the template"
				));
			}
		}
	}
	Ok(())
}

/// The end of a tag: the first `close` outside a string literal.
fn find_close(body: &str, close: &str) -> Option<usize> {
	let bytes = body.as_bytes();
	let mut i = 0;
	let mut quote = None;
	while i < bytes.len() {
		let b = bytes[i];
		match quote {
			Some(_) if b == b'\\' => i += 1,
			Some(q) if b == q => quote = None,
			Some(_) => {}
			None if b == b'"' || b == b'\'' => quote = Some(b),
			// Bytes, not `str`: `i` may be inside a multi-byte character.
			None if bytes[i..].starts_with(close.as_bytes()) => return Some(i),
			None => {}
		}
		i += 1;
	}
	None
}

/// Bounds one tag's inside; returns its first word (the statement of a `{% %}` tag).
fn check_tag(inner: &str) -> Result<Option<&str>, String> {
	// One `-` or `+` at either end is whitespace control (`{{- x -}}`), not an operator.
	let inner = inner.strip_prefix(['-', '+']).unwrap_or(inner);
	let inner = inner.strip_suffix(['-', '+']).unwrap_or(inner).trim();
	let bytes = inner.as_bytes();
	let mut operators = 0usize;
	let mut depth = 0usize;
	let mut first = None;
	let mut i = 0;
	while i < bytes.len() {
		let b = bytes[i];
		if b == b'"' || b == b'\'' {
			i = skip_string(bytes, i);
			continue;
		}
		if b.is_ascii_alphabetic() || b == b'_' {
			let start = i;
			while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
				i += 1;
			}
			let word = &inner[start..i];
			if first.is_none() && start == 0 {
				first = Some(word);
			}
			if word == "recursive" {
				return Err("recursive loops are not allowed in workflow expressions".into());
			}
			if OPERATOR_WORDS.contains(&word) {
				operators += 1;
			}
		} else if b.is_ascii_punctuation() {
			operators += 1;
			match b {
				b'(' | b'[' | b'{' => depth += 1,
				b')' | b']' | b'}' => depth = depth.saturating_sub(1),
				_ => {}
			}
			if depth > MAX_NESTING {
				return Err(format!(
					"brackets are nested more than {MAX_NESTING} deep in one expression"
				));
			}
			i += 1;
		} else {
			i += 1;
		}
		if operators > MAX_OPERATORS {
			return Err(format!(
				"one expression has more than {MAX_OPERATORS} operators; split it into steps"
			));
		}
	}
	Ok(first)
}

/// The index after the string literal that starts at `start`.
fn skip_string(bytes: &[u8], start: usize) -> usize {
	let quote = bytes[start];
	let mut i = start + 1;
	while i < bytes.len() {
		match bytes[i] {
			b'\\' => i += 2,
			b if b == quote => return i + 1,
			_ => i += 1,
		}
	}
	bytes.len()
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn ordinary_templates_pass() {
		for text in [
			"{{ steps.a.output.items | length > 5 and params.x }}",
			"{% for r in rows %}{{ r.name }},{% endfor %}",
			"{% if a %}{{ '}}' ~ \"%}\" }}{% else %}b{% endif %}",
			"{# a comment with {{ and ((((( #}x",
		] {
			check(text, false).unwrap();
		}
	}

	#[test]
	fn long_chains_deep_brackets_and_deep_blocks_are_refused() {
		let chain = format!("{{{{ {}1 }}}}", "-".repeat(10_000));
		assert!(check(&chain, false).unwrap_err().contains("operators"));
		let brackets = format!("{{{{ {}1{} }}}}", "(".repeat(40), ")".repeat(40));
		assert!(check(&brackets, false).unwrap_err().contains("nested"));
		let blocks = "{% if a %}".repeat(40);
		assert!(check(&blocks, false).unwrap_err().contains("blocks"));
		assert!(check(&"x".repeat(MAX_TEMPLATE_BYTES + 1), false).is_err());
		assert!(check("{% for x in y recursive %}{% endfor %}", false).is_err());
		assert!(check(&"a and ".repeat(300), true).is_err());
	}

	/// Found by fuzzing: a tag holding multi-byte characters was sliced inside one.
	#[test]
	fn multi_byte_characters_inside_tags_are_fine() {
		check("{{{ stepsEE$EEEEEE-\0\0\0EEE\u{53a}EEE\0\0 + ", false).unwrap();
		check("{{ 'é' ~ \"ü\" }}{% if 'ß' %}ø{% endif %}", false).unwrap();
	}

	#[test]
	fn text_outside_tags_and_inside_strings_is_not_counted() {
		let text = format!("{} {{{{ '{}' }}}}", "+".repeat(10_000), "+".repeat(10_000));
		check(&text, false).unwrap();
	}
}
