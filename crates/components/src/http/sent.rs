//! What `http_request` sent that it must never hand back: the values of the credential-bearing
//! headers of the request as built (`Authorization`, `Proxy-Authorization`, `Cookie`,
//! `X-API-Key`, anything reqwest marks sensitive or `is_sensitive_field` names), and what is
//! inside them (a bearer token, the `user:password` a basic header encodes, its password).
//!
//! Why here and not only in the engine: the engine masks the secrets it revealed, but the
//! component is the one that turned them into header values, so it alone knows every string it
//! built from them, whoever wrote them (the `auth` field, a literal header, `user:pass@` in the
//! URL). A peer that echoes the request (a debugging endpoint, a hostile server) would otherwise
//! hand those strings back into the output, and from there into checkpoints, logs and responses.

use apg_core::secrets::is_sensitive_field;
use reqwest::header::{COOKIE, HeaderMap};

/// Cookie values shorter than this are not masked on their own (the whole header still is): a
/// `lang=en` would otherwise mask every `en` in a response.
const MIN_COOKIE_VALUE: usize = 6;

/// Everything credential-bearing in `headers`, for a [`apg_core::Redactor`].
pub(super) fn credentials(headers: &HeaderMap) -> Vec<String> {
	let mut sent = Vec::new();
	for (name, value) in headers {
		let sensitive = value.is_sensitive() || is_sensitive_field(name.as_str()) || name == COOKIE;
		if !sensitive {
			continue;
		}
		let text = String::from_utf8_lossy(value.as_bytes()).into_owned();
		if name == COOKIE {
			sent.extend(
				text.split(';')
					.filter_map(|pair| pair.split_once('='))
					.map(|(_, v)| v.trim().to_owned())
					.filter(|v| v.len() >= MIN_COOKIE_VALUE),
			);
		} else if let Some((scheme, credentials)) = text.split_once(' ') {
			let credentials = credentials.trim();
			if scheme.eq_ignore_ascii_case("basic")
				&& let Some(pair) = decode_base64(credentials)
			{
				if let Some((_, password)) = pair.split_once(':') {
					sent.push(password.to_owned());
				}
				sent.push(pair);
			}
			sent.push(credentials.to_owned());
		}
		sent.push(text);
	}
	sent
}

/// Standard base64 (padding optional) as text, or `None` when it is not that.
fn decode_base64(text: &str) -> Option<String> {
	let mut bits: u32 = 0;
	let mut count = 0;
	let mut out = Vec::with_capacity(text.len() / 4 * 3);
	for c in text.trim_end_matches('=').bytes() {
		let v = match c {
			b'A'..=b'Z' => c - b'A',
			b'a'..=b'z' => c - b'a' + 26,
			b'0'..=b'9' => c - b'0' + 52,
			b'+' => 62,
			b'/' => 63,
			_ => return None,
		};
		bits = (bits << 6) | u32::from(v);
		count += 6;
		if count >= 8 {
			count -= 8;
			// Truncation keeps exactly the byte just completed.
			out.push((bits >> count) as u8);
		}
	}
	String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
	use reqwest::header::{AUTHORIZATION, HeaderValue};

	use apg_core::Redactor;

	use super::*;

	#[test]
	fn base64_decodes_what_basic_auth_encodes() {
		assert_eq!(decode_base64("YWxpY2U6cHc=").as_deref(), Some("alice:pw"));
		assert_eq!(decode_base64("YWxpY2U6cHc").as_deref(), Some("alice:pw"));
		assert_eq!(decode_base64("not base64!"), None);
	}

	#[test]
	fn credentials_inside_sent_headers_are_masked() {
		let mut headers = HeaderMap::new();
		headers.insert(
			AUTHORIZATION,
			HeaderValue::from_static("Basic YWxpY2U6b3Blbi1zZXNhbWU="),
		);
		headers.insert(
			COOKIE,
			HeaderValue::from_static("lang=en; sid=session-1234"),
		);
		headers.insert("x-api-key", HeaderValue::from_static("key-0987654321"));
		headers.insert("accept", HeaderValue::from_static("application/json"));
		let r = Redactor::new(credentials(&headers));
		let echo = "Basic YWxpY2U6b3Blbi1zZXNhbWU= alice:open-sesame open-sesame session-1234 \
			key-0987654321 lang=en application/json";
		assert_eq!(r.text(echo), "*** *** *** *** *** lang=en application/json");
	}
}
