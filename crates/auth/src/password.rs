//! Password hashing with argon2id (the crate's defaults: 19 MiB, 2 passes) in PHC strings, so
//! parameters can be raised later without breaking stored hashes.

use argon2::Argon2;
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use rand::Rng;
use rand::distributions::Alphanumeric;

/// The PHC string of `password`.
pub fn hash_password(password: &str) -> String {
	let salt = SaltString::generate(&mut OsRng);
	Argon2::default()
		.hash_password(password.as_bytes(), &salt)
		.map(|h| h.to_string())
		.unwrap_or_default()
}

/// Whether `password` matches `hash`; a malformed hash matches nothing.
pub fn verify_password(hash: &str, password: &str) -> bool {
	PasswordHash::new(hash).is_ok_and(|h| {
		Argon2::default()
			.verify_password(password.as_bytes(), &h)
			.is_ok()
	})
}

/// A random 24-character password (143 bits), for the first admin.
pub fn generate_password() -> String {
	rand::thread_rng()
		.sample_iter(&Alphanumeric)
		.take(24)
		.map(char::from)
		.collect()
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn hashes_verify_only_their_password() {
		let h = hash_password("correct horse");
		assert!(h.starts_with("$argon2id$"));
		assert!(verify_password(&h, "correct horse"));
		assert!(!verify_password(&h, "correct horsf"));
		assert!(!verify_password("garbage", "x"));
		assert_ne!(generate_password(), generate_password());
	}
}
