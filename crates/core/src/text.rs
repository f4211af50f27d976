//! What a name, an id, a tag or a description may contain. A NUL or another control character
//! in a name breaks logs, terminals, CSV exports and some clients' string handling, and is never
//! what a person meant to type, so names, ids and tags refuse every control character and
//! descriptions every one but line breaks and tabs. Bidirectional overrides (U+202A–U+202E,
//! U+2066–U+2069) are refused too: they make a name display as something it is not.

/// Why `text` is not a valid one-line name, id or tag, if it is not.
pub fn check_name(text: &str) -> Result<(), &'static str> {
	if text.chars().any(|c| c.is_control() || is_bidi_override(c)) {
		return Err("must not contain control or bidirectional-override characters");
	}
	Ok(())
}

/// Why `text` is not a valid description, if it is not: line breaks and tabs are allowed.
pub fn check_description(text: &str) -> Result<(), &'static str> {
	let bad = |c: char| (c.is_control() && !matches!(c, '\n' | '\r' | '\t')) || is_bidi_override(c);
	if text.chars().any(bad) {
		return Err("must not contain control characters other than line breaks and tabs");
	}
	Ok(())
}

fn is_bidi_override(c: char) -> bool {
	matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn control_characters_are_refused_in_names_and_allowed_as_line_breaks_in_descriptions() {
		for bad in [
			"a\0b",
			"a\u{7}",
			"tab\there",
			"new\nline",
			"\u{1b}[31mred",
			"x\u{202E}gpj",
		] {
			assert!(check_name(bad).is_err(), "{bad:?}");
		}
		check_name("Données ✓ 数据").unwrap();
		check_description("two\nlines\tand a tab").unwrap();
		assert!(check_description("nul\0").is_err());
	}
}
