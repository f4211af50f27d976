//! Where a `database_query` connects: the `connection` URL parsed into one backend's connect
//! options, with the network peer passed through the SSRF guard and a SQLite file held inside the
//! file roots. Owns every decision about the URL, so no other module ever sees it as text (and no
//! error built here quotes it: it usually carries a password).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use sha2::{Digest, Sha256};
use sqlx::mysql::MySqlConnectOptions;
use sqlx::postgres::PgConnectOptions;
use sqlx::sqlite::SqliteConnectOptions;

use crate::net::{self, AllowList};

use super::DbError;

/// The database products this component speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Backend {
	/// PostgreSQL (`postgres://`, `postgresql://`).
	Postgres,
	/// MySQL or MariaDB (`mysql://`, `mariadb://`).
	MySql,
	/// SQLite (`sqlite:`): a file inside the file roots, or `sqlite::memory:`.
	Sqlite,
}

/// The connect options of one backend, ready for a pool.
#[derive(Clone, Debug)]
pub(super) enum Target {
	Postgres(PgConnectOptions),
	MySql(MySqlConnectOptions),
	Sqlite(SqliteConnectOptions),
}

/// The key of a URL in the pool cache: a hash, so the cache holds no URL (and a debug print of
/// it shows no password).
pub(super) type Key = [u8; 32];

/// The cache key of `url` opened `read_only` (SQLite opens read-only pools of its own).
pub(super) fn key(url: &str, read_only: bool) -> Key {
	let mut hash = Sha256::new();
	hash.update(url.as_bytes());
	hash.update([u8::from(read_only)]);
	hash.finalize().into()
}

/// The backend a URL names, by its scheme.
pub(super) fn backend(url: &str) -> Result<Backend, DbError> {
	let scheme = url.split_once(':').map(|(s, _)| s.to_ascii_lowercase());
	match scheme.as_deref() {
		Some("postgres" | "postgresql") => Ok(Backend::Postgres),
		Some("mysql" | "mariadb") => Ok(Backend::MySql),
		Some("sqlite") => Ok(Backend::Sqlite),
		_ => Err(DbError::Config(
			"connection: must be a postgres://, mysql:// (or mariadb://) or sqlite: URL".to_owned(),
		)),
	}
}

/// Whether `url` carries a password in clear (`scheme://user:password@host`, or `password=` in
/// its query), which `check_config` refuses outside a credential.
pub(super) fn has_password(url: &str) -> bool {
	match reqwest::Url::parse(url) {
		Ok(u) => {
			u.password().is_some_and(|p| !p.is_empty())
				|| u.query_pairs()
					.any(|(k, _)| k.eq_ignore_ascii_case("password"))
		}
		Err(_) => false,
	}
}

/// Parses `url`, checks its peer (a network host through the guard, a SQLite file against
/// `roots`), and returns connect options pinned to the checked address.
pub(super) async fn resolve(
	url: &str,
	read_only: bool,
	allow: &AllowList,
	roots: &[PathBuf],
) -> Result<Target, DbError> {
	let invalid = |what: &str| DbError::Config(format!("connection: not a valid {what} URL"));
	match backend(url)? {
		Backend::Postgres => {
			let options = PgConnectOptions::from_str(url).map_err(|_| invalid("PostgreSQL"))?;
			if options.get_socket().is_some() || options.get_host().starts_with('/') {
				return Err(socket_refused());
			}
			let addr = checked(options.get_host(), options.get_port(), allow).await?;
			Ok(Target::Postgres(
				options.host(&addr.ip().to_string()).port(addr.port()),
			))
		}
		Backend::MySql => {
			let url = url.replacen("mariadb:", "mysql:", 1);
			let options = MySqlConnectOptions::from_str(&url).map_err(|_| invalid("MySQL"))?;
			if options.get_socket().is_some() {
				return Err(socket_refused());
			}
			let addr = checked(options.get_host(), options.get_port(), allow).await?;
			Ok(Target::MySql(
				options.host(&addr.ip().to_string()).port(addr.port()),
			))
		}
		Backend::Sqlite => {
			let options = SqliteConnectOptions::from_str(url).map_err(|_| invalid("SQLite"))?;
			let in_memory = url.contains(":memory:") || url.contains("mode=memory");
			if !in_memory {
				inside_roots(options.get_filename(), roots)?;
			}
			Ok(Target::Sqlite(options.read_only(read_only && !in_memory)))
		}
	}
}

