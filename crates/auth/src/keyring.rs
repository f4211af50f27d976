//! The Fernet keys that seal secrets at rest (Python `cryptography`'s Fernet format, so tokens
//! can be read by the seed's `DataEncryptionService`). `WORKFLOW_ENCRYPTION_KEY` holds one key
//! or several separated by commas: the first encrypts, all decrypt, which is how keys rotate
//! (put the new key first, run `apg-workflow keys reseal`, then drop the old one). Without it,
//! the embedded default generates a key in `<data_dir>/encryption.key` with mode 0600.

use std::path::Path;

use fernet::{Fernet, MultiFernet};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::error::AuthError;

/// The configured keys.
pub struct Keyring {
	all: MultiFernet,
	primary: Fernet,
	primary_text: String,
	count: usize,
}

impl std::fmt::Debug for Keyring {
	fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
		write!(f, "Keyring({} keys)", self.count)
	}
}

impl Keyring {
	/// Keys from a comma-separated list of url-safe base64 Fernet keys.
	pub fn from_keys(list: &str) -> Result<Self, AuthError> {
		let texts: Vec<&str> = list
			.split(',')
			.map(str::trim)
			.filter(|k| !k.is_empty())
			.collect();
		if texts.is_empty() {
			return Err(AuthError::Crypto(
				"WORKFLOW_ENCRYPTION_KEY holds no key".to_owned(),
			));
		}
		let mut fernets = Vec::with_capacity(texts.len());
		for (i, text) in texts.iter().enumerate() {
			fernets.push(Fernet::new(text).ok_or_else(|| {
				AuthError::Crypto(format!(
					"WORKFLOW_ENCRYPTION_KEY: key {} is not a Fernet key (32 bytes, url-safe \
					 base64; make one with `apg-workflow keys generate`)",
					i + 1
				))
			})?);
		}
		let primary = Fernet::new(texts[0]).ok_or_else(|| AuthError::Crypto("bad key".into()))?;
		Ok(Self {
			count: fernets.len(),
			all: MultiFernet::new(fernets),
			primary,
			primary_text: texts[0].to_owned(),
		})
	}

	/// The key in `dir/encryption.key`, created (mode 0600) when absent.
	pub fn from_data_dir(dir: &Path) -> Result<Self, AuthError> {
		let path = dir.join("encryption.key");
		let io = |e: std::io::Error| AuthError::Crypto(format!("{}: {e}", path.display()));
		if !path.exists() {
			std::fs::create_dir_all(dir).map_err(io)?;
			write_private(&path, &Fernet::generate_key()).map_err(io)?;
		}
		let text = std::fs::read_to_string(&path).map_err(io)?;
		Self::from_keys(text.trim())
	}

	/// A new random key, as text.
	pub fn generate_key() -> String {
		Fernet::generate_key()
	}

	/// How many keys decrypt.
	pub fn len(&self) -> usize {
		self.count
	}

	/// Never: a keyring has at least one key.
	pub fn is_empty(&self) -> bool {
		false
	}

	/// A Fernet token of `plain`, with the primary key.
	pub fn encrypt(&self, plain: &str) -> String {
		self.primary.encrypt(plain.as_bytes())
	}

	/// The plain text of a token made with any of the keys.
	pub fn decrypt(&self, token: &str) -> Result<String, AuthError> {
		let bytes = self.all.decrypt(token).map_err(|_| {
			AuthError::Crypto(
				"cannot decrypt a stored secret: it was tampered with or sealed with a key that \
				 is not in WORKFLOW_ENCRYPTION_KEY"
					.to_owned(),
			)
		})?;
		String::from_utf8(bytes)
			.map_err(|_| AuthError::Crypto("a stored secret is not UTF-8 text".to_owned()))
	}

	/// Whether a token decrypts with the primary key (nothing to reseal).
	pub fn is_current(&self, token: &str) -> bool {
		self.primary.decrypt(token).is_ok()
	}

	/// The token-signing secret when none is configured: HMAC-SHA256 of a fixed label under the
	/// primary key, so every node of a cluster derives the same one and no key is built in.
	pub fn derived_signing_key(&self) -> Vec<u8> {
		let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(self.primary_text.as_bytes())
			.expect("HMAC takes any key length");
		mac.update(b"apg-workflow token signing v1");
		mac.finalize().into_bytes().to_vec()
	}
}

#[cfg(unix)]
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
	use std::io::Write;
	use std::os::unix::fs::OpenOptionsExt;
	let mut f = std::fs::OpenOptions::new()
		.write(true)
		.create_new(true)
		.mode(0o600)
		.open(path)?;
	f.write_all(text.as_bytes())?;
	f.sync_all()
}

#[cfg(not(unix))]
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
	std::fs::write(path, text)
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn rotation_decrypts_old_tokens_and_wrong_keys_fail_clearly() {
		let old = Keyring::generate_key();
		let new = Keyring::generate_key();
		let before = Keyring::from_keys(&old).unwrap();
		let token = before.encrypt("s3cret");
		let rotated = Keyring::from_keys(&format!("{new},{old}")).unwrap();
		assert_eq!(rotated.decrypt(&token).unwrap(), "s3cret");
		assert!(!rotated.is_current(&token));
		assert!(rotated.is_current(&rotated.encrypt("x")));
		let wrong = Keyring::from_keys(&new).unwrap();
		assert!(matches!(wrong.decrypt(&token), Err(AuthError::Crypto(_))));
		let mut tampered = token.clone().into_bytes();
		tampered[20] = if tampered[20] == b'A' { b'B' } else { b'A' };
		let tampered = String::from_utf8(tampered).unwrap();
		assert!(matches!(
			before.decrypt(&tampered),
			Err(AuthError::Crypto(_))
		));
		assert!(Keyring::from_keys("not a key").is_err());
	}

	#[test]
	fn the_generated_key_file_is_private() {
		let dir = tempfile::tempdir().unwrap();
		let a = Keyring::from_data_dir(dir.path()).unwrap();
		let b = Keyring::from_data_dir(dir.path()).unwrap();
		assert_eq!(b.decrypt(&a.encrypt("x")).unwrap(), "x");
		#[cfg(unix)]
		{
			use std::os::unix::fs::PermissionsExt;
			let mode = std::fs::metadata(dir.path().join("encryption.key"))
				.unwrap()
				.permissions()
				.mode();
			assert_eq!(mode & 0o777, 0o600);
		}
	}
}
