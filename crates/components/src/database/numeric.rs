//! PostgreSQL `NUMERIC` as exact decimal text, read from the wire format here because the
//! driver's `BigDecimal` conversion drops the value's display scale (`12.50` came back as
//! `12.5000`) and refuses `NaN`. The binary format: digit count, weight (of the first base-10000
//! digit), sign (or NaN/±Infinity), display scale, then the base-10000 digits.

use sqlx::error::BoxDynError;
use sqlx::postgres::{PgTypeInfo, PgValueFormat, PgValueRef, Postgres};
use sqlx::{Decode, Type, TypeInfo};

/// A `NUMERIC` as the text PostgreSQL itself would print.
pub(super) struct NumericText(pub(super) String);

impl Type<Postgres> for NumericText {
	fn type_info() -> PgTypeInfo {
		PgTypeInfo::with_name("NUMERIC")
	}

	fn compatible(ty: &PgTypeInfo) -> bool {
		ty.name() == "NUMERIC"
	}
}

impl<'r> Decode<'r, Postgres> for NumericText {
	fn decode(value: PgValueRef<'r>) -> Result<Self, BoxDynError> {
		if value.format() == PgValueFormat::Text {
			return Ok(Self(value.as_str()?.to_owned()));
		}
		decode_binary(value.as_bytes()?).map(Self)
	}
}

fn decode_binary(bytes: &[u8]) -> Result<String, BoxDynError> {
	let word = |i: usize| -> Result<i16, BoxDynError> {
		let b = bytes
			.get(i * 2..i * 2 + 2)
			.ok_or("a NUMERIC value is truncated")?;
		Ok(i16::from_be_bytes([b[0], b[1]]))
	};
	let count = usize::try_from(word(0)?).map_err(|_| "a NUMERIC has a negative digit count")?;
	let weight = i64::from(word(1)?);
	let sign = word(2)? as u16;
	let scale = usize::try_from(word(3)?).map_err(|_| "a NUMERIC has a negative scale")?;
	match sign {
		0xC000 => return Ok("NaN".to_owned()),
		0xD000 => return Ok("Infinity".to_owned()),
		0xF000 => return Ok("-Infinity".to_owned()),
		_ => {}
	}
	let digits = (0..count)
		.map(|i| word(4 + i))
		.collect::<Result<Vec<i16>, _>>()?;
	// The base-10000 digit at position `p` (0: units group, -1: first fraction group, …).
	let at = |p: i64| -> i16 {
		usize::try_from(weight - p)
			.ok()
			.and_then(|i| digits.get(i).copied())
			.unwrap_or(0)
	};
	let mut out = String::new();
	if sign == 0x4000 {
		out.push('-');
	}
	if weight < 0 {
		out.push('0');
	} else {
		out.push_str(&at(weight).to_string());
		for p in (0..weight).rev() {
			out.push_str(&format!("{:04}", at(p)));
		}
	}
	if scale > 0 {
		out.push('.');
		let mut fraction = String::new();
		let mut p = -1;
		while fraction.len() < scale {
			fraction.push_str(&format!("{:04}", at(p)));
			p -= 1;
		}
		fraction.truncate(scale);
		out.push_str(&fraction);
	}
	Ok(out)
}

#[cfg(test)]
mod tests {
	use super::*;

	fn encode(weight: i16, sign: u16, scale: i16, digits: &[i16]) -> Vec<u8> {
		let mut out = Vec::new();
		for w in [digits.len() as i16, weight, sign as i16, scale] {
			out.extend(w.to_be_bytes());
		}
		for d in digits {
			out.extend(d.to_be_bytes());
		}
		out
	}

	#[test]
	fn the_display_scale_and_sign_are_kept() {
		assert_eq!(
			decode_binary(&encode(0, 0, 2, &[12, 5000])).unwrap(),
			"12.50"
		);
		assert_eq!(
			decode_binary(&encode(1, 0x4000, 0, &[1, 0])).unwrap(),
			"-10000"
		);
		assert_eq!(decode_binary(&encode(-1, 0, 3, &[10])).unwrap(), "0.001");
		assert_eq!(decode_binary(&encode(0, 0, 0, &[])).unwrap(), "0");
		assert_eq!(
			decode_binary(&encode(4, 0, 2, &[1234, 5678, 9012, 3456, 7890, 100])).unwrap(),
			"12345678901234567890.01"
		);
		assert_eq!(decode_binary(&encode(0, 0xC000, 0, &[])).unwrap(), "NaN");
		assert!(decode_binary(&[0, 1]).is_err());
	}
}
