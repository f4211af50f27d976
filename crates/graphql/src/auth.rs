//! Who is calling and what they may do: the caller's [`Principal`] (request or connection
//! data, set by [`crate::router`] from what the server's authentication middleware found) and
//! the [`Security`] bundle (schema data), through which every resolver asks the same
//! [`Guard`](apg_auth::Guard) as REST and writes the same audit log.

use apg_auth::{AuthError, Security};
use apg_core::Principal;
use async_graphql::Context;
use serde_json::Value;

use crate::error::{IntoGql, Result, auth_error};

/// The security bundle (schema data, always present).
pub(crate) fn security<'a>(ctx: &Context<'a>) -> &'a Security {
	ctx.data_unchecked::<Security>()
}

/// The authenticated caller as the account stands now; a `security` error when the request
/// carries none (the router always sets one) or the user was disabled or deleted since. A
/// WebSocket connection lives long: reloading per operation makes a disabled user or a changed
/// role take effect there too, as it does for every HTTP request.
pub(crate) async fn principal(ctx: &Context<'_>) -> Result<Principal> {
	let known = ctx.data_opt::<Principal>().ok_or_else(|| {
		auth_error(AuthError::Unauthenticated(
			"authentication required".to_owned(),
		))
	})?;
	security(ctx)
		.authn
		.current(known.user_id)
		.await
		.map_err(auth_error)
}

/// What a query answers for a guarded read: the resource, `None` when it does not exist or the
/// caller may not see it (the two are indistinguishable), or the error.
pub(crate) fn visible<T>(result: std::result::Result<T, AuthError>) -> Result<Option<T>> {
	match result {
		Ok(found) => Ok(Some(found)),
		Err(AuthError::NotFound(_)) => Ok(None),
		Err(e) => Err(e).gql(),
	}
}

/// Records a mutation by `caller` in the audit log (as REST's `AppState::audit`).
pub(crate) async fn audit(
	ctx: &Context<'_>,
	caller: &Principal,
	action: &str,
	resource: String,
	details: Value,
) {
	security(ctx)
		.audit
		.record(Some(caller), action, &resource, true, details)
		.await;
}
