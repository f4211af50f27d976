//! `email`: sends one message over SMTP (`lettre`, rustls) and outputs its `message_id` and the
//! envelope recipients the server accepted.
//!
//! Decisions:
//! - **Server**: the component's `smtp` object (`url` or `host`/`port`, `security`,
//!   `username`, `password`) over the server-wide default `components.smtp`, so most workflows
//!   name no server at all and operators keep its password out of definitions. A component that
//!   gives its own login takes it from a credential: `password: "{{secrets.smtp}}"` (sealed at
//!   rest like every `password` field).
//! - **Security**: `starttls` (default; required, a server that does not offer it fails),
//!   `tls` (SMTPS) or `none`. The host goes through the SSRF guard (`crate::net`) and the
//!   connection goes to the checked address; TLS still verifies the certificate against the
//!   host name.
//! - **Addresses**: `to`, `cc`, `bcc` are a string (one address or a comma-separated list) or a
//!   list; each is parsed, and a bad one fails with its field. Bcc recipients get the message
//!   but no header names them.
//! - **Body**: `text`, `html`, or both as `multipart/alternative`; with attachments, wrapped in
//!   `multipart/mixed`. Attachments are files under the file roots (`attach`).
//! - **Message-ID** is set here (`<execution.component.attempt@sender-domain>`), so the output
//!   can name it and a retry is a distinct message.
//! - **Errors**: a 4xx reply or a connection failure is retryable, a 5xx reply (a refused
//!   recipient, failed authentication) fatal, each naming the server; the login never appears.

mod attach;
mod transport;

use std::path::PathBuf;
use std::time::Duration;

use async_trait::async_trait;
use lettre::message::header::ContentType;
use lettre::message::{Attachment, Mailbox, Mailboxes, MultiPart, SinglePart};
use lettre::{AsyncTransport, Message};
use serde_json::{Map, Value, json};

use apg_core::{Component, ComponentError, Outcome, Redactor, RunContext};

use crate::net::AllowList;
use crate::{Settings, SmtpSettings};

/// The `email` component.
pub struct Email {
	allow: AllowList,
	roots: Vec<PathBuf>,
	smtp: Option<SmtpSettings>,
}

impl Email {
	/// A component with the allow-list, file roots and default SMTP server of `settings`.
	pub fn new(settings: &Settings) -> Self {
		Self {
			allow: AllowList::new(settings.http_allow.iter().cloned()),
			roots: settings.file_roots.clone(),
			smtp: settings.smtp.clone(),
		}
	}
}

fn fatal(message: impl Into<String>) -> ComponentError {
	ComponentError::Fatal(message.into())
}

const ADDRESS_FIELDS: [&str; 4] = ["from", "to", "cc", "bcc"];

