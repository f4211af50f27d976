//! Masks the plain values of secrets a component was given in whatever it returns (output,
//! logs, error text), so a component that prints a secret stores `***` instead.
//!
//! A secret rarely comes back only as itself: an `Authorization: Basic` header carries the
//! base64 of `user:password`, a query string carries it percent-encoded, a signature or a debug
//! dump carries it in hex, a JSON body with a quote in it carries it escaped. So each secret is
//! masked in every form it is commonly derived into:
//!
//! - clear, and JSON-escaped;
//! - base64, standard and URL-safe, with and without padding — and, because a secret is often
//!   encoded *inside* a longer string (`user:password`, a whole echoed request), the part of the
//!   encoding that the secret alone decides at each of the three byte alignments, so the secret
//!   is masked whatever surrounds it (the one or two characters at each edge, which mix in the
//!   neighbouring bytes, stay);
//! - hex, lower and upper case;
//! - percent-encoded in any mix: every form above also matches when some or all of its bytes are
//!   written `%XX` (either case) and its spaces `+`, which covers form, query, path and
//!   fully-escaped encodings without guessing which characters an encoder chose to escape.
//!
//! [`credential_pairs`] adds the `user:password` strings a config's credentials build, so the
//! basic-auth form is masked whole, user included. A text cut short with [`truncate`] ends in
//! [`CUT`]; the head of a secret the cut split in two is masked too, which no search for the
//! whole secret could find.

use std::borrow::Cow;

use serde_json::Value;

use crate::secrets::{MASK, is_sensitive_field};

/// Base64 fragments shorter than this are not masked: a few characters match unrelated base64
/// data by chance, while six (36 bits) practically never do. A secret's complete encodings are
/// masked whatever their length, as the secret itself is.
const MIN_FRAGMENT: usize = 6;

/// What a text cut short by [`truncate`] ends with.
pub const CUT: &str = "\u{2026}";

/// The head of a secret shorter than this is left before a [`CUT`]: one character says almost
/// nothing, and masking it would eat the last character of most cut texts.
const MIN_CUT_HEAD: usize = 2;

/// `text` cut to its first `max` characters followed by [`CUT`], or whole when it fits. Cut
/// text shown anywhere a secret could be should be cut with this, so [`Redactor::text`] knows
/// where a secret may have been split.
pub fn truncate(text: &str, max: usize) -> Cow<'_, str> {
	match text.char_indices().nth(max) {
		Some((i, _)) => Cow::Owned(format!("{}{CUT}", &text[..i])),
		None => Cow::Borrowed(text),
	}
}

const STANDARD: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const URL_SAFE: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// The plain values to mask, each in all its derived forms.
#[derive(Clone, Debug, Default)]
pub struct Redactor {
	/// Every form of every secret, longest first, so a form containing another is masked whole.
	needles: Vec<String>,
}

impl Redactor {
	/// Masks these values and their derived forms (empty ones are ignored: they would match
	/// everywhere).
	pub fn new(secrets: impl IntoIterator<Item = String>) -> Self {
		let mut needles: Vec<String> = secrets
			.into_iter()
			.filter(|s| !s.is_empty())
			.flat_map(|s| forms(&s))
			.filter(|n| !n.is_empty())
			.collect();
		needles.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
		needles.dedup();
		Self { needles }
	}

	/// Whether there is nothing to mask.
	pub fn is_empty(&self) -> bool {
		self.needles.is_empty()
	}

	/// `text` with every secret masked, in every form.
	pub fn text(&self, text: &str) -> String {
		self.mask(text).into_owned()
	}

	fn mask<'a>(&self, text: &'a str) -> Cow<'a, str> {
		let mut out = Cow::Borrowed(text);
		for n in &self.needles {
			if out.contains(n.as_str()) {
				out = Cow::Owned(out.replace(n.as_str(), MASK));
			}
		}
		// Percent-encoded forms can only hide where there is a `%` or a `+`.
		if out.contains(['%', '+']) {
			for n in &self.needles {
				if let Some(masked) = mask_encoded(&out, n.as_bytes()) {
					out = Cow::Owned(masked);
				}
			}
		}
		if out.contains(CUT)
			&& let Some(masked) = self.mask_cut_heads(&out)
		{
			out = Cow::Owned(masked);
		}
		out
	}

	/// `text` with the longest head of a secret's form that ends right before each [`CUT`]
	/// masked, or `None` when there is none.
	fn mask_cut_heads(&self, text: &str) -> Option<String> {
		let mut out = String::with_capacity(text.len());
		let mut changed = false;
		let mut pieces = text.split(CUT).peekable();
		while let Some(piece) = pieces.next() {
			let head = pieces.peek().and_then(|_| {
				self.needles
					.iter()
					.filter_map(|n| {
						(MIN_CUT_HEAD..n.len())
							.rev()
							.filter(|k| n.is_char_boundary(*k))
							.find(|k| piece.ends_with(&n[..*k]))
					})
					.max()
			});
			match head {
				Some(k) => {
					out.push_str(&piece[..piece.len() - k]);
					out.push_str(MASK);
					changed = true;
				}
				None => out.push_str(piece),
			}
			if pieces.peek().is_some() {
				out.push_str(CUT);
			}
		}
		changed.then_some(out)
	}

	/// Masks every string (and object key) in `value`.
	pub fn value(&self, value: &mut Value) {
		if self.is_empty() {
			return;
		}
		match value {
			Value::String(s) => {
				if let Cow::Owned(masked) = self.mask(s) {
					*s = masked;
				}
			}
			Value::Array(items) => items.iter_mut().for_each(|v| self.value(v)),
			Value::Object(map) => {
				let old = std::mem::take(map);
				for (k, mut v) in old {
					self.value(&mut v);
					map.insert(self.text(&k), v);
				}
			}
			_ => {}
		}
	}
}

