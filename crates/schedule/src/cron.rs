//! A cron expression read in a time zone: parsing (5 fields from the minute, or 6 from the
//! second, as `croner` reads them), the next fire times, and which fire times are due after a
//! pause in ticking.
//!
//! Daylight saving time is `croner`'s (the Open Cron Pattern Specification, as Vixie cron): a
//! fixed time that falls in the spring-forward gap fires at the first valid time after it, the
//! same day; a fixed time in the repeated autumn hour fires once; wildcard and interval fields
//! fire for every matching instant in real time.

use apg_core::schedule::CATCH_UP_LIMIT;
use apg_core::{CatchUp, Millis};
use chrono::{DateTime, TimeZone, Utc};
use chrono_tz::Tz;
use croner::Cron;
use croner::parser::{CronParser, Seconds, Year};

/// A fire is on time when it is handled within this of its time (twenty ticks of the
/// scheduler); older ones were missed (no node was running) and follow `catch_up`.
pub const GRACE_MS: Millis = 10_000;

/// Why a schedule's expression or zone was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CronError {
	/// The expression does not parse.
	#[error("invalid cron expression: {0}")]
	Expression(String),
	/// The time zone is not an IANA name.
	#[error("unknown time zone '{0}' (an IANA name such as UTC or Europe/Paris)")]
	Zone(String),
}

/// A parsed expression and its zone.
#[derive(Clone, Debug)]
pub struct CronSpec {
	cron: Cron,
	zone: Tz,
}

impl CronSpec {
	/// Parses `expression` (5 or 6 fields) for the zone `zone`.
	pub fn parse(expression: &str, zone: &str) -> Result<Self, CronError> {
		let zone: Tz = zone.parse().map_err(|_| CronError::Zone(zone.to_owned()))?;
		let fields = expression.split_whitespace().count();
		if !(5..=6).contains(&fields) && !expression.trim_start().starts_with('@') {
			return Err(CronError::Expression(format!(
				"'{expression}' has {fields} fields; a cron expression has 5 (minute hour \
				 day-of-month month day-of-week) or 6 (with the second first)"
			)));
		}
		let cron = CronParser::builder()
			.seconds(Seconds::Optional)
			.year(Year::Disallowed)
			.build()
			.parse(expression)
			.map_err(|e| CronError::Expression(e.to_string()))?;
		Ok(Self { cron, zone })
	}

	fn local(&self, at: Millis) -> Option<DateTime<Tz>> {
		Utc.timestamp_millis_opt(at)
			.single()
			.map(|t| t.with_timezone(&self.zone))
	}

	/// `at` as RFC 3339 in the schedule's zone (`2026-12-04T09:00:00.000+01:00`).
	pub fn in_zone(&self, at: Millis) -> String {
		self.local(at).map_or_else(String::new, |t| {
			t.to_rfc3339_opts(chrono::SecondsFormat::Millis, false)
		})
	}

	/// The first fire time strictly after `at`.
	pub fn next_after(&self, at: Millis) -> Option<Millis> {
		let from = self.local(at)?;
		let next = self.cron.find_next_occurrence(&from, false).ok()?;
		Some(next.timestamp_millis())
	}

	/// The first fire time at or after `at`.
	pub fn next_from(&self, at: Millis) -> Option<Millis> {
		let from = self.local(at)?;
		let next = self.cron.find_next_occurrence(&from, true).ok()?;
		Some(next.timestamp_millis())
	}

	/// The next `n` fire times after `at`.
	pub fn upcoming(&self, at: Millis, n: usize) -> Vec<Millis> {
		let mut times = Vec::with_capacity(n);
		let mut from = at;
		while times.len() < n {
			let Some(next) = self.next_after(from) else {
				break;
			};
			times.push(next);
			from = next;
		}
		times
	}