#[async_trait]
impl Component for Email {
	fn kind(&self) -> &'static str {
		"email"
	}

	fn summary(&self) -> &'static str {
		"Sends an email over SMTP, with text and HTML bodies and attachments"
	}

	fn config_schema(&self) -> Value {
		let addresses = |what: &str| {
			json!({"description": format!("{what}: an address, a comma-separated list, or a list \
				of addresses (Name <a@example.com> or a@example.com); may be an expression")})
		};
		json!({
			"type": "object",
			"properties": {
				"from": {"type": "string", "description": "The sender (default: \
					components.smtp.from)"},
				"to": addresses("Recipients"),
				"cc": addresses("Copy recipients"),
				"bcc": addresses("Blind-copy recipients (in the envelope only)"),
				"reply_to": {"type": "string", "description": "The Reply-To address"},
				"subject": {"description": "The subject line; may be an expression"},
				"text": {"description": "The plain-text body; may be an expression"},
				"html": {"description": "The HTML body (with text: multipart/alternative); may be \
					an expression"},
				"attachments": {"type": "array", "description": "Files under the file roots to \
					attach",
					"items": {"oneOf": [
						{"type": "string", "description": "A path"},
						{"type": "object", "additionalProperties": false, "required": ["path"],
							"description": "A path with the name and type to send it as",
							"properties": {
								"path": {"type": "string", "description": "The file (relative: \
									under the first file root)"},
								"filename": {"type": "string", "description": "The name the \
									recipient sees"},
								"content_type": {"type": "string", "description": "Its MIME \
									type (default: from the extension)"}
							}}
					]}},
				"smtp": {"type": "object", "additionalProperties": false,
					"description": "The SMTP server (default: components.smtp); give the \
						password as {{secrets.<name>}}",
					"properties": {
						"url": {"type": "string", "description": "smtp://host:port (STARTTLS) \
							or smtps://host:port (TLS)"},
						"host": {"type": "string", "description": "The server's host name"},
						"port": {"type": "integer", "minimum": 1, "maximum": 65535,
							"description": "Its port (default 587, 465 with tls, 25 with none)"},
						"security": {"type": "string", "enum": ["starttls", "tls", "none"],
							"description": "starttls (default), tls, or none"},
						"username": {"type": "string", "description": "The login"},
						"password": {"type": "string", "description": "Its password, from a \
							credential"}
					}},
				"timeout": {"type": "number", "minimum": 1, "maximum": 300, "default": 30,
					"description": "Seconds before the SMTP exchange fails (retryable)"}
			},
			"required": ["to", "subject"]
		})
	}

	fn check_config(&self, config: &Map<String, Value>) -> Vec<(String, String)> {
		let mut problems = Vec::new();
		for field in ADDRESS_FIELDS {
			if let Some(value) = config.get(field)
				&& let Err(e) = addresses(field, value, true)
			{
				problems.push((field.to_owned(), strip(field, &e.to_string())));
			}
		}
		if !config.contains_key("text") && !config.contains_key("html") {
			problems.push(("text".to_owned(), "give text, html, or both".to_owned()));
		}
		problems
	}

	async fn run(
		&self,
		ctx: &RunContext,
		config: &Value,
		_input: Value,
	) -> Result<Outcome, ComponentError> {
		let server = transport::server(config.get("smtp"), self.smtp.as_ref())?;
		// The engine masks the secrets it revealed; this covers the server-wide login too.
		let redactor = Redactor::new(server.password.clone());
		let peer = format!("{}:{}", server.host, server.port);
		let message = self.message(ctx, config, server.from.as_deref()).await;
		let result = match message {
			Ok((message, id, recipients)) => {
				let timeout = Duration::from_secs_f64(
					config
						.get("timeout")
						.and_then(Value::as_f64)
						.unwrap_or(30.0)
						.clamp(1.0, 300.0),
				);
				let mailer = transport::connect(&server, &self.allow, timeout).await?;
				// lettre's timeout covers single socket operations, not a server that stops
				// answering mid-exchange, so the whole exchange is bounded too.
				match tokio::time::timeout(timeout, mailer.send(message)).await {
					Ok(Ok(response)) => Ok(json!({
						"message_id": id,
						"accepted": recipients,
						"server_response": response.message().collect::<Vec<_>>().join(" "),
					})),
					Ok(Err(e)) => Err(transport::failure(&e, &peer)),
					Err(_) => Err(ComponentError::Retryable(format!(
						"SMTP server {peer} did not finish within timeout ({}s)",
						timeout.as_secs_f64()
					))),
				}
			}
			Err(e) => Err(e),
		};
		result.map(Outcome::output).map_err(|e| match e {
			ComponentError::Retryable(m) => ComponentError::Retryable(redactor.text(&m)),
			ComponentError::Fatal(m) => ComponentError::Fatal(redactor.text(&m)),
		})
	}
}

impl Email {
	/// The message, its Message-ID and every envelope recipient.
	async fn message(
		&self,
		ctx: &RunContext,
		config: &Value,
		default_from: Option<&str>,
	) -> Result<(Message, String, Vec<String>), ComponentError> {
		let from_value = config
			.get("from")
			.cloned()
			.or_else(|| default_from.map(|f| Value::String(f.to_owned())))
			.ok_or_else(|| fatal("from: is required (or set components.smtp.from)"))?;
		let from = addresses("from", &from_value, false)?;
		let [sender] = from.as_slice() else {
			return Err(fatal("from: must be exactly one address"));
		};
		let domain = sender.email.domain().to_owned();
		let id = format!(
			"<{}.{}.{}@{}>",
			ctx.execution_id,
			ctx.component_id
				.chars()
				.map(|c| if c.is_ascii_alphanumeric() || c == '-' {
					c
				} else {
					'-'
				})
				.collect::<String>(),
			ctx.attempt,
			domain
		);
		let mut builder = Message::builder()
			.from(sender.clone())
			.message_id(Some(id.clone()))
			.subject(text_of(config.get("subject")));
		if let Some(reply) = config.get("reply_to").and_then(Value::as_str) {
			let reply: Mailbox = reply
				.parse()
				.map_err(|e| fatal(format!("reply_to: not an email address: {e}")))?;
			builder = builder.reply_to(reply);
		}
		let mut recipients = Vec::new();
		for field in ["to", "cc", "bcc"] {
			let Some(value) = config.get(field).filter(|v| !v.is_null()) else {
				continue;
			};
			for mailbox in addresses(field, value, false)? {
				recipients.push(mailbox.email.to_string());
				builder = match field {
					"to" => builder.to(mailbox),
					"cc" => builder.cc(mailbox),
					_ => builder.bcc(mailbox),
				};
			}
		}
		if recipients.is_empty() {
			return Err(fatal("to: give at least one recipient"));
		}
		let text = config
			.get("text")
			.filter(|v| !v.is_null())
			.map(|v| text_of(Some(v)));
		let html = config
			.get("html")
			.filter(|v| !v.is_null())
			.map(|v| text_of(Some(v)));
		let body = match (text, html) {
			(Some(text), Some(html)) => Body::Multi(MultiPart::alternative_plain_html(text, html)),
			(None, Some(html)) => Body::Single(SinglePart::html(html)),
			(Some(text), None) => Body::Single(SinglePart::plain(text)),
			(None, None) => Body::Single(SinglePart::plain(String::new())),
		};
		let files = self.attachments(config).await?;
		let message = if files.is_empty() {
			match body {
				Body::Multi(multi) => builder.multipart(multi),
				Body::Single(single) => builder.singlepart(single),
			}
		} else {
			let mut mixed = match body {
				Body::Multi(multi) => MultiPart::mixed().multipart(multi),
				Body::Single(single) => MultiPart::mixed().singlepart(single),
			};
			for file in files {
				let content_type = ContentType::parse(&file.content_type)
					.unwrap_or(ContentType::parse("application/octet-stream").expect("valid"));
				mixed = mixed.singlepart(Attachment::new(file.name).body(file.bytes, content_type));
			}
			builder.multipart(mixed)
		}
		.map_err(|e| fatal(format!("the message cannot be built: {e}")))?;
		Ok((message, id, recipients))
	}

