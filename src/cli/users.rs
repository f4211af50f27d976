//! `apg-workflow user create|list|passwd|role` and `apg-workflow keys generate|reseal`: account
//! and key administration straight on the store (for the first set-up, a lost admin password,
//! or scripts), with no server running.

use std::io::BufRead;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, bail};
use apg_auth::{Keyring, NewUser, check_password, hash_password, new_user};
use apg_core::{AuthStore, Role, Store, now_millis};
use clap::{Args, Subcommand};

use super::StoreArgs;

#[derive(Subcommand, Debug)]
pub(crate) enum UserCommand {
	/// Create a user (the password is read from stdin, or generated and printed once).
	Create(UserCreateArgs),
	/// List users.
	List(StoreArgs),
	/// Set a user's password (read from stdin, or generated and printed once).
	Passwd(UserPasswdArgs),
}

#[derive(Args, Debug)]
pub(crate) struct UserCreateArgs {
	/// Login name.
	pub(crate) username: String,
	/// admin, editor, operator or viewer.
	#[arg(long, default_value = "editor")]
	pub(crate) role: String,
	/// Read the password from the first line of stdin instead of generating one.
	#[arg(long)]
	pub(crate) password_stdin: bool,
	#[command(flatten)]
	pub(crate) store: StoreArgs,
}

#[derive(Args, Debug)]
pub(crate) struct UserPasswdArgs {
	/// Login name.
	pub(crate) username: String,
	/// Read the password from the first line of stdin instead of generating one.
	#[arg(long)]
	pub(crate) password_stdin: bool,
	#[command(flatten)]
	pub(crate) store: StoreArgs,
}

#[derive(Subcommand, Debug)]
pub(crate) enum KeysCommand {
	/// Print a new Fernet key for WORKFLOW_ENCRYPTION_KEY.
	Generate,
	/// Re-encrypt every credential with the first key of WORKFLOW_ENCRYPTION_KEY (after adding
	/// a new key in front of the old ones), so the old key can then be removed.
	Reseal(StoreArgs),
}

/// Opens the store of `args` as an account store.
async fn accounts(args: &StoreArgs) -> anyhow::Result<Arc<dyn AuthStore>> {
	Ok(match &args.database_url {
		Some(url) => super::load::open_postgres(url).await?,
		None => Arc::new(super::load::open_sqlite(args).await?),
	})
}

/// The password: the first line of stdin, or a generated one (`true`: print it).
fn password(from_stdin: bool) -> anyhow::Result<(String, bool)> {
	if !from_stdin {
		return Ok((apg_auth::generate_password(), true));
	}
	let mut line = String::new();
	std::io::stdin()
		.lock()
		.read_line(&mut line)
		.context("cannot read the password from stdin")?;
	let line = line.trim_end_matches(['\r', '\n']).to_owned();
	check_password(&line).map_err(anyhow::Error::msg)?;
	Ok((line, false))
}

pub(crate) async fn user(command: UserCommand) -> anyhow::Result<ExitCode> {
	match command {
		UserCommand::Create(args) => {
			let role: Role = args.role.parse().map_err(anyhow::Error::msg)?;
			let (password, show) = password(args.password_stdin)?;
			let user = new_user(NewUser {
				username: args.username,
				password: password.clone(),
				role,
			})
			.map_err(anyhow::Error::msg)?;
			accounts(&args.store).await?.create_user(&user).await?;
			println!("created {} ({}) id {}", user.username, user.role, user.id);
			if show {
				println!("password: {password}");
			}
		}
		UserCommand::List(args) => {
			for u in accounts(&args).await?.list_users().await? {
				let state = if u.active { "active" } else { "disabled" };
				println!("{}\t{}\t{}\t{}", u.id, u.username, u.role, state);
			}
		}
		UserCommand::Passwd(args) => {
			let store = accounts(&args.store).await?;
			let Some(mut user) = store.find_user(&args.username).await? else {
				bail!("no user named {}", args.username);
			};
			let (password, show) = password(args.password_stdin)?;
			user.password_hash = hash_password(&password);
			user.updated_at = now_millis();
			store.update_user(&user).await?;
			if args.store.database_url.is_none() {
				// A server running on these files drops its cached copy of the account.
				apg_auth::mark_accounts_changed(&args.store.data_dir)
					.context("cannot tell a running server that the account changed")?;
			}
			println!("password of {} changed", user.username);
			if show {
				println!("password: {password}");
			}
		}
	}
	Ok(ExitCode::SUCCESS)
}

pub(crate) async fn keys(command: KeysCommand) -> anyhow::Result<ExitCode> {
	match command {
		KeysCommand::Generate => println!("{}", Keyring::generate_key()),
		KeysCommand::Reseal(args) => {
			let keys = match std::env::var("WORKFLOW_ENCRYPTION_KEY") {
				Ok(k) => Keyring::from_keys(&k)?,
				Err(_) if args.database_url.is_none() => Keyring::from_data_dir(&args.data_dir)?,
				Err(_) => bail!("set WORKFLOW_ENCRYPTION_KEY"),
			};
			let store: Arc<dyn Store> = super::load::open_store(Some(&args)).await?;
			let accounts = accounts(&args).await?;
			let mut resealed = 0;
			for mut c in accounts.list_credentials(None).await? {
				if keys.is_current(&c.token) {
					continue;
				}
				let plain = keys
					.decrypt(&c.token)
					.with_context(|| format!("credential {}", c.name))?;
				c.token = keys.encrypt(&plain);
				c.updated_at = now_millis();
				accounts.update_credential(&c).await?;
				resealed += 1;
			}
			let workflows = reseal_workflows(&*store, &keys).await?;
			println!(
				"resealed {resealed} credentials and {workflows} workflows with the first key"
			);
		}
	}
	Ok(ExitCode::SUCCESS)
}

/// Re-encrypts the sealed config values of every workflow's current definition as a new version
/// (versions are immutable, and new executions run the newest). Older versions keep their
/// tokens: executions pinned to them (a retry of an old run) need the old key while it matters.
async fn reseal_workflows(store: &dyn Store, keys: &Keyring) -> anyhow::Result<usize> {
	let mut count = 0;
	let mut offset = 0;
	loop {
		let filter = apg_core::WorkflowFilter {
			limit: 500,
			offset,
			..Default::default()
		};
		let page = store.list_workflows(&filter).await?;
		if page.is_empty() {
			break;
		}
		offset += page.len() as i64;
		for mut w in page {
			let mut changed = false;
			for c in &mut w.definition.components {
				for v in c.config.values_mut() {
					changed |= reseal_value(v, keys)?;
				}
			}
			if changed {
				w.version += 1;
				w.updated_at = now_millis();
				store.update_workflow(&w).await?;
				count += 1;
			}
		}
	}
	Ok(count)
}

fn reseal_value(v: &mut serde_json::Value, keys: &Keyring) -> anyhow::Result<bool> {
	use apg_core::secrets::SEALED_PREFIX;
	Ok(match v {
		serde_json::Value::String(s) => match s.strip_prefix(SEALED_PREFIX) {
			Some(token) if !keys.is_current(token) => {
				let plain = keys.decrypt(token)?;
				*s = format!("{SEALED_PREFIX}{}", keys.encrypt(&plain));
				true
			}
			_ => false,
		},
		serde_json::Value::Array(items) => {
			let mut any = false;
			for i in items {
				any |= reseal_value(i, keys)?;
			}
			any
		}
		serde_json::Value::Object(map) => {
			let mut any = false;
			for i in map.values_mut() {
				any |= reseal_value(i, keys)?;
			}
			any
		}
		_ => false,
	})
}
