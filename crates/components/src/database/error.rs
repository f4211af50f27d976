//! [`DbError`]: why a `database_query` failed, typed so the engine's retry decision follows the
//! cause (the peer was unreachable or busy: retry; the statement is wrong: do not), and built
//! only from what is safe to show (the peer's address, the database's own message), never the
//! connection URL.

use std::time::Duration;

use apg_core::ComponentError;

/// A failure of `database_query`.
#[derive(Debug, thiserror::Error)]
pub(super) enum DbError {
	/// The config cannot work (message names the field).
	#[error("{0}")]
	Config(String),
	/// The SSRF guard refused or could not resolve the host.
	#[error("{0}")]
	Peer(ComponentError),
	/// The database could not be reached or the connection broke.
	#[error("cannot reach the database at {peer}: {message}")]
	Connect { peer: String, message: String },
	/// `statement_timeout` passed.
	#[error(
		"the statement ran longer than statement_timeout ({}s) and was stopped",
		.0.as_secs_f64()
	)]
	Timeout(Duration),
	/// More rows than `max_rows`.
	#[error(
		"the query returns more than max_rows ({0}) rows; add a LIMIT (and page with OFFSET) or \
		 raise max_rows"
	)]
	TooManyRows(usize),
	/// A failure another attempt may not repeat (deadlock, serialization, too many connections).
	#[error("the database asks to retry: {0}")]
	Transient(String),
	/// The database refused the statement, or a value could not be read.
	#[error("{0}")]
	Sql(String),
}

/// SQLSTATEs and MySQL error numbers that another attempt can get past.
const TRANSIENT: &[&str] = &[
	"40001", "40P01", "53300", "57P01", "57P02", "57P03", "1205", "1213", "1040",
];
/// Codes for "cancelled by the statement timeout" (PostgreSQL, MariaDB, MySQL, SQLite).
const CANCELLED: &[&str] = &["57014", "1969", "3024", "9"];

impl DbError {
	/// Classifies a driver error of a statement against `peer` (`host:port` or `SQLite`) run with
	/// `timeout`.
	pub(super) fn from_sqlx(e: sqlx::Error, peer: &str, timeout: Duration) -> Self {
		match e {
			sqlx::Error::Database(db) => {
				// MySQL's error number says more than its SQLSTATE (often just `HY000`).
				let code = match db.try_downcast_ref::<sqlx::mysql::MySqlDatabaseError>() {
					Some(my) => my.number().to_string(),
					None => db.code().map(|c| c.into_owned()).unwrap_or_default(),
				};
				let message = db.message().to_owned();
				if CANCELLED.contains(&code.as_str()) {
					Self::Timeout(timeout)
				} else if TRANSIENT.contains(&code.as_str()) {
					Self::Transient(format!("{message} (code {code})"))
				} else if code.is_empty() {
					Self::Sql(format!("the database refused the statement: {message}"))
				} else {
					Self::Sql(format!(
						"the database refused the statement: {message} (code {code})"
					))
				}
			}
			sqlx::Error::Io(_)
			| sqlx::Error::Tls(_)
			| sqlx::Error::Protocol(_)
			| sqlx::Error::PoolTimedOut
			| sqlx::Error::PoolClosed
			| sqlx::Error::WorkerCrashed => Self::Connect {
				peer: peer.to_owned(),
				message: e.to_string(),
			},
			// Its text may quote the options, which hold the password.
			sqlx::Error::Configuration(_) => {
				Self::Config("connection: the database URL's options are invalid".to_owned())
			}
			other => Self::Sql(other.to_string()),
		}
	}
}

impl From<DbError> for ComponentError {
	fn from(e: DbError) -> Self {
		match e {
			DbError::Peer(inner) => inner,
			DbError::Connect { .. } | DbError::Timeout(_) | DbError::Transient(_) => {
				Self::Retryable(e.to_string())
			}
			DbError::Config(_) | DbError::TooManyRows(_) | DbError::Sql(_) => {
				Self::Fatal(e.to_string())
			}
		}
	}
}