/// The `user:password` strings the credentials in `config` build, for each object that holds a
/// user field (`username`, `user`, `login`, `client_id`, `account`) next to a sensitive one
/// (`password`, `secret`, …) where either holds a `revealed` value: what HTTP basic auth (and
/// any other `user:password` scheme) encodes, so its base64 is masked whole.
pub fn credential_pairs(config: &Value, revealed: &[String]) -> Vec<String> {
	const USER_FIELDS: &[&str] = &["username", "user", "login", "clientid", "account"];
	let holds_secret = |s: &str| {
		revealed
			.iter()
			.any(|r| !r.is_empty() && s.contains(r.as_str()))
	};
	let mut pairs = Vec::new();
	let mut stack = vec![config];
	while let Some(v) = stack.pop() {
		match v {
			Value::Object(map) => {
				let users = map.iter().filter_map(|(k, v)| {
					let key: String = k
						.chars()
						.filter(|c| *c != '-' && *c != '_')
						.map(|c| c.to_ascii_lowercase())
						.collect();
					USER_FIELDS
						.contains(&key.as_str())
						.then_some(v.as_str())
						.flatten()
				});
				for user in users {
					let passwords = map
						.iter()
						.filter(|(k, _)| is_sensitive_field(k))
						.filter_map(|(_, v)| v.as_str());
					for password in passwords {
						if holds_secret(user) || holds_secret(password) {
							pairs.push(format!("{user}:{password}"));
						}
					}
				}
				stack.extend(map.values());
			}
			Value::Array(items) => stack.extend(items),
			_ => {}
		}
	}
	pairs
}

/// Every form `secret` is masked in, except the percent-encoded ones (matched while masking).
fn forms(secret: &str) -> Vec<String> {
	let bytes = secret.as_bytes();
	let mut out = vec![secret.to_owned()];
	// Quotes, backslashes and control characters are escaped when a component hands back JSON
	// as text.
	if let Ok(json) = serde_json::to_string(secret) {
		let escaped = &json[1..json.len() - 1];
		if escaped != secret {
			out.push(escaped.to_owned());
		}
	}
	for alphabet in [STANDARD, URL_SAFE] {
		let whole = base64(bytes, alphabet);
		out.push(padded(&whole));
		out.push(whole);
		// The same bytes after 0, 1 or 2 others: only the characters made of the secret's bits
		// alone, which are the same whatever comes before and after.
		for lead in 0..3 {
			let mut shifted = vec![0u8; lead];
			shifted.extend_from_slice(bytes);
			let encoded = base64(&shifted, alphabet);
			let start = (8 * lead).div_ceil(6);
			let end = 8 * (lead + bytes.len()) / 6;
			if end >= start + MIN_FRAGMENT
				&& let Some(fragment) = encoded.get(start..end)
			{
				out.push(fragment.to_owned());
			}
		}
	}
	let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
	out.push(hex.to_ascii_uppercase());
	out.push(hex);
	out
}

/// Unpadded base64 of `bytes` in `alphabet`.
fn base64(bytes: &[u8], alphabet: &[u8; 64]) -> String {
	let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
	for chunk in bytes.chunks(3) {
		let b = [
			chunk[0],
			chunk.get(1).copied().unwrap_or(0),
			chunk.get(2).copied().unwrap_or(0),
		];
		let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
		for i in 0..=chunk.len() {
			out.push(char::from(alphabet[((n >> (18 - 6 * i)) & 63) as usize]));
		}
	}
	out
}

fn padded(unpadded: &str) -> String {
	let mut out = unpadded.to_owned();
	while !out.len().is_multiple_of(4) {
		out.push('=');
	}
	out
}

