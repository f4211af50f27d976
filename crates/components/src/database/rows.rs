//! Rows as JSON objects with their column types kept, one function per backend because each
//! reports types its own way. The mapping (the same for all three where the type exists):
//!
//! - integers and floats → JSON numbers (a float that JSON cannot hold, NaN or ±∞, → its text);
//! - booleans → `true`/`false`; SQL `NULL` → `null`;
//! - `NUMERIC`/`DECIMAL` → a **string** with every digit (`"12345678901234567890.01"`): the
//!   engine's JSON numbers are `f64`, which would silently round money; a transform or template
//!   can still turn it into a number where rounding is fine;
//! - `TIMESTAMPTZ` (and MySQL `TIMESTAMP`, which the driver reads in UTC) → RFC 3339 with `Z`;
//!   `TIMESTAMP` without a zone / `DATETIME` → ISO 8601 without an offset (adding one would
//!   invent a zone the value does not have); `DATE`, `TIME` → ISO 8601;
//! - `JSON`/`JSONB` → the JSON value itself. MariaDB sends a JSON column as a binary-collated
//!   `LONGTEXT`, which its protocol does not tell apart from a `LONGBLOB`; name such columns in
//!   `json_columns` (which parses any text column as JSON, on every backend);
//! - bytes (`BYTEA`, `BLOB`, `BINARY`) → standard base64; text, `UUID`, enums → strings.
//!
//! SQLite is dynamically typed, so it is read by each value's storage class, with a declared
//! `BOOLEAN` read as a boolean. A type not listed fails with the column's name and type and how
//! to cast it (`::text`), rather than guessing.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use bigdecimal::BigDecimal;
use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, SecondsFormat, Utc};
use serde_json::{Map, Number, Value};
use sqlx::mysql::MySqlRow;
use sqlx::postgres::PgRow;
use sqlx::sqlite::SqliteRow;
use sqlx::{Column, Decode, Row, Type, TypeInfo, ValueRef};

use super::DbError;
use super::numeric::NumericText;

/// A row of PostgreSQL.
pub(super) fn postgres(row: &PgRow, _json: &[String]) -> Result<Map<String, Value>, DbError> {
	let mut out = Map::with_capacity(row.len());
	for (i, column) in row.columns().iter().enumerate() {
		let ty = column.type_info().name();
		let value = if row
			.try_get_raw(i)
			.map_err(decode(column.name(), ty))?
			.is_null()
		{
			Value::Null
		} else {
			match ty {
				"BOOL" => Value::Bool(get(row, i, ty)?),
				"INT2" => get::<i16, _>(row, i, ty)?.into(),
				"INT4" => get::<i32, _>(row, i, ty)?.into(),
				"INT8" => get::<i64, _>(row, i, ty)?.into(),
				"FLOAT4" => float(f64::from(get::<f32, _>(row, i, ty)?)),
				"FLOAT8" => float(get(row, i, ty)?),
				"NUMERIC" => Value::String(get::<NumericText, _>(row, i, ty)?.0),
				"JSON" | "JSONB" => get(row, i, ty)?,
				"TIMESTAMPTZ" => timestamp(get(row, i, ty)?),
				"TIMESTAMP" => naive(get(row, i, ty)?),
				"DATE" => Value::String(get::<NaiveDate, _>(row, i, ty)?.to_string()),
				"TIME" => Value::String(get::<NaiveTime, _>(row, i, ty)?.to_string()),
				"BYTEA" => bytes(&get::<Vec<u8>, _>(row, i, ty)?),
				"UUID" => Value::String(get::<sqlx::types::Uuid, _>(row, i, ty)?.to_string()),
				_ => Value::String(get(row, i, ty)?),
			}
		};
		out.insert(column.name().to_owned(), value);
	}
	Ok(out)
}

