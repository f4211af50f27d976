//! Running one statement on one backend: a transaction (read-only when asked), the statement
//! timeout set the way that backend enforces it, the values bound, and the rows streamed and
//! stopped at `max_rows` (never fetched unbounded). A connection that failed, overflowed or timed
//! out is closed rather than returned to the pool, since its state (an open transaction, rows
//! still arriving) is unknown.

use std::time::{Duration, Instant};

use futures_util::TryStreamExt;
use futures_util::stream::BoxStream;
use serde_json::{Map, Value, json};
use sqlx::pool::PoolConnection;
use sqlx::postgres::{PgArgumentBuffer, PgTypeInfo};
use sqlx::types::Json;
use sqlx::{Connection, Encode, Executor, MySql, Postgres, Sqlite, Type};

use super::DbError;
use super::params::Bound;
use super::pools::Pool;

/// What to run.
pub(super) struct Statement<'a> {
	pub(super) bound: Bound<'a>,
	pub(super) execute: bool,
	pub(super) read_only: bool,
	pub(super) timeout: Duration,
	pub(super) max_rows: usize,
	/// Columns whose text is JSON (`json_columns`).
	pub(super) json_columns: Vec<String>,
	/// `host:port` or `SQLite`, for errors.
	pub(super) peer: String,
}

/// Client-side grace past `statement_timeout` for the backends that enforce it server-side, so
/// the server's error (which names the cause) normally wins.
const GRACE: Duration = Duration::from_secs(2);

/// Runs `statement` on `pool`: `{rows, row_count, columns}` or `{rows_affected, …}`.
pub(super) async fn run(pool: &Pool, st: &Statement<'_>) -> Result<Value, DbError> {
	let err = |e: sqlx::Error| DbError::from_sqlx(e, &st.peer, st.timeout);
	match pool {
		Pool::Postgres(pool) => {
			let mut conn = pool.acquire().await.map_err(err)?;
			let result = bounded(st, postgres(&mut conn, st)).await;
			if result.is_err() {
				conn.close_on_drop();
			}
			result
		}
		Pool::MySql(pool) => {
			let mut conn = pool.acquire().await.map_err(err)?;
			let result = bounded(st, mysql(&mut conn, st)).await;
			if result.is_err() {
				conn.close_on_drop();
			}
			result
		}
		Pool::Sqlite(pool) => {
			let mut conn = pool.acquire().await.map_err(err)?;
			let result = bounded(st, sqlite(&mut conn, st)).await;
			if result.is_err() {
				conn.close_on_drop();
			}
			result
		}
	}
}

/// Awaits `work` for at most the statement timeout and [`GRACE`].
async fn bounded(
	st: &Statement<'_>,
	work: impl Future<Output = Result<Value, DbError>>,
) -> Result<Value, DbError> {
	match tokio::time::timeout(st.timeout + GRACE, work).await {
		Ok(result) => result,
		Err(_) => Err(DbError::Timeout(st.timeout)),
	}
}

async fn postgres(
	conn: &mut PoolConnection<Postgres>,
	st: &Statement<'_>,
) -> Result<Value, DbError> {
	let err = |e: sqlx::Error| DbError::from_sqlx(e, &st.peer, st.timeout);
	let begin = if st.read_only {
		"BEGIN READ ONLY"
	} else {
		"BEGIN"
	};
	let mut tx = conn.begin_with(begin).await.map_err(err)?;
	let ms = st.timeout.as_millis().max(1);
	(&mut *tx)
		.execute(format!("SET LOCAL statement_timeout = {ms}").as_str())
		.await
		.map_err(err)?;
	let mut query = sqlx::query(&st.bound.sql);
	for v in &st.bound.values {
		query = match v {
			Value::Null => query.bind(Untyped),
			Value::Bool(b) => query.bind(*b),
			Value::Number(n) => match n.as_i64() {
				Some(i) => query.bind(i),
				None => query.bind(n.as_f64()),
			},
			Value::String(s) => query.bind(s.as_str()),
			other => query.bind(Json(*other)),
		};
	}
	let out = if st.execute {
		let done = query.execute(&mut *tx).await.map_err(err)?;
		json!({"rows_affected": done.rows_affected()})
	} else {
		collect(query.fetch(&mut *tx), st, super::rows::postgres).await?
	};
	tx.commit().await.map_err(err)?;
	Ok(out)
}

