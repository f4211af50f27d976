//! `email` against a real SMTP server on loopback: `aiosmtpd` from the test venv
//! (`$APG_TEST_PYTHON`, CI exports it), which parses every message it receives with Python's
//! `email` package (`support/smtp_sink.py`), so what is checked is what a mail server got.

mod common;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use apg_components::{Email, Settings, SmtpSettings};
use apg_core::Component;

use common::{loopback, run};

/// A running sink: its port, the directory its messages land in, and the child (killed on drop).
struct Sink {
	port: u16,
	out: tempfile::TempDir,
	_child: Child,
}

fn python() -> Option<PathBuf> {
	let local = PathBuf::from("/root/.cache/apg-venv/bin/python");
	match std::env::var("APG_TEST_PYTHON") {
		Ok(p) if !p.is_empty() => Some(PathBuf::from(p)),
		_ if local.exists() => Some(local),
		_ => {
			println!("skipped: APG_TEST_PYTHON is not set");
			None
		}
	}
}

async fn sink() -> Option<Sink> {
	let python = python()?;
	// A port free a moment ago; the sink binds it right away.
	let port = std::net::TcpListener::bind("127.0.0.1:0")
		.unwrap()
		.local_addr()
		.unwrap()
		.port();
	let out = tempfile::tempdir().unwrap();
	let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/smtp_sink.py");
	let mut child = Command::new(python)
		.arg(script)
		.arg(port.to_string())
		.arg(out.path())
		.stdout(Stdio::piped())
		.kill_on_drop(true)
		.spawn()
		.expect("the SMTP sink starts");
	let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
	let ready = tokio::time::timeout(Duration::from_secs(20), lines.next_line()).await;
	assert!(
		matches!(ready, Ok(Ok(Some(ref l))) if l == "ready"),
		"{ready:?}"
	);
	Some(Sink {
		port,
		out,
		_child: child,
	})
}

impl Sink {
	fn smtp(&self) -> Value {
		json!({"host": "127.0.0.1", "port": self.port, "security": "none",
			"username": "mailer", "password": "s3cret-pass"})
	}

	/// The messages received so far, in order.
	fn received(&self) -> Vec<Value> {
		let mut found = Vec::new();
		for n in 1.. {
			let path = self.out.path().join(format!("{n}.json"));
			match std::fs::read_to_string(&path) {
				Ok(text) => found.push(serde_json::from_str(&text).unwrap()),
				Err(_) => break,
			}
		}
		found
	}
}

fn component(roots: Vec<PathBuf>) -> Email {
	Email::new(&loopback(roots))
}

#[tokio::test]
async fn a_message_reaches_every_recipient_with_both_bodies_and_its_attachment() {
	let Some(sink) = sink().await else {
		return;
	};
	let files = tempfile::tempdir().unwrap();
	let bytes: Vec<u8> = (0..=255u8).cycle().take(3000).collect();
	std::fs::write(files.path().join("report.bin"), &bytes).unwrap();
	let c = component(vec![files.path().to_owned()]);
	let out = run(
		&c,
		json!({"smtp": sink.smtp(), "from": "Workflows <robot@example.com>",
			"to": "Ada <ada@example.com>, bob@example.com", "cc": ["carol@example.com"],
			"bcc": "dave@example.com", "subject": "Quarterly ✓",
			"text": "plain body", "html": "<p>html body</p>",
			"attachments": [{"path": "report.bin", "filename": "q3.bin"}]}),
	)
	.await
	.unwrap_or_else(|e| panic!("{e}"));
	let id = out.output["message_id"].as_str().unwrap().to_owned();
	assert!(id.starts_with('<') && id.ends_with("@example.com>"), "{id}");
	let got = sink.received();
	assert_eq!(got.len(), 1);
	let m = &got[0];
	assert_eq!(m["mail_from"], "robot@example.com");
	assert_eq!(
		m["rcpt_tos"],
		json!([
			"ada@example.com",
			"bob@example.com",
			"carol@example.com",
			"dave@example.com"
		])
	);
	assert_eq!(m["login"], "mailer");
	assert_eq!(m["headers"]["subject"], "Quarterly ✓");
	assert_eq!(m["headers"]["message-id"], id);
	assert!(
		m["headers"]["to"]
			.as_str()
			.unwrap()
			.contains("ada@example.com")
	);
	assert_eq!(m["headers"]["cc"], "carol@example.com");
	assert!(m["headers"].get("bcc").is_none(), "{}", m["headers"]);
	assert_eq!(m["top"], "multipart/mixed");
	let parts = m["parts"].as_array().unwrap();
	let part = |ty: &str| parts.iter().find(|p| p["content_type"] == ty).cloned();
	assert!(part("multipart/alternative").is_some(), "{parts:?}");
	let decoded = |p: Value| STANDARD.decode(p["base64"].as_str().unwrap()).unwrap();
	assert_eq!(
		decoded(part("text/plain").unwrap()).trim_ascii(),
		b"plain body"
	);
	assert_eq!(
		decoded(part("text/html").unwrap()).trim_ascii(),
		b"<p>html body</p>"
	);
	let attachment = parts
		.iter()
		.find(|p| p["filename"] == "q3.bin")
		.unwrap()
		.clone();
	assert_eq!(attachment["content_type"], "application/octet-stream");
	assert_eq!(decoded(attachment), bytes);
}

