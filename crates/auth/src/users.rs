//! Rules for usernames and passwords, and making a [`User`] from what an admin or the CLI gives.

use apg_core::{Role, User, UserId, now_millis};

use crate::error::AuthError;
use crate::password::hash_password;

/// What is needed to create a user.
#[derive(Clone, Debug)]
pub struct NewUser {
	/// Login name.
	pub username: String,
	/// Password in clear (hashed at once).
	pub password: String,
	/// Role.
	pub role: Role,
}

/// 3–64 characters of letters, digits, `.`, `_`, `-` and `@`.
pub fn check_username(name: &str) -> Result<(), AuthError> {
	let ok_len = (3..=64).contains(&name.chars().count());
	let ok_chars = name
		.chars()
		.all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@'));
	if ok_len && ok_chars {
		Ok(())
	} else {
		Err(AuthError::invalid(
			"username",
			"3–64 characters of letters, digits, '.', '_', '-' and '@'",
		))
	}
}

/// At least 8 characters and at most 1,024 (argon2 would hash more, slowly, for nothing).
pub fn check_password(password: &str) -> Result<(), AuthError> {
	let n = password.chars().count();
	if n < 8 {
		return Err(AuthError::invalid("password", "at least 8 characters"));
	}
	if password.len() > 1024 {
		return Err(AuthError::invalid("password", "at most 1,024 bytes"));
	}
	Ok(())
}

/// A checked, hashed user (not stored yet).
pub fn new_user(new: NewUser) -> Result<User, AuthError> {
	check_username(&new.username)?;
	check_password(&new.password)?;
	let now = now_millis();
	Ok(User {
		id: UserId::new(),
		username: new.username,
		password_hash: hash_password(&new.password),
		role: new.role,
		active: true,
		created_at: now,
		updated_at: now,
	})
}
