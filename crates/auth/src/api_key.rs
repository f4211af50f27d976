//! API keys for machines: `apg_` and 43 characters of base64url randomness (256 bits). Only the
//! SHA-256 digest is stored; a key that high in entropy needs no slow hash, and a lookup by
//! digest is one indexed read per request.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use sha2::{Digest, Sha256};

/// What marks a bearer credential as an API key rather than a JWT.
pub const API_KEY_PREFIX: &str = "apg_";

/// A freshly made key: `key` is shown to the user once.
pub struct ApiKeyIssued {
	/// The whole key.
	pub key: String,
	/// Its first 12 characters, kept to recognise it.
	pub prefix: String,
	/// Its digest, kept to check it.
	pub hash: String,
}

/// Makes a new random key.
pub fn issue_api_key() -> ApiKeyIssued {
	let mut bytes = [0u8; 32];
	rand::rngs::OsRng.fill_bytes(&mut bytes);
	let key = format!("{API_KEY_PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes));
	ApiKeyIssued {
		prefix: key.chars().take(12).collect(),
		hash: hash_api_key(&key),
		key,
	}
}

/// 256 random bits as 43 characters of base64url: a secret that is not a key, such as a browser
/// session's CSRF token (safe in a cookie and a header as it is).
pub fn random_token() -> String {
	let mut bytes = [0u8; 32];
	rand::rngs::OsRng.fill_bytes(&mut bytes);
	URL_SAFE_NO_PAD.encode(bytes)
}

/// The lowercase hex SHA-256 of a key.
pub fn hash_api_key(key: &str) -> String {
	Sha256::digest(key.as_bytes())
		.iter()
		.map(|b| format!("{b:02x}"))
		.collect()
}