/// The byte `%XX` at `at` in `hay` encodes, if it is one.
fn decoded_at(hay: &[u8], at: usize) -> Option<u8> {
	if hay.get(at) != Some(&b'%') {
		return None;
	}
	let hex = hay.get(at + 1..at + 3)?;
	// Checked digit by digit: `from_str_radix` alone would also take a sign (`%+5`).
	if !hex.iter().all(u8::is_ascii_hexdigit) {
		return None;
	}
	u8::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok()
}

/// The end of a match of `needle` at `at` in `hay`, each of its bytes written as itself, as
/// `%XX`, or (a space) as `+`.
fn encoded_match(hay: &[u8], at: usize, needle: &[u8]) -> Option<usize> {
	// Only a literal `%` in the needle can match two ways (`%` or `%25`); the alternatives are
	// tried in turn, each state once, so a crafted text cannot make this exponential. Nothing
	// is allocated until a second way exists: this runs at every `%` of a large body.
	let mut alternatives = Vec::new();
	let mut seen = std::collections::HashSet::new();
	let mut next = Some((0, at));
	while let Some((mut i, mut p)) = next.take().or_else(|| alternatives.pop()) {
		loop {
			let Some(&b) = needle.get(i) else {
				return Some(p);
			};
			let encoded = decoded_at(hay, p) == Some(b);
			let literal = hay.get(p) == Some(&b) || (b == b' ' && hay.get(p) == Some(&b'+'));
			match (encoded, literal) {
				(true, true) => {
					if seen.insert((i + 1, p + 1)) {
						alternatives.push((i + 1, p + 1));
					}
					p += 3;
				}
				(true, false) => p += 3,
				(false, true) => p += 1,
				(false, false) => break,
			}
			i += 1;
		}
	}
	None
}

/// `text` with every percent-encoded occurrence of `needle` masked, or `None` when it has none.
fn mask_encoded(text: &str, needle: &[u8]) -> Option<String> {
	let first = *needle.first()?;
	let hay = text.as_bytes();
	let mut out = String::new();
	let mut copied = 0;
	let mut p = 0;
	while p < hay.len() {
		let c = hay[p];
		let candidate = c == first || c == b'%' || (c == b'+' && first == b' ');
		if candidate
			&& let Some(end) = encoded_match(hay, p, needle)
			// A match starts and ends on character boundaries in valid UTF-8 (it is made of
			// whole encoded characters); checked anyway rather than assumed.
			&& text.is_char_boundary(p)
			&& text.is_char_boundary(end)
		{
			out.push_str(&text[copied..p]);
			out.push_str(MASK);
			copied = end;
			p = end;
		} else {
			p += 1;
		}
	}
	(copied > 0).then(|| {
		out.push_str(&text[copied..]);
		out
	})
}

#[cfg(test)]
mod tests {
	use serde_json::json;

	use super::*;

