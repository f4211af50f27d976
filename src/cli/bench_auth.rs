//! The `auth` scenario of `apg-workflow bench`: what security costs on this machine, through
//! the same [`Security`] the server uses over a fresh store. A login is one argon2 verification
//! (slow on purpose); authenticating a request is a signature check plus one read of the user
//! (a JWT) or of the key and the user (an API key); sealing a definition is one Fernet
//! encryption per sensitive field.

use std::sync::Arc;
use std::time::{Duration, Instant};

use apg_auth::{Keyring, NewUser, Security, SecurityConfig, TokenKind, issue_api_key, new_user};
use apg_core::{ApiKey, ApiKeyId, AuthStore, Role, Store, now_millis};

use super::bench::{Report, chain, median, ms};

/// Requests authenticated per measurement.
const REQUESTS: u32 = 2_000;

pub(super) async fn run(
	store: Arc<dyn Store>,
	accounts: Arc<dyn AuthStore>,
	report: &mut Report,
) -> anyhow::Result<()> {
	let keys = Arc::new(Keyring::from_keys(&Keyring::generate_key())?);
	let config = SecurityConfig {
		// The bench logs in more often than a person would.
		login_attempts_per_minute: 1_000,
		..SecurityConfig::default()
	};
	// The bench sends no notification: an empty memory store stands in for their table.
	let notifications = Arc::new(apg_store::MemoryStore::new());
	let security = Security::new(store, accounts.clone(), notifications, keys.clone(), config);
	let password = "bench-password-1";
	let user = new_user(NewUser {
		username: "bench".to_owned(),
		password: password.to_owned(),
		role: Role::Editor,
	})?;
	accounts.create_user(&user).await?;

	let mut samples = Vec::new();
	for _ in 0..11 {
		let began = Instant::now();
		security.authn.login("bench", password, "bench").await?;
		samples.push(began.elapsed());
	}
	report.add(
		"login: argon2id verification (median of 11)",
		ms(median(samples)),
		"tens of ms: slow on purpose",
	);

	let (jwt, _) = security.authn.issuer().issue(&user, TokenKind::Access);
	let per_jwt = per_request(|| security.authn.authenticate(&jwt)).await?;
	report.add(
		&format!("authenticate a request with a JWT (mean of {REQUESTS})"),
		us(per_jwt),
		"well under a step's cost",
	);

	let issued = issue_api_key();
	accounts
		.create_api_key(&ApiKey {
			id: ApiKeyId::new(),
			user_id: user.id,
			name: "bench".to_owned(),
			prefix: issued.prefix,
			hash: issued.hash,
			created_at: now_millis(),
			expires_at: None,
			revoked_at: None,
		})
		.await?;
	let per_key = per_request(|| security.authn.authenticate(&issued.key)).await?;
	report.add(
		&format!("authenticate a request with an API key (mean of {REQUESTS})"),
		us(per_key),
		"well under a step's cost",
	);

	// A 1,000-component definition with a sensitive field in every component.
	let mut definition = chain(1000);
	for c in definition["components"]
		.as_array_mut()
		.into_iter()
		.flatten()
	{
		c["config"]["api_key"] = serde_json::json!("sk_live_0123456789abcdef");
	}
	let mut samples = Vec::new();
	for _ in 0..5 {
		let mut d = definition.clone();
		let began = Instant::now();
		apg_auth::seal_definition(&mut d, None, &keys);
		samples.push(began.elapsed());
	}
	report.add(
		"seal 1,002 sensitive fields of a definition (median of 5)",
		ms(median(samples)),
		"small beside validation",
	);

	// A burst of logins, half under usernames that do not exist (they cost the same, so a
	// failed login does not tell which names exist): hashing runs one per core at a time, so
	// the burst queues instead of allocating 19 MiB per login at once.
	let began = Instant::now();
	let mut burst = tokio::task::JoinSet::new();
	for i in 0..LOGIN_BURST {
		let authn = security.authn.clone();
		let name = if i % 2 == 0 {
			"bench".to_owned()
		} else {
			format!("nobody{i}")
		};
		burst.spawn(async move { authn.login(&name, password, &format!("client{i}")).await });
	}
	let mut accepted = 0;
	while let Some(login) = burst.join_next().await {
		accepted += usize::from(login.is_ok_and(|l| l.is_ok()));
	}
	anyhow::ensure!(
		accepted == LOGIN_BURST / 2,
		"{accepted} logins of {LOGIN_BURST} accepted"
	);
	report.add(
		&format!("{LOGIN_BURST} concurrent logins, half for unknown users: all answered"),
		ms(began.elapsed()),
		"bounded memory (peak RSS)",
	);
	Ok(())
}

/// Logins sent at once by the burst measurement.
const LOGIN_BURST: usize = 40;

/// The mean time of one authentication, over [`REQUESTS`] in a row.
async fn per_request<F, Fut, T>(mut call: F) -> anyhow::Result<Duration>
where
	F: FnMut() -> Fut,
	Fut: std::future::Future<Output = Result<T, apg_auth::AuthError>>,
{
	call().await?;
	let began = Instant::now();
	for _ in 0..REQUESTS {
		call().await?;
	}
	Ok(began.elapsed() / REQUESTS)
}

fn us(d: Duration) -> String {
	format!("{:.1} µs", d.as_secs_f64() * 1e6)
}
