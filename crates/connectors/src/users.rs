//! `apg_user_management`: create, update, delete, get, list and authenticate users of this
//! platform, with the permissions of the user who started the execution (`user.*`, admins
//! only by default), audited as the API's user routes are.
//!
//! The rules are the API's own (`apg_auth::apply_change`, `check_grant`): a role is granted
//! only by someone who holds every permission it has, nobody demotes or disables themselves
//! (nor, here, deletes the user who runs the workflow), and a new password passes the same
//! check. Passwords come from expressions (`{{secrets.…}}` or a parameter), are never in the
//! output, and `authenticate` answers only yes or no.

use apg_auth::{NewUser, UserChange, apply_change, check_grant, new_user, off_thread};
use apg_core::{
	Component, ComponentError, Outcome, Permission, Principal, Role, RunContext, User, UserId,
};
use async_trait::async_trait;
use serde_json::{Map, Value, json};

use crate::acting::{audit, platform, principal, require, required, text};
use crate::error::{fatal, refused, retryable};
use crate::platform::Platform;

const KIND: &str = "apg_user_management";

/// The component.
pub(crate) struct UserManagement {
	platform: Option<Platform>,
}

impl UserManagement {
	pub(crate) fn new(platform: Option<Platform>) -> Self {
		Self { platform }
	}
}

/// A user as the output shows it (never the hash).
fn view(u: &User) -> Value {
	json!({
		"id": u.id.to_string(),
		"username": u.username,
		"role": u.role.as_str(),
		"active": u.active,
		"created_at": u.created_at,
		"updated_at": u.updated_at,
	})
}

/// Keeps only `user_fields` of a user view, when the config lists them.
fn pick(config: &Value, user: Value) -> Value {
	let Some(fields) = config.get("user_fields").and_then(Value::as_array) else {
		return user;
	};
	let Value::Object(all) = user else {
		return user;
	};
	let keep: Map<String, Value> = all
		.into_iter()
		.filter(|(k, _)| fields.iter().any(|f| f.as_str() == Some(k)))
		.collect();
	Value::Object(keep)
}

fn role_of(config: &Value) -> Result<Option<Role>, ComponentError> {
	text(config, "role")
		.map(|r| r.parse().map_err(|e: String| fatal(format!("role: {e}"))))
		.transpose()
}

impl UserManagement {
	/// The user the config names by `user_id` or `username`.
	async fn target(&self, p: &Platform, config: &Value, op: &str) -> Result<User, ComponentError> {
		let found = if let Some(id) = text(config, "user_id") {
			let id: UserId = id
				.parse()
				.map_err(|_| fatal(format!("{op}: user_id '{id}' is not a user id")))?;
			p.security.accounts.get_user(id).await
		} else if let Some(name) = text(config, "username") {
			p.security.accounts.find_user(name).await
		} else {
			return Err(fatal(format!("{op} needs 'user_id' or 'username'")));
		};
		found
			.map_err(retryable)?
			.ok_or_else(|| fatal(format!("{op}: no such user")))
	}

	async fn create(
		&self,
		p: &Platform,
		who: &Principal,
		ctx: &RunContext,
		config: &Value,
	) -> Result<Value, ComponentError> {
		require(p, who, Permission::UserCreate, "create").await?;
		let role = role_of(config)?.unwrap_or(Role::Viewer);
		check_grant(who, role).map_err(|e| refused("create", e))?;
		let new = NewUser {
			username: required(config, "username", "create")?.to_owned(),
			password: required(config, "password", "create")?.to_owned(),
			role,
		};
		let user = off_thread(move || new_user(new))
			.await
			.map_err(|e| refused("create", e))?;
		p.security
			.accounts
			.create_user(&user)
			.await
			.map_err(|e| refused("create", e.into()))?;
		let details = json!({"username": user.username, "role": user.role.as_str()});
		audit(
			p,
			who,
			ctx,
			"user.create",
			&format!("user/{}", user.id),
			details,
		)
		.await;
		Ok(view(&user))
	}

	async fn update(
		&self,
		p: &Platform,
		who: &Principal,
		ctx: &RunContext,
		config: &Value,
	) -> Result<Value, ComponentError> {
		require(p, who, Permission::UserUpdate, "update").await?;
		let mut user = self.target(p, config, "update").await?;
		let password = text(config, "password").map(str::to_owned);
		let change = UserChange {
			role: role_of(config)?,
			active: config.get("active").and_then(Value::as_bool),
			password: password.clone(),
		};
		let changed = apply_change(who, &mut user, change)
			.await
			.map_err(|e| refused("update", e))?;
		if !changed {
			return Ok(view(&user));
		}
		p.security
			.accounts
			.update_user(&user)
			.await
			.map_err(|e| refused("update", e.into()))?;
		let details = json!({"role": user.role.as_str(), "active": user.active,
			"password_changed": password.is_some(), "api_keys_revoked": password.is_some()});
		audit(
			p,
			who,
			ctx,
			"user.update",
			&format!("user/{}", user.id),
			details,
		)
		.await;
		Ok(view(&user))
	}