/// A row of MySQL or MariaDB; the `json` columns are read as text for the caller to parse.
pub(super) fn mysql(row: &MySqlRow, json: &[String]) -> Result<Map<String, Value>, DbError> {
	let mut out = Map::with_capacity(row.len());
	for (i, column) in row.columns().iter().enumerate() {
		let ty = column.type_info().name();
		let value = if row
			.try_get_raw(i)
			.map_err(decode(column.name(), ty))?
			.is_null()
		{
			Value::Null
		} else if json.iter().any(|name| name == column.name()) {
			let bytes: Vec<u8> = row
				.try_get_unchecked(i)
				.map_err(|e| DbError::Sql(format!("column {}: {e}", column.name())))?;
			Value::String(String::from_utf8_lossy(&bytes).into_owned())
		} else {
			match ty {
				"BOOLEAN" => Value::Bool(get(row, i, ty)?),
				"TINYINT" => get::<i8, _>(row, i, ty)?.into(),
				"SMALLINT" | "YEAR" => get::<i16, _>(row, i, ty)?.into(),
				"MEDIUMINT" | "INT" => get::<i32, _>(row, i, ty)?.into(),
				"BIGINT" => get::<i64, _>(row, i, ty)?.into(),
				"TINYINT UNSIGNED" => get::<u8, _>(row, i, ty)?.into(),
				"SMALLINT UNSIGNED" => get::<u16, _>(row, i, ty)?.into(),
				"MEDIUMINT UNSIGNED" | "INT UNSIGNED" => get::<u32, _>(row, i, ty)?.into(),
				"BIGINT UNSIGNED" | "BIT" => get::<u64, _>(row, i, ty)?.into(),
				"FLOAT" => float(f64::from(get::<f32, _>(row, i, ty)?)),
				"DOUBLE" => float(get(row, i, ty)?),
				"DECIMAL" => Value::String(get::<BigDecimal, _>(row, i, ty)?.to_string()),
				"JSON" => get(row, i, ty)?,
				"TIMESTAMP" => timestamp(get(row, i, ty)?),
				"DATETIME" => naive(get(row, i, ty)?),
				"DATE" => Value::String(get::<NaiveDate, _>(row, i, ty)?.to_string()),
				"TIME" => Value::String(get::<NaiveTime, _>(row, i, ty)?.to_string()),
				"BINARY" | "VARBINARY" | "TINYBLOB" | "BLOB" | "MEDIUMBLOB" | "LONGBLOB" => {
					bytes(&get::<Vec<u8>, _>(row, i, ty)?)
				}
				_ => Value::String(get(row, i, ty)?),
			}
		};
		out.insert(column.name().to_owned(), value);
	}
	Ok(out)
}

/// A row of SQLite, by each value's storage class.
pub(super) fn sqlite(row: &SqliteRow, _json: &[String]) -> Result<Map<String, Value>, DbError> {
	let mut out = Map::with_capacity(row.len());
	for (i, column) in row.columns().iter().enumerate() {
		let declared = column.type_info().name();
		let raw = row
			.try_get_raw(i)
			.map_err(decode(column.name(), declared))?;
		// A NULL reports the declared type, so it is checked first.
		let class = if raw.is_null() {
			"NULL".to_owned()
		} else {
			raw.type_info().name().to_owned()
		};
		let value = match class.as_str() {
			"NULL" => Value::Null,
			"INTEGER" if declared == "BOOLEAN" => Value::Bool(get_sqlite::<bool>(row, i)?),
			"INTEGER" | "BOOLEAN" => get_sqlite::<i64>(row, i)?.into(),
			"REAL" => float(get_sqlite(row, i)?),
			"BLOB" => bytes(&get_sqlite::<Vec<u8>>(row, i)?),
			_ => Value::String(get_sqlite(row, i)?),
		};
		out.insert(column.name().to_owned(), value);
	}
	Ok(out)
}

/// The column names of a row, in order.
pub(super) fn columns<R: Row>(row: &R) -> Vec<Value> {
	row.columns()
		.iter()
		.map(|c| Value::String(c.name().to_owned()))
		.collect()
}

fn get<'r, T, R>(row: &'r R, i: usize, ty: &str) -> Result<T, DbError>
where
	R: Row,
	T: Decode<'r, R::Database> + Type<R::Database>,
	usize: sqlx::ColumnIndex<R>,
{
	let name = row.columns()[i].name().to_owned();
	row.try_get(i).map_err(|e| {
		DbError::Sql(format!(
			"column {name} has type {ty}, which database_query does not read ({e}); cast it in \
			 the query (for example to text)"
		))
	})
}

/// SQLite values convert between storage classes, so they are decoded unchecked (the class
/// picked the Rust type already).
fn get_sqlite<'r, T>(row: &'r SqliteRow, i: usize) -> Result<T, DbError>
where
	T: Decode<'r, sqlx::Sqlite>,
{
	row.try_get_unchecked(i)
		.map_err(|e| DbError::Sql(format!("column {}: {e}", row.columns()[i].name())))
}

fn decode(name: &str, ty: &str) -> impl FnOnce(sqlx::Error) -> DbError {
	let message = format!("column {name} ({ty}) cannot be read");
	move |e| DbError::Sql(format!("{message}: {e}"))
}

fn float(f: f64) -> Value {
	Number::from_f64(f).map_or_else(|| Value::String(f.to_string()), Value::Number)
}

fn timestamp(t: DateTime<Utc>) -> Value {
	Value::String(t.to_rfc3339_opts(SecondsFormat::AutoSi, true))
}

fn naive(t: NaiveDateTime) -> Value {
	Value::String(t.format("%Y-%m-%dT%H:%M:%S%.f").to_string())
}

fn bytes(b: &[u8]) -> Value {
	Value::String(STANDARD.encode(b))
}
