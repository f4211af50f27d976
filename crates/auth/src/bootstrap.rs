//! The first start: with no user at all, create `admin` with a random password that the caller
//! prints once (or with `APG_ADMIN_PASSWORD`, for automated set-ups). There is no default
//! password.

use apg_core::{AuthStore, Role};

use crate::error::AuthError;
use crate::password::generate_password;
use crate::users::{NewUser, new_user};

/// Creates the first admin when there are no users. Returns the password when one was
/// generated (to print once); `None` when users exist, another node won the race, or the
/// password was given.
pub async fn ensure_admin(
	accounts: &dyn AuthStore,
	password: Option<&str>,
) -> Result<Option<String>, AuthError> {
	if accounts.count_users().await? > 0 {
		return Ok(None);
	}
	let generated = password.is_none().then(generate_password);
	let chosen = password.map(str::to_owned).or_else(|| generated.clone());
	let user = new_user(NewUser {
		username: "admin".to_owned(),
		password: chosen.unwrap_or_default(),
		role: Role::Admin,
	})?;
	match accounts.create_user(&user).await {
		Ok(()) => Ok(generated),
		Err(apg_core::store::StoreError::Conflict(_)) => Ok(None),
		Err(e) => Err(e.into()),
	}
}