	async fn delete(
		&self,
		p: &Platform,
		who: &Principal,
		ctx: &RunContext,
		config: &Value,
	) -> Result<Value, ComponentError> {
		require(p, who, Permission::UserDelete, "delete").await?;
		let user = self.target(p, config, "delete").await?;
		if user.id == who.user_id {
			return Err(fatal(
				"delete: a workflow cannot delete the user who runs it",
			));
		}
		let deleted = p
			.security
			.accounts
			.delete_user(user.id)
			.await
			.map_err(retryable)?;
		let details = json!({"username": user.username});
		audit(
			p,
			who,
			ctx,
			"user.delete",
			&format!("user/{}", user.id),
			details,
		)
		.await;
		Ok(json!({"deleted": deleted, "id": user.id.to_string()}))
	}

	async fn authenticate(
		&self,
		p: &Platform,
		who: &Principal,
		ctx: &RunContext,
		config: &Value,
	) -> Result<Value, ComponentError> {
		require(p, who, Permission::UserRead, "authenticate").await?;
		let username = required(config, "username", "authenticate")?;
		let password = required(config, "password", "authenticate")?;
		// The login's own check and throttle; a workflow's attempts count as one client.
		let client = format!("workflow:{}", ctx.workflow_id);
		let outcome = p.security.authn.verify(username, password, &client).await;
		let ok = outcome.is_ok();
		let resource = format!("user/{username}");
		audit(
			p,
			who,
			ctx,
			"user.authenticate",
			&resource,
			json!({"authenticated": ok}),
		)
		.await;
		match outcome {
			Ok(u) => Ok(json!({"authenticated": true, "user": pick(config, view(&u))})),
			Err(apg_auth::AuthError::Unauthenticated(_)) => Ok(json!({"authenticated": false})),
			Err(e) => Err(refused("authenticate", e)),
		}
	}
}

#[async_trait]
impl Component for UserManagement {
	fn kind(&self) -> &'static str {
		KIND
	}

	fn summary(&self) -> &'static str {
		"Creates, updates, deletes, gets, lists or authenticates users, as the user who started \
		 the execution"
	}

	fn config_schema(&self) -> Value {
		json!({
			"type": "object",
			"required": ["operation"],
			"properties": {
				"operation": {"type": "string",
					"enum": ["create", "update", "delete", "get", "list", "authenticate"],
					"description": "What to do (each needs the matching user.* permission)"},
				"user_id": {"type": "string", "description": "The user (update, delete, get)"},
				"username": {"type": "string", "description": "The login name (create, \
					authenticate; or to find the user of update, delete, get)"},
				"password": {"type": "string", "description": "The password (create, update, \
					authenticate): from a credential, {{secrets.<name>}}, or a parameter"},
				"role": {"type": "string", "enum": ["admin", "editor", "operator", "viewer"],
					"description": "The role (create: default viewer; update)"},
				"active": {"type": "boolean", "description": "Enable or disable (update)"},
				"user_fields": {"type": "array", "items": {"type": "string"},
					"description": "Only these fields of each user in the output"}
			}
		})
	}

	async fn run(
		&self,
		ctx: &RunContext,
		config: &Value,
		_input: Value,
	) -> Result<Outcome, ComponentError> {
		let p = platform(&self.platform, KIND)?;
		let who = principal(p, ctx).await?;
		let output = match text(config, "operation").unwrap_or_default() {
			"create" => self.create(p, &who, ctx, config).await?,
			"update" => self.update(p, &who, ctx, config).await?,
			"delete" => self.delete(p, &who, ctx, config).await?,
			"authenticate" => self.authenticate(p, &who, ctx, config).await?,
			"get" => {
				let user = self.target(p, config, "get").await?;
				if user.id != who.user_id {
					require(p, &who, Permission::UserRead, "get").await?;
				}
				pick(config, view(&user))
			}
			"list" => {
				require(p, &who, Permission::UserRead, "list").await?;
				let users = p.security.accounts.list_users().await.map_err(retryable)?;
				let users: Vec<Value> = users.iter().map(|u| pick(config, view(u))).collect();
				json!({"users": users, "count": users.len()})
			}
			other => return Err(fatal(format!("unknown operation '{other}'"))),
		};
		Ok(Outcome::output(output))
	}
}
