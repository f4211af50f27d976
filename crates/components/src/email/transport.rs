//! The SMTP server a message goes to: the component's `smtp` over the server-wide default
//! (`components.smtp`), the host passed through the SSRF guard and connected to at the checked
//! address (TLS still verifies the certificate against the host name), and the failures sorted
//! by what another attempt can change.

use std::time::Duration;

use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, Tokio1Executor};
use serde_json::Value;

use apg_core::ComponentError;

use crate::SmtpSettings;
use crate::net::{self, AllowList};

/// How the connection is secured.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Security {
	/// Plain connection upgraded with STARTTLS (required, never optional).
	StartTls,
	/// TLS from the first byte (SMTPS).
	Tls,
	/// No encryption (a relay on a trusted network, a test sink).
	None,
}

impl Security {
	fn parse(text: &str) -> Result<Self, ComponentError> {
		match text {
			"starttls" => Ok(Self::StartTls),
			"tls" => Ok(Self::Tls),
			"none" => Ok(Self::None),
			other => Err(ComponentError::Fatal(format!(
				"smtp.security: must be starttls, tls or none, not {other}"
			))),
		}
	}

	fn default_port(self) -> u16 {
		match self {
			Self::StartTls => 587,
			Self::Tls => 465,
			Self::None => 25,
		}
	}
}

/// The resolved server.
#[derive(Debug)]
pub(super) struct Server {
	pub(super) host: String,
	pub(super) port: u16,
	pub(super) security: Security,
	pub(super) username: Option<String>,
	pub(super) password: Option<String>,
	pub(super) from: Option<String>,
}

/// The server from the component's `smtp` (any field it gives wins) over `default`.
pub(super) fn server(
	config: Option<&Value>,
	default: Option<&SmtpSettings>,
) -> Result<Server, ComponentError> {
	let given = |k: &str| {
		config
			.and_then(|c| c.get(k))
			.and_then(Value::as_str)
			.map(str::to_owned)
	};
	let base = default.cloned().unwrap_or_default();
	let url = given("url").or(base.url.clone());
	let (mut host, mut port, mut security) = (None, None, None);
	if let Some(url) = &url {
		let parsed = reqwest::Url::parse(url)
			.map_err(|_| ComponentError::Fatal("smtp.url: not a URL".to_owned()))?;
		security = Some(match parsed.scheme() {
			"smtp" => Security::StartTls,
			"smtps" => Security::Tls,
			_ => {
				return Err(ComponentError::Fatal(
					"smtp.url: must be smtp://host:port or smtps://host:port".to_owned(),
				));
			}
		});
		host = parsed.host_str().map(str::to_owned);
		port = parsed.port();
	}
	let host = given("host")
		.or(host)
		.or(base.host.clone())
		.ok_or_else(|| {
			ComponentError::Fatal(
				"smtp: no SMTP server (give smtp.host or smtp.url here, or components.smtp in \
				 the server's configuration)"
					.to_owned(),
			)
		})?;
	if let Some(text) = given("security").or(base.security.clone()) {
		security = Some(Security::parse(&text)?);
	}
	let security = security.unwrap_or(Security::StartTls);
	let port = config
		.and_then(|c| c.get("port"))
		.and_then(Value::as_u64)
		.and_then(|p| u16::try_from(p).ok())
		.or(port)
		.or(base.port)
		.unwrap_or_else(|| security.default_port());
	Ok(Server {
		host,
		port,
		security,
		username: given("username").or(base.username),
		password: given("password").or(base.password),
		from: base.from,
	})
}

/// A transport to `server` at the address the guard checked.
pub(super) async fn connect(
	server: &Server,
	allow: &AllowList,
	timeout: Duration,
) -> Result<AsyncSmtpTransport<Tokio1Executor>, ComponentError> {
	let addrs = net::resolve_checked(&server.host, server.port, allow).await?;
	let tls_params = || {
		TlsParameters::new(server.host.clone())
			.map_err(|e| ComponentError::Fatal(format!("smtp: TLS setup failed: {e}")))
	};
	let tls = match server.security {
		Security::StartTls => Tls::Required(tls_params()?),
		Security::Tls => Tls::Wrapper(tls_params()?),
		Security::None => Tls::None,
	};
	let mut builder =
		AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(addrs[0].ip().to_string())
			.port(addrs[0].port())
			.tls(tls)
			.timeout(Some(timeout));
	if let Some(user) = &server.username {
		builder = builder
			.credentials(Credentials::new(
				user.clone(),
				server.password.clone().unwrap_or_default(),
			))
			.authentication(vec![Mechanism::Plain, Mechanism::Login]);
	}
	Ok(builder.build())
}

/// The typed error of a failed send to `peer`: a 4xx reply is transient, a 5xx permanent, a
/// broken or timed-out connection retryable, a message the client refused fatal.
pub(super) fn failure(e: &lettre::transport::smtp::Error, peer: &str) -> ComponentError {
	let message = format!("SMTP server {peer}: {e}");
	if e.is_permanent() || e.is_client() {
		ComponentError::Fatal(message)
	} else {
		// Transient replies (4xx), timeouts, TLS and connection failures.
		ComponentError::Retryable(message)
	}
}