	async fn attachments(&self, config: &Value) -> Result<Vec<attach::File>, ComponentError> {
		let list = match config.get("attachments") {
			None | Some(Value::Null) => return Ok(Vec::new()),
			Some(Value::Array(list)) => list,
			Some(_) => return Err(fatal("attachments: must be a list of paths")),
		};
		let mut files = Vec::new();
		let mut total = 0;
		for (i, item) in list.iter().enumerate() {
			let field = format!("attachments[{i}]");
			let text = |k: &str| item.get(k).and_then(Value::as_str);
			let (path, name, content_type) = match item {
				Value::String(path) => (path.as_str(), None, None),
				Value::Object(_) => (
					text("path").ok_or_else(|| fatal(format!("{field}.path: is required")))?,
					text("filename"),
					text("content_type"),
				),
				_ => {
					return Err(fatal(format!(
						"{field}: must be a path or {{path, filename}}"
					)));
				}
			};
			let file = attach::read(&field, path, name, content_type, &self.roots).await?;
			total += file.bytes.len() as u64;
			if total > attach::MAX_TOTAL {
				return Err(fatal(format!(
					"attachments: more than {} bytes in all",
					attach::MAX_TOTAL
				)));
			}
			files.push(file);
		}
		Ok(files)
	}
}

enum Body {
	Single(SinglePart),
	Multi(MultiPart),
}

/// A rendered value as message text (a non-string is written as JSON).
fn text_of(value: Option<&Value>) -> String {
	match value {
		None | Some(Value::Null) => String::new(),
		Some(Value::String(s)) => s.clone(),
		Some(other) => other.to_string(),
	}
}

/// The mailboxes `value` names; with `lenient`, templates are left for the run.
fn addresses(field: &str, value: &Value, lenient: bool) -> Result<Vec<Mailbox>, ComponentError> {
	let bad = |e: String| fatal(format!("{field}: {e}"));
	let one = |text: &str| -> Result<Vec<Mailbox>, ComponentError> {
		if text.trim().is_empty() {
			return Ok(Vec::new());
		}
		text.parse::<Mailboxes>()
			.map(|m| m.into_iter().collect())
			.map_err(|e| bad(format!("not an email address ({text}): {e}")))
	};
	match value {
		Value::String(_) if lenient && crate::is_template(value) => Ok(Vec::new()),
		Value::String(text) => one(text),
		Value::Array(items) => {
			let mut out = Vec::new();
			for (i, item) in items.iter().enumerate() {
				match item {
					Value::String(_) if lenient && crate::is_template(item) => {}
					Value::String(text) => out.extend(one(text).map_err(|e| {
						fatal(e.to_string().replacen(field, &format!("{field}[{i}]"), 1))
					})?),
					_ => return Err(bad(format!("item {i} must be an address"))),
				}
			}
			Ok(out)
		}
		Value::Null => Ok(Vec::new()),
		_ => Err(bad("must be an address or a list of addresses".to_owned())),
	}
}

/// `field: message` → `message`, for `check_config`, which gives the path apart.
fn strip(field: &str, message: &str) -> String {
	message
		.strip_prefix(&format!("{field}: "))
		.unwrap_or(message)
		.to_owned()
}