async fn mysql(conn: &mut PoolConnection<MySql>, st: &Statement<'_>) -> Result<Value, DbError> {
	let err = |e: sqlx::Error| DbError::from_sqlx(e, &st.peer, st.timeout);
	// MariaDB's `max_statement_time` (seconds) stops any statement; MySQL has only
	// `max_execution_time` (milliseconds, SELECT only), so the client-side timeout backs it.
	let secs = st.timeout.as_secs_f64();
	let mariadb = format!("SET SESSION max_statement_time = {secs}");
	if (&mut **conn).execute(mariadb.as_str()).await.is_err() {
		let ms = st.timeout.as_millis().max(1);
		let mysql = format!("SET SESSION max_execution_time = {ms}");
		(&mut **conn).execute(mysql.as_str()).await.map_err(err)?;
	}
	let begin = if st.read_only {
		"START TRANSACTION READ ONLY"
	} else {
		"START TRANSACTION"
	};
	let mut tx = conn.begin_with(begin).await.map_err(err)?;
	let mut query = sqlx::query(&st.bound.sql);
	for v in &st.bound.values {
		query = match v {
			Value::Null => query.bind(None::<String>),
			Value::Bool(b) => query.bind(*b),
			Value::Number(n) => match n.as_i64() {
				Some(i) => query.bind(i),
				None => query.bind(n.as_f64()),
			},
			Value::String(s) => query.bind(s.as_str()),
			other => query.bind(Json(*other)),
		};
	}
	let out = if st.execute {
		let done = query.execute(&mut *tx).await.map_err(err)?;
		let id = done.last_insert_id();
		json!({"rows_affected": done.rows_affected(),
			"last_insert_id": if id == 0 { Value::Null } else { id.into() }})
	} else {
		collect(query.fetch(&mut *tx), st, super::rows::mysql).await?
	};
	tx.commit().await.map_err(err)?;
	Ok(out)
}

async fn sqlite(conn: &mut PoolConnection<Sqlite>, st: &Statement<'_>) -> Result<Value, DbError> {
	let err = |e: sqlx::Error| DbError::from_sqlx(e, &st.peer, st.timeout);
	// SQLite runs in this process: the progress handler interrupts the statement once the
	// deadline passes (SQLITE_INTERRUPT, read as the timeout).
	let deadline = Instant::now() + st.timeout;
	conn.lock_handle()
		.await
		.map_err(err)?
		.set_progress_handler(1000, move || Instant::now() < deadline);
	let result = sqlite_statement(conn, st).await;
	if let Ok(mut handle) = conn.lock_handle().await {
		handle.remove_progress_handler();
	}
	result
}

async fn sqlite_statement(
	conn: &mut PoolConnection<Sqlite>,
	st: &Statement<'_>,
) -> Result<Value, DbError> {
	let err = |e: sqlx::Error| DbError::from_sqlx(e, &st.peer, st.timeout);
	let mut tx = conn.begin_with("BEGIN").await.map_err(err)?;
	let mut query = sqlx::query(&st.bound.sql);
	for v in &st.bound.values {
		query = match v {
			Value::Null => query.bind(None::<String>),
			Value::Bool(b) => query.bind(*b),
			Value::Number(n) => match n.as_i64() {
				Some(i) => query.bind(i),
				None => query.bind(n.as_f64()),
			},
			Value::String(s) => query.bind(s.as_str()),
			other => query.bind(other.to_string()),
		};
	}
	let out = if st.execute {
		let done = query.execute(&mut *tx).await.map_err(err)?;
		json!({"rows_affected": done.rows_affected(), "last_insert_id": done.last_insert_rowid()})
	} else {
		collect(query.fetch(&mut *tx), st, super::rows::sqlite).await?
	};
	tx.commit().await.map_err(err)?;
	Ok(out)
}

/// Turns one row of a backend into a JSON object (`rows`), given the `json_columns`.
type Decoder<R> = fn(&R, &[String]) -> Result<Map<String, Value>, DbError>;

/// Reads rows until the stream ends or one more than `max_rows` arrives.
async fn collect<R: sqlx::Row>(
	mut stream: BoxStream<'_, Result<R, sqlx::Error>>,
	st: &Statement<'_>,
	decode: Decoder<R>,
) -> Result<Value, DbError> {
	let mut rows = Vec::new();
	let mut columns = Vec::new();
	while let Some(row) = stream
		.try_next()
		.await
		.map_err(|e| DbError::from_sqlx(e, &st.peer, st.timeout))?
	{
		if rows.len() == st.max_rows {
			return Err(DbError::TooManyRows(st.max_rows));
		}
		if rows.is_empty() {
			columns = super::rows::columns(&row);
		}
		let mut object = decode(&row, &st.json_columns)?;
		for name in &st.json_columns {
			if let Some(cell) = object.get_mut(name) {
				json_cell(name, cell)?;
			}
		}
		rows.push(Value::Object(object));
	}
	Ok(json!({"row_count": rows.len(), "columns": columns, "rows": rows}))
}

/// Parses a `json_columns` cell's text in place (`null` stays `null`; JSON stays JSON).
fn json_cell(name: &str, cell: &mut Value) -> Result<(), DbError> {
	if let Value::String(text) = cell {
		*cell = serde_json::from_str(text).map_err(|e| {
			DbError::Sql(format!(
				"column {name} is in json_columns but holds no JSON: {e}"
			))
		})?;
	}
	Ok(())
}

/// A PostgreSQL `NULL` of no declared type, so the server infers it from where it is used (a
/// `NULL` typed as text could not go into an integer column).
struct Untyped;

impl Type<Postgres> for Untyped {
	fn type_info() -> PgTypeInfo {
		PgTypeInfo::with_oid(sqlx::postgres::types::Oid(0))
	}
}

impl Encode<'_, Postgres> for Untyped {
	fn encode_by_ref(
		&self,
		_buf: &mut PgArgumentBuffer,
	) -> Result<sqlx::encode::IsNull, sqlx::error::BoxDynError> {
		Ok(sqlx::encode::IsNull::Yes)
	}
}
