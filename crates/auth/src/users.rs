//! Rules for usernames and passwords, making a [`User`] from what an admin or the CLI gives, and
//! changing one: the same rules whether the change comes from `/users` or from a workflow's
//! `apg_user_management`.

use apg_core::{Principal, Role, User, UserId, now_millis};

use crate::error::AuthError;
use crate::password::{hash_password, off_thread};

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

/// Refuses that `by` grant `role` unless `by` holds every permission the role has, so nobody
/// makes an account more powerful than their own.
pub fn check_grant(by: &Principal, role: Role) -> Result<(), AuthError> {
	if role.permissions().iter().all(|p| by.can(*p)) {
		Ok(())
	} else {
		Err(AuthError::Forbidden(format!(
			"the {} role cannot grant the {role} role: it has permissions the {} role lacks",
			by.role, by.role
		)))
	}
}

/// A change to a user; `None` keeps the current value.
#[derive(Clone, Debug, Default)]
pub struct UserChange {
	/// A new role.
	pub role: Option<Role>,
	/// Enable or disable.
	pub active: Option<bool>,
	/// A new password in clear (checked, then hashed).
	pub password: Option<String>,
}

/// Applies `change`, made by `by`, to `user`; returns false when nothing changes (then the
/// caller stores nothing, so the user's tokens, which carry the account's version, stay
/// valid). Nobody demotes or disables themselves, so the last admin cannot lock everyone out
/// by mistake, and a role is granted only by someone who holds all it allows.
pub async fn apply_change(
	by: &Principal,
	user: &mut User,
	change: UserChange,
) -> Result<bool, AuthError> {
	if user.id == by.user_id
		&& (change.role.is_some_and(|r| r != by.role) || change.active == Some(false))
	{
		return Err(AuthError::Conflict(
			"you cannot demote or disable yourself: ask another admin".to_owned(),
		));
	}
	if let Some(role) = change.role {
		check_grant(by, role)?;
	}
	if let Some(p) = change.password.as_ref() {
		check_password(p)?;
	}
	let before = (user.role, user.active);
	user.role = change.role.unwrap_or(user.role);
	user.active = change.active.unwrap_or(user.active);
	let Some(password) = change.password else {
		if before == (user.role, user.active) {
			return Ok(false);
		}
		user.updated_at = now_millis();
		return Ok(true);
	};
	user.password_hash = off_thread(move || hash_password(&password)).await;
	user.updated_at = now_millis();
	Ok(true)
}

#[cfg(test)]
mod change_tests {
	use super::*;

	fn user(role: Role) -> User {
		new_user(NewUser {
			username: format!("u-{role}"),
			password: "long enough".to_owned(),
			role,
		})
		.unwrap()
	}

	fn principal(u: &User) -> Principal {
		Principal {
			user_id: u.id,
			username: u.username.clone(),
			role: u.role,
		}
	}

	#[tokio::test]
	async fn the_rules_of_a_change_hold_for_every_caller() {
		let admin = user(Role::Admin);
		let by = principal(&admin);
		let mut other = user(Role::Viewer);
		// Nothing to change: nothing is written, tokens stay valid.
		let same = UserChange {
			role: Some(Role::Viewer),
			..UserChange::default()
		};
		assert!(!apply_change(&by, &mut other, same).await.unwrap());
		let promote = UserChange {
			role: Some(Role::Editor),
			password: Some("another long one".to_owned()),
			..UserChange::default()
		};
		let hash = other.password_hash.clone();
		assert!(apply_change(&by, &mut other, promote).await.unwrap());
		assert_eq!(other.role, Role::Editor);
		assert_ne!(other.password_hash, hash);
		let short = UserChange {
			password: Some("short".to_owned()),
			..UserChange::default()
		};
		assert!(matches!(
			apply_change(&by, &mut other, short).await,
			Err(AuthError::Invalid { .. })
		));
		let mut me = admin.clone();
		let demote = UserChange {
			role: Some(Role::Viewer),
			..UserChange::default()
		};
		assert!(matches!(
			apply_change(&by, &mut me, demote).await,
			Err(AuthError::Conflict(_))
		));
		assert_eq!(me.role, Role::Admin, "a refused change changes nothing");
		// An editor (were it given user.update) could not make an admin.
		let editor = principal(&user(Role::Editor));
		assert!(check_grant(&editor, Role::Admin).is_err());
		assert!(check_grant(&editor, Role::Viewer).is_ok());
		assert!(check_grant(&by, Role::Admin).is_ok());
	}
}