fn socket_refused() -> DbError {
	DbError::Config(
		"connection: a Unix socket is a local peer and is not allowed; use host:port".to_owned(),
	)
}

/// The first address of `host` the guard allows (the connection goes there, not to a second
/// lookup of the name).
async fn checked(host: &str, port: u16, allow: &AllowList) -> Result<SocketAddr, DbError> {
	let addrs = net::resolve_checked(host, port, allow)
		.await
		.map_err(DbError::Peer)?;
	Ok(addrs[0])
}

/// Refuses a SQLite file outside every root, after resolving `..` and symlinks (of the file, or of
/// its directory when the file does not exist yet).
fn inside_roots(file: &Path, roots: &[PathBuf]) -> Result<(), DbError> {
	let refused = || {
		DbError::Config(
			"connection: a SQLite file must lie inside the file roots (components.file_roots)"
				.to_owned(),
		)
	};
	let resolved = match file.canonicalize() {
		Ok(path) => path,
		Err(_) => {
			let parent = file.parent().filter(|p| !p.as_os_str().is_empty());
			let dir = parent
				.unwrap_or(Path::new("."))
				.canonicalize()
				.map_err(|_| refused())?;
			dir.join(file.file_name().ok_or_else(refused)?)
		}
	};
	let inside = roots
		.iter()
		.filter_map(|r| r.canonicalize().ok())
		.any(|root| resolved.starts_with(root));
	if inside { Ok(()) } else { Err(refused()) }
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn a_password_in_the_url_or_its_query_is_seen() {
		assert!(has_password("postgres://u:pw@db/x"));
		assert!(has_password("mysql://u@db/x?password=pw"));
		assert!(!has_password("postgres://u@db/x"));
		assert!(!has_password("sqlite:///tmp/x.db"));
	}

	#[test]
	fn the_key_differs_by_url_and_mode_and_holds_no_text() {
		assert_ne!(key("sqlite:a", false), key("sqlite:a", true));
		assert_ne!(key("sqlite:a", false), key("sqlite:b", false));
	}

	#[tokio::test]
	async fn a_sqlite_file_outside_the_roots_or_behind_a_symlink_is_refused() {
		let root = tempfile::tempdir().unwrap();
		let outside = tempfile::tempdir().unwrap();
		let roots = [root.path().to_owned()];
		let allow = AllowList::default();
		let inside = format!("sqlite://{}/a.db?mode=rwc", root.path().display());
		assert!(resolve(&inside, false, &allow, &roots).await.is_ok());
		let escape = format!("sqlite://{}/../x.db?mode=rwc", root.path().display());
		let err = resolve(&escape, false, &allow, &roots).await.unwrap_err();
		assert!(err.to_string().contains("inside the file roots"), "{err}");
		std::os::unix::fs::symlink(outside.path(), root.path().join("link")).unwrap();
		let linked = format!("sqlite://{}/link/x.db?mode=rwc", root.path().display());
		assert!(resolve(&linked, false, &allow, &roots).await.is_err());
	}

	#[tokio::test]
	async fn a_database_host_on_an_internal_address_is_refused_unless_allowed() {
		let url = "postgres://u@169.254.169.254:5432/x";
		let err = resolve(url, false, &AllowList::default(), &[])
			.await
			.unwrap_err();
		assert!(err.to_string().contains("internal address"), "{err}");
		let err = resolve("mysql://u@127.0.0.1/x", false, &AllowList::default(), &[])
			.await
			.unwrap_err();
		assert!(err.to_string().contains("internal address"), "{err}");
		let allow = AllowList::new(["127.0.0.1".to_owned()]);
		assert!(
			resolve("mysql://u@127.0.0.1/x", false, &allow, &[])
				.await
				.is_ok()
		);
	}
}