	/// The fire times that are due at `now` for a schedule whose next unhandled time is
	/// `next`, oldest first: every on-time one (within [`GRACE_MS`] of `now`), and of the
	/// missed ones what `catch_up` keeps (none, the latest, or the latest
	/// [`CATCH_UP_LIMIT`]). Walks back from `now`, so a long downtime of a per-second
	/// schedule costs no more than what is kept.
	pub fn due(&self, next: Millis, now: Millis, catch_up: CatchUp) -> Vec<Millis> {
		let keep_missed = match catch_up {
			CatchUp::None => 0,
			CatchUp::Latest => 1,
			CatchUp::All => CATCH_UP_LIMIT,
		};
		let mut due = Vec::new();
		let mut missed = 0;
		let Some(mut at) = self.local(now) else {
			return due;
		};
		let mut inclusive = true;
		while let Ok(prev) = self.cron.find_previous_occurrence(&at, inclusive) {
			let t = prev.timestamp_millis();
			if t < next {
				break;
			}
			if t >= now - GRACE_MS {
				due.push(t);
			} else if missed < keep_missed {
				due.push(t);
				missed += 1;
			} else {
				break;
			}
			at = prev;
			inclusive = false;
		}
		due.reverse();
		due
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	fn utc(text: &str) -> Millis {
		DateTime::parse_from_rfc3339(text)
			.unwrap()
			.timestamp_millis()
	}

	fn iso(at: Millis, zone: &str) -> String {
		let zone: Tz = zone.parse().unwrap();
		Utc.timestamp_millis_opt(at)
			.unwrap()
			.with_timezone(&zone)
			.to_rfc3339()
	}

	#[test]
	fn five_and_six_fields_parse_and_others_are_refused() {
		assert!(CronSpec::parse("0 2 * * *", "UTC").is_ok());
		assert!(CronSpec::parse("*/10 * * * * *", "UTC").is_ok());
		assert!(CronSpec::parse("0 2 * *", "UTC").is_err());
		assert!(CronSpec::parse("0 0 2 * * * 2030", "UTC").is_err());
		assert!(CronSpec::parse("61 * * * *", "UTC").is_err());
		assert!(CronSpec::parse("not cron", "UTC").is_err());
		assert_eq!(
			CronSpec::parse("0 2 * * *", "Mars/Olympus").unwrap_err(),
			CronError::Zone("Mars/Olympus".into())
		);
	}

	#[test]
	fn times_are_read_in_the_zone() {
		let spec = CronSpec::parse("0 9 * * *", "Europe/Paris").unwrap();
		let next = spec.next_after(utc("2026-12-03T10:00:00Z")).unwrap();
		assert_eq!(iso(next, "Europe/Paris"), "2026-12-04T09:00:00+01:00");
		let five = spec.upcoming(utc("2026-12-03T10:00:00Z"), 5);
		assert_eq!(five.len(), 5);
		assert!(five.windows(2).all(|w| w[1] - w[0] == 86_400_000));
	}

	#[test]
	fn daylight_saving_time_moves_or_keeps_one_fire() {
		let spec = CronSpec::parse("30 2 * * *", "Europe/Paris").unwrap();
		// 2027-03-28: 02:00 → 03:00. The 02:30 that does not exist fires at 03:00.
		let spring = spec.next_after(utc("2027-03-27T12:00:00Z")).unwrap();
		assert_eq!(iso(spring, "Europe/Paris"), "2027-03-28T03:00:00+02:00");
		// 2027-10-31: 03:00 → 02:00. The 02:30 that happens twice fires once.
		let first = spec.next_after(utc("2027-10-30T12:00:00Z")).unwrap();
		assert_eq!(iso(first, "Europe/Paris"), "2027-10-31T02:30:00+02:00");
		let then = spec.next_after(first).unwrap();
		assert_eq!(iso(then, "Europe/Paris"), "2027-11-01T02:30:00+01:00");
	}

	#[test]
	fn due_follows_catch_up_after_a_downtime() {
		let spec = CronSpec::parse("0 * * * *", "UTC").unwrap();
		// Down from 03:30 to 08:00:10: 04:00–07:00 were missed, 08:00 is on time.
		let next = utc("2026-12-03T04:00:00Z");
		let now = utc("2026-12-03T08:00:10Z");
		let hours = |v: Vec<Millis>| {
			v.iter()
				.map(|t| iso(*t, "UTC")[11..13].to_owned())
				.collect::<Vec<_>>()
		};
		assert_eq!(hours(spec.due(next, now, CatchUp::None)), ["08"]);
		assert_eq!(hours(spec.due(next, now, CatchUp::Latest)), ["07", "08"]);
		assert_eq!(
			hours(spec.due(next, now, CatchUp::All)),
			["04", "05", "06", "07", "08"]
		);
		// Nothing due before the next time.
		assert!(
			spec.due(utc("2026-12-03T09:00:00Z"), now, CatchUp::All)
				.is_empty()
		);
	}

	#[test]
	fn catching_up_a_long_downtime_is_capped() {
		let spec = CronSpec::parse("* * * * * *", "UTC").unwrap();
		let now = utc("2026-12-03T08:00:00Z");
		let due = spec.due(now - 86_400_000, now, CatchUp::All);
		// The 11 seconds of the grace period, and the 100 latest missed before them.
		assert_eq!(due.len(), 11 + CATCH_UP_LIMIT);
		assert!(due.windows(2).all(|w| w[0] < w[1]));
		assert_eq!(*due.last().unwrap(), now);
	}
}
