//! `apg_notification`: tells someone, by `in_app` notification (stored for one user and pushed
//! to their open `/ws` connections), `email` or `webhook`.
//!
//! Email and webhooks are sent by the server's own `email` and `http_request` components, so a
//! notification gets their SMTP defaults, credential handling, timeouts and the SSRF guard,
//! and the rules stay in one place. An in-app notification goes to the user who started the
//! execution unless `user` names another, which needs `user.read` (knowing who the users are):
//! an operator's workflow can notify only its operator.

use std::sync::Arc;

use apg_core::{
	Component, ComponentError, NotificationId, NotificationLevel, Outcome, Permission, Principal,
	RunContext, UserId, now_millis,
};
use async_trait::async_trait;
use serde_json::{Map, Value, json};

use crate::acting::{platform, principal, require, text};
use crate::error::{fatal, refused, retryable};
use crate::platform::Platform;

const KIND: &str = "apg_notification";

/// The component.
pub(crate) struct Notification {
	platform: Option<Platform>,
	email: Option<Arc<dyn Component>>,
	http: Option<Arc<dyn Component>>,
}

impl Notification {
	pub(crate) fn new(
		platform: Option<Platform>,
		email: Option<Arc<dyn Component>>,
		http: Option<Arc<dyn Component>>,
	) -> Self {
		Self {
			platform,
			email,
			http,
		}
	}

	/// The recipient of an in-app notification.
	async fn recipient(
		&self,
		p: &Platform,
		who: &Principal,
		config: &Value,
	) -> Result<UserId, ComponentError> {
		let Some(named) = text(config, "user").filter(|u| !u.is_empty()) else {
			return Ok(who.user_id);
		};
		let found = match named.parse::<UserId>() {
			Ok(id) => p.security.accounts.get_user(id).await,
			Err(_) => p.security.accounts.find_user(named).await,
		}
		.map_err(retryable)?;
		match found {
			Some(u) if u.id == who.user_id => Ok(u.id),
			found => {
				require(p, who, Permission::UserRead, "in_app to another user").await?;
				found
					.map(|u| u.id)
					.ok_or_else(|| fatal(format!("user: no user '{named}'")))
			}
		}
	}

	async fn in_app(
		&self,
		p: &Platform,
		who: &Principal,
		ctx: &RunContext,
		config: &Value,
	) -> Result<Value, ComponentError> {
		let user_id = self.recipient(p, who, config).await?;
		let level = match text(config, "level") {
			None => NotificationLevel::Info,
			Some(l) => NotificationLevel::parse(l)
				.ok_or_else(|| fatal(format!("level: unknown level '{l}'")))?,
		};
		let title = text(config, "title").unwrap_or("Workflow notification");
		let notification = apg_core::Notification {
			id: NotificationId::new(),
			user_id,
			level,
			title: clip(title, 200),
			message: clip(text(config, "message").unwrap_or_default(), 10_000),
			data: config.get("data").cloned().unwrap_or(Value::Null),
			execution_id: Some(ctx.execution_id),
			created_at: now_millis(),
			read_at: None,
		};
		let id = notification.id;
		p.security
			.notices
			.send(notification)
			.await
			.map_err(|e| refused("in_app", e))?;
		Ok(json!({"channel": "in_app", "id": id.to_string(), "user_id": user_id.to_string()}))
	}
}

fn clip(text: &str, chars: usize) -> String {
	text.chars().take(chars).collect()
}

/// Copies the fields of `config` named in `keys` that are present.
fn copy(config: &Value, keys: &[&str]) -> Map<String, Value> {
	keys.iter()
		.filter_map(|k| config.get(*k).map(|v| ((*k).to_owned(), v.clone())))
		.collect()
}

#[async_trait]
impl Component for Notification {
	fn kind(&self) -> &'static str {
		KIND
	}

	fn summary(&self) -> &'static str {
		"Sends an in-app notification (pushed over /ws), an email or a webhook"
	}

	fn config_schema(&self) -> Value {
		json!({
			"type": "object",
			"required": ["channel"],
			"properties": {
				"channel": {"type": "string", "enum": ["in_app", "email", "webhook"]},
				"title": {"type": "string", "description": "One line (in_app; the email's \
					subject unless subject is given)"},
				"message": {"type": "string", "description": "The text; may be an expression"},
				"level": {"type": "string", "enum": ["info", "success", "warning", "error"],
					"default": "info"},
				"data": {"description": "in_app: structured data to attach; webhook: the JSON \
					payload (default: title, message, level and the execution)"},
				"user": {"type": "string", "description": "in_app: the recipient's username or \
					id (default: whoever started the execution; another user needs user.read)"},
				"to": {"description": "email: the recipients"},
				"cc": {"description": "email: copies"},
				"bcc": {"description": "email: blind copies"},
				"subject": {"type": "string", "description": "email: the subject"},
				"html": {"type": "string", "description": "email: an HTML body"},
				"from": {"type": "string", "description": "email: the sender"},
				"smtp": {"type": "object", "description": "email: the SMTP server, as the email \
					component takes it"},
				"url": {"type": "string", "description": "webhook: where to POST"},
				"headers": {"type": "object", "description": "webhook: extra headers"},
				"auth": {"type": "object", "description": "webhook: authentication, as \
					http_request takes it ({{secrets.<name>}})"},
				"timeout": {"type": "number", "minimum": 1, "maximum": 300,
					"description": "email and webhook: seconds"}
			}
		})
	}

	async fn run(
		&self,
		ctx: &RunContext,
		config: &Value,
		input: Value,
	) -> Result<Outcome, ComponentError> {
		let p = platform(&self.platform, KIND)?;
		let who = principal(p, ctx).await?;
		match text(config, "channel").unwrap_or_default() {
			"in_app" => Ok(Outcome::output(self.in_app(p, &who, ctx, config).await?)),
			"email" => {
				let email = self
					.email
					.as_ref()
					.ok_or_else(|| fatal("email: this server has no email component"))?;
				let mut cfg = copy(
					config,
					&["to", "cc", "bcc", "html", "from", "smtp", "timeout"],
				);
				let subject = text(config, "subject")
					.or_else(|| text(config, "title"))
					.unwrap_or("Workflow notification");
				cfg.insert("subject".into(), subject.into());
				cfg.insert(
					"text".into(),
					text(config, "message").unwrap_or_default().into(),
				);
				let mut out = email.run(ctx, &Value::Object(cfg), input).await?;
				out.output = json!({"channel": "email", "email": out.output});
				Ok(out)
			}
			"webhook" => {
				let http = self
					.http
					.as_ref()
					.ok_or_else(|| fatal("webhook: this server has no http_request component"))?;
				let mut cfg = copy(config, &["url", "headers", "auth", "timeout"]);
				let payload = config.get("data").cloned().unwrap_or_else(|| {
					json!({
						"title": text(config, "title"),
						"message": text(config, "message"),
						"level": text(config, "level").unwrap_or("info"),
						"execution_id": ctx.execution_id.to_string(),
						"workflow_id": ctx.workflow_id.to_string(),
					})
				});
				cfg.insert("method".into(), "POST".into());
				cfg.insert("body".into(), payload);
				cfg.insert("body_type".into(), "json".into());
				let mut out = http.run(ctx, &Value::Object(cfg), input).await?;
				out.output = json!({"channel": "webhook", "response": out.output});
				Ok(out)
			}
			other => Err(fatal(format!("unknown channel '{other}'"))),
		}
	}
}
