//! Execution priority, 1 (lowest) to 10 (most urgent), as the seed's `priority: int = Field(5, ge=1,
//! le=10)`. Out-of-range values cannot be represented.

use serde::{Deserialize, Deserializer, Serialize};

use crate::error::Error;

/// A priority in 1..=10; 5 by default.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct Priority(u8);

impl Priority {
	/// The seed's default.
	pub const DEFAULT: Priority = Priority(5);

	/// Parses a priority, rejecting anything outside 1..=10.
	pub fn new(value: i64) -> Result<Self, Error> {
		if (1..=10).contains(&value) {
			Ok(Self(value as u8))
		} else {
			Err(Error::invalid(
				"priority",
				format!("must be between 1 and 10, got {value}"),
			))
		}
	}

	/// The numeric value.
	pub fn get(self) -> u8 {
		self.0
	}
}

impl Default for Priority {
	fn default() -> Self {
		Self::DEFAULT
	}
}

impl<'de> Deserialize<'de> for Priority {
	fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
		let value = i64::deserialize(d)?;
		Priority::new(value).map_err(serde::de::Error::custom)
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn priorities_outside_one_to_ten_are_rejected() {
		assert!(Priority::new(0).is_err());
		assert!(Priority::new(11).is_err());
		assert_eq!(Priority::new(10).unwrap().get(), 10);
		assert!(serde_json::from_str::<Priority>("42").is_err());
	}
}