#[tokio::test]
async fn the_server_default_smtp_is_used_and_a_wrong_login_is_fatal() {
	let Some(sink) = sink().await else {
		return;
	};
	let settings = |password: &str| Settings {
		smtp: Some(SmtpSettings {
			url: Some(format!("smtp://127.0.0.1:{}", sink.port)),
			security: Some("none".to_owned()),
			username: Some("mailer".to_owned()),
			password: Some(password.to_owned()),
			from: Some("ops@example.com".to_owned()),
			..SmtpSettings::default()
		}),
		..loopback(Vec::new())
	};
	let c = Email::new(&settings("s3cret-pass"));
	let config =
		json!({"to": "ada@example.com", "subject": "hi", "text": "only text", "timeout": 5});
	run(&c, config.clone())
		.await
		.unwrap_or_else(|e| panic!("{e}"));
	let got = sink.received();
	assert_eq!(got[0]["mail_from"], "ops@example.com");
	assert_eq!(got[0]["top"], "text/plain");
	let wrong = Email::new(&settings("wrong-password-123"));
	let e = run(&wrong, config).await.unwrap_err();
	assert!(!e.is_retryable(), "{e}");
	assert!(
		e.to_string().contains(&format!("127.0.0.1:{}", sink.port)),
		"{e}"
	);
	assert!(!e.to_string().contains("wrong-password-123"), "{e}");
}

#[tokio::test]
async fn a_5xx_refusal_is_fatal_and_a_4xx_retryable() {
	let Some(sink) = sink().await else {
		return;
	};
	let c = component(Vec::new());
	let send = |to: &str| {
		json!({"smtp": sink.smtp(), "from": "robot@example.com", "to": to, "subject": "s",
			"text": "t"})
	};
	let e = run(&c, send("reject@example.com")).await.unwrap_err();
	assert!(!e.is_retryable(), "{e}");
	assert!(e.to_string().contains("mailbox unavailable"), "{e}");
	let e = run(&c, send("busy@example.com")).await.unwrap_err();
	assert!(e.is_retryable(), "{e}");
	assert!(sink.received().is_empty());
}

#[tokio::test]
async fn an_unreachable_server_is_retryable_and_an_internal_one_refused() {
	let c = component(Vec::new());
	let port = std::net::TcpListener::bind("127.0.0.1:0")
		.unwrap()
		.local_addr()
		.unwrap()
		.port();
	let config = json!({"smtp": {"host": "127.0.0.1", "port": port, "security": "none"},
		"from": "a@example.com", "to": "b@example.com", "subject": "s", "text": "t"});
	let e = run(&c, config.clone()).await.unwrap_err();
	assert!(e.is_retryable(), "{e}");
	let guarded = Email::new(&Settings::default());
	let e = run(&guarded, config).await.unwrap_err();
	assert!(e.to_string().contains("internal address"), "{e}");
	assert!(!e.is_retryable());
}

#[test]
fn bad_addresses_are_named_by_field_before_the_run() {
	let c = component(Vec::new());
	let problems = c.check_config(
		json!({"to": ["ok@example.com", "not an address"], "cc": "{{ params.cc }}",
			"subject": "s", "text": "t"})
		.as_object()
		.unwrap(),
	);
	assert_eq!(problems.len(), 1, "{problems:?}");
	assert_eq!(problems[0].0, "to");
	assert!(problems[0].1.contains("to[1]"), "{problems:?}");
}