	/// Percent-encodes every byte of `s` but the unreserved ones, as `encodeURIComponent` does
	/// (with lower-case hex digits when `lower`).
	fn uri_component(s: &str, lower: bool) -> String {
		s.bytes()
			.map(|b| {
				if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
					char::from(b).to_string()
				} else if lower {
					format!("%{b:02x}")
				} else {
					format!("%{b:02X}")
				}
			})
			.collect()
	}

	#[test]
	fn masks_everywhere() {
		let r = Redactor::new(["hunter22".to_owned(), String::new()]);
		let mut v = json!({"a": "pw=hunter22!", "hunter22": [1, "hunter22"]});
		r.value(&mut v);
		assert_eq!(v, json!({"a": "pw=***!", "***": [1, "***"]}));
		assert_eq!(r.text("nothing"), "nothing");
	}

	#[test]
	fn base64_matches_the_reference_encoding() {
		// RFC 4648 §10.
		for (plain, encoded) in [
			("", ""),
			("f", "Zg"),
			("fo", "Zm8"),
			("foo", "Zm9v"),
			("foob", "Zm9vYg"),
			("fooba", "Zm9vYmE"),
			("foobar", "Zm9vYmFy"),
		] {
			assert_eq!(base64(plain.as_bytes(), STANDARD), encoded);
		}
		assert_eq!(padded("Zm9vYg"), "Zm9vYg==");
		assert_eq!(base64(&[0xfb, 0xff], STANDARD), "+/8");
		assert_eq!(base64(&[0xfb, 0xff], URL_SAFE), "-_8");
	}

	#[test]
	fn every_derived_form_of_a_secret_is_masked() {
		// Bytes every encoding treats differently: `+`, `/`, `=` in base64, a space, a quote, a
		// percent sign and a non-ASCII letter.
		let secret = "s3cr\u{e9}t p\"w%d+/?~>>>";
		let r = Redactor::new([secret.to_owned()]);
		let b = secret.as_bytes();
		let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
		let encoded = [
			secret.to_owned(),
			serde_json::to_string(secret)
				.unwrap()
				.trim_matches('"')
				.to_owned(),
			padded(&base64(b, STANDARD)),
			base64(b, STANDARD),
			padded(&base64(b, URL_SAFE)),
			base64(b, URL_SAFE),
			hex.clone(),
			hex.to_ascii_uppercase(),
			uri_component(secret, false),
			uri_component(secret, true),
			uri_component(secret, false).replace("%20", "+"),
			b.iter().map(|x| format!("%{x:02x}")).collect(),
			// Some bytes escaped, others not, as a path encoder would.
			secret.replace(' ', "%20").replace('"', "%22"),
			// The base64 form inside a query string.
			uri_component(&padded(&base64(b, STANDARD)), false),
		];
		for form in encoded {
			let text = format!("before {form} after");
			let masked = r.text(&text);
			assert_eq!(masked, "before *** after", "{form}");
		}
	}

	#[test]
	fn a_secret_encoded_inside_a_longer_string_is_masked_at_every_alignment() {
		let secret = "correct-horse-battery";
		let r = Redactor::new([secret.to_owned()]);
		for prefix in ["", "a", "ab", "abc", "alice:", "Authorization: Basic x"] {
			for suffix in ["", "!", "!!", "!!!"] {
				let whole = format!("{prefix}{secret}{suffix}");
				for alphabet in [STANDARD, URL_SAFE] {
					let encoded = padded(&base64(whole.as_bytes(), alphabet));
					let masked = r.text(&encoded);
					assert!(masked.contains(MASK), "{whole}: {masked}");
					// What is left is at most two characters on each side of the mask, plus the
					// encoding of the prefix and suffix: not enough to carry the secret.
					let left: usize = masked.split(MASK).map(str::len).sum();
					let around = (prefix.len() + suffix.len()).div_ceil(3) * 4 + 4 + 2;
					assert!(left <= around, "{whole}: {masked}");
				}
			}
		}
	}

	#[test]
	fn basic_auth_pairs_are_masked_whole() {
		let config = json!({"url": "http://x", "auth": {"username": "alice", "password": "pw-123456"},
			"other": {"user": "bob", "note": "not a secret"}});
		let revealed = vec!["pw-123456".to_owned()];
		let pairs = credential_pairs(&config, &revealed);
		assert_eq!(pairs, ["alice:pw-123456"]);
		let r = Redactor::new(revealed.into_iter().chain(pairs));
		let header = format!("Basic {}", padded(&base64(b"alice:pw-123456", STANDARD)));
		assert_eq!(r.text(&header), "Basic ***");
		assert_eq!(r.text("alice:pw-123456"), "***");
		// A pair whose parts are plain config is nothing secret.
		assert!(credential_pairs(&config, &["nothing".to_owned()]).is_empty());
	}

	#[test]
	fn short_fragments_and_unrelated_text_are_left_alone() {
		let r = Redactor::new(["abcd".to_owned()]);
		// "YWJjZA" is the whole form; the three-character "YWJ" starts it but is not masked.
		assert_eq!(r.text("YWJjZA== YWJ %61%62 a+b"), "*** YWJ %61%62 a+b");
		assert_eq!(r.text("%61%62%63%64 %2561bcd"), "*** %2561bcd");
		let none = Redactor::new([String::new()]);
		assert!(none.is_empty());
	}

	#[test]
	fn a_secret_cut_in_two_by_truncate_is_masked() {
		let secret = "tail-of-a-long-token";
		let r = Redactor::new([secret.to_owned()]);
		for keep in [2, 5, secret.len() - 1] {
			let text = format!("x{}", &secret[..keep]);
			let whole = format!("{text}{}", &secret[keep..]);
			let cut = truncate(&whole, text.len());
			assert!(cut.ends_with(CUT), "{cut}");
			assert_eq!(r.text(&cut), format!("x***{CUT}"), "{keep}");
			// The cut text wrapped in something longer.
			assert_eq!(
				r.text(&format!("failed: {cut} (attempt 2)")),
				format!("failed: x***{CUT} (attempt 2)")
			);
		}
		assert_eq!(truncate("short", 10), "short");
		// One character is left, and an ellipsis after nothing secret changes nothing.
		assert_eq!(r.text(&format!("xt{CUT}")), format!("xt{CUT}"));
		assert_eq!(
			r.text(&format!("and so on{CUT}")),
			format!("and so on{CUT}")
		);
	}

	#[test]
	fn a_literal_percent_in_a_secret_matches_both_ways() {
		let r = Redactor::new(["50%25off".to_owned()]);
		for form in ["50%25off", "50%2525off", "50%25%6Fff", "%35%30%25%32%35off"] {
			assert_eq!(r.text(form), "***", "{form}");
		}
	}
}
