//! Password hashing with argon2id (the crate's defaults: 19 MiB, 2 passes) in PHC strings, so
//! parameters can be raised later without breaking stored hashes.
//!
//! Each hash takes about 30 ms of CPU and 19 MiB of memory, and a login needs one before the
//! caller is known, so [`off_thread`] runs them on blocking threads *at most one per core at a
//! time*: unbounded, 20 concurrent logins took a server from 47 MB to 439 MB resident (the
//! allocator keeps what it got), and a flood of logins under made-up usernames could exhaust
//! memory. Excess logins wait their turn instead.

use std::sync::{LazyLock, Mutex};

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{Output, ParamsString, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};

use rand::Rng;
use rand::distributions::Alphanumeric;
use tokio::sync::Semaphore;

static HASHING: LazyLock<Semaphore> =
	LazyLock::new(|| Semaphore::new(std::thread::available_parallelism().map_or(1, |n| n.get())));

/// Runs `work` (which hashes or verifies passwords) on a blocking thread once one of the
/// per-core hashing slots is free.
pub async fn off_thread<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> T {
	// The semaphore is never closed, so acquiring cannot fail.
	let _slot = HASHING.acquire().await.ok();
	match tokio::task::spawn_blocking(work).await {
		Ok(value) => value,
		Err(e) => std::panic::resume_unwind(e.into_panic()),
	}
}

/// Work memory of argon2, kept for reuse: at most one buffer per hashing slot is ever in use,
/// so memory stays at slots × 19 MiB however many logins come. (Allocating it per hash let the
/// allocator keep growing: 20 logins in a row took a server from 47 to 165 MB.)
static MEMORY: Mutex<Vec<Vec<Block>>> = Mutex::new(Vec::new());

/// Runs argon2 `argon` over `password` and `salt` into `out` with a pooled work buffer.
fn argon2_into(argon: &Argon2<'_>, password: &[u8], salt: &[u8], out: &mut [u8]) -> bool {
	let blocks = argon.params().block_count();
	let reused = MEMORY.lock().unwrap_or_else(|e| e.into_inner()).pop();
	let mut memory = reused
		.filter(|m| m.len() == blocks)
		.unwrap_or_else(|| vec![Block::default(); blocks]);
	let ok = argon
		.hash_password_into_with_memory(password, salt, out, &mut memory)
		.is_ok();
	MEMORY
		.lock()
		.unwrap_or_else(|e| e.into_inner())
		.push(memory);
	ok
}

/// The PHC string of `password` (argon2id with the crate's default parameters).
pub fn hash_password(password: &str) -> String {
	let argon = Argon2::default();
	let salt = SaltString::generate(&mut OsRng);
	let mut salt_bytes = [0u8; 64];
	let Ok(salt_raw) = salt.decode_b64(&mut salt_bytes) else {
		return String::new();
	};
	let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
	if !argon2_into(&argon, password.as_bytes(), salt_raw, &mut out) {
		return String::new();
	}
	let (Ok(params), Ok(hash)) = (ParamsString::try_from(argon.params()), Output::new(&out)) else {
		return String::new();
	};
	PasswordHash {
		algorithm: Algorithm::default().ident(),
		version: Some(Version::default().into()),
		params,
		salt: Some(salt.as_salt()),
		hash: Some(hash),
	}
	.to_string()
}

/// Whether `password` matches `hash` (compared in constant time); a malformed hash matches
/// nothing.
pub fn verify_password(hash: &str, password: &str) -> bool {
	let Ok(parsed) = PasswordHash::new(hash) else {
		return false;
	};
	let (Some(expected), Some(salt)) = (parsed.hash, parsed.salt) else {
		return false;
	};
	let Ok(algorithm) = Algorithm::try_from(parsed.algorithm) else {
		return false;
	};
	let version = match parsed.version.map(Version::try_from).transpose() {
		Ok(v) => v.unwrap_or_default(),
		Err(_) => return false,
	};
	let Ok(params) = Params::try_from(&parsed) else {
		return false;
	};
	let mut salt_bytes = [0u8; 64];
	let Ok(salt_raw) = salt.decode_b64(&mut salt_bytes) else {
		return false;
	};
	let mut out = vec![0u8; expected.len()];
	let argon = Argon2::new(algorithm, version, params);
	argon2_into(&argon, password.as_bytes(), salt_raw, &mut out)
		&& Output::new(&out).is_ok_and(|computed| computed == expected)
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
		// Hashes made by the crate's own hasher (and so by earlier versions of ours) verify.
		use argon2::password_hash::PasswordHasher;
		let salt = SaltString::generate(&mut OsRng);
		let theirs = Argon2::default()
			.hash_password(b"pw-123456", &salt)
			.unwrap()
			.to_string();
		assert!(verify_password(&theirs, "pw-123456"));
		assert!(!verify_password(&theirs, "pw-123457"));
		assert_ne!(generate_password(), generate_password());
	}
}
