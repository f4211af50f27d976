//! Login throttling, so a password cannot be guessed online however the guesses are spread.
//!
//! Three counters of *failed* logins, each with its own lock-out:
//!
//! - per client address and username: the plain guesser;
//! - per username, across addresses: many addresses against one account;
//! - per client address, across usernames: one address trying a common password on many
//!   accounts (password spraying). It allows twice as many failures, since people behind one
//!   NAT mistype too.
//!
//! A counter allows `N` failures (`APG_LOGIN_ATTEMPTS_PER_MINUTE`, 10); the `N`-th locks it for
//! 15 s, and every later failure locks it for twice as long as the last, up to 15 minutes. A
//! locked counter refuses with 429 before the password is checked, and a refused attempt is not
//! a failure, so hammering a lock does not lengthen it: one failure locks for at most 15 minutes.
//! A counter forgets its failures after an hour without one. So a sustained attack gets about
//! `N` + 7 guesses in its first quarter hour and four an hour after that, per account and per
//! address, whatever the number of addresses.
//!
//! The decision about lock-outs: an attacker can keep an account locked against *new*
//! addresses, for at most 15 minutes per failure. An address from which the account logged in
//! successfully (in the last 30 days, on this node) is not held back by the account's or the
//! address's counter, only by its own (address, username) one, as OWASP's "device cookie"
//! advice has it with the address as the device: the user at their usual place still gets in
//! during an attack, and the attacker cannot make an address known without the password.
//!
//! Besides, at most `N` attempts a minute, failed or not, per address and username (each costs
//! an argon2 verification).
//!
//! IPv6 clients are counted by their /64 (one host commonly holds a whole /64). Client
//! addresses are the TCP peer's, or the forwarded client's behind a configured trusted proxy
//! (see the README); `X-Forwarded-For` from anyone else is ignored.
//!
//! State is in memory per node, bounded (about 100,000 entries per table): behind a load
//! balancer each node counts alone, which multiplies the guesses by the number of nodes at most.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::error::AuthError;

/// The first lock-out.
const FIRST_LOCK: Duration = Duration::from_secs(15);
/// The longest lock-out one failure causes.
const LONGEST_LOCK: Duration = Duration::from_secs(15 * 60);
/// Failures are forgotten after this long without one.
const FORGET: Duration = Duration::from_secs(3600);
/// How long a successful login keeps its address known to the account.
const KNOWN_FOR: Duration = Duration::from_secs(30 * 24 * 3600);
/// The window of the attempts-per-minute cap.
const MINUTE: Duration = Duration::from_secs(60);
/// Entries per table before stale ones are dropped.
const MAX_ENTRIES: usize = 100_000;
/// Characters of a username that key the counters (valid ones have at most 64; longer input is
/// cut so it cannot fill memory).
const NAME_CHARS: usize = 64;

/// The failures of one counter.
#[derive(Clone, Copy, Debug)]
struct Strikes {
	failures: u32,
	last: Instant,
	locked_until: Option<Instant>,
}

impl Strikes {
	fn new(now: Instant) -> Self {
		Self {
			failures: 0,
			last: now,
			locked_until: None,
		}
	}

	/// How long it stays locked, if it is.
	fn locked(&self, now: Instant) -> Option<Duration> {
		self.locked_until
			.filter(|until| *until > now)
			.map(|until| until - now)
	}

	fn stale(&self, now: Instant) -> bool {
		self.locked(now).is_none() && now.duration_since(self.last) >= FORGET
	}

	/// Counts a failure; from the `allowed`-th on, locks with a doubling back-off.
	fn strike(&mut self, now: Instant, allowed: u32) {
		if now.duration_since(self.last) >= FORGET {
			self.failures = 0;
		}
		self.failures = self.failures.saturating_add(1);
		self.last = now;
		if self.failures >= allowed {
			let doublings = (self.failures - allowed).min(16);
			let lock = FIRST_LOCK.saturating_mul(1 << doublings).min(LONGEST_LOCK);
			self.locked_until = Some(now + lock);
		}
	}
}

#[derive(Default)]
struct Tables {
	/// (address, username) → failures.
	pairs: HashMap<String, Strikes>,
	/// username → failures from every address.
	accounts: HashMap<String, Strikes>,
	/// address → failures against every username.
	addresses: HashMap<String, Strikes>,
	/// (address, username) → its last successful login.
	known: HashMap<String, Instant>,
	/// (address, username) → the start of its minute and the attempts in it.
	attempts: HashMap<String, (Instant, u32)>,
}

impl Tables {
	fn prune(&mut self, now: Instant) {
		for table in [&mut self.pairs, &mut self.accounts, &mut self.addresses] {
			if table.len() > MAX_ENTRIES {
				table.retain(|_, s| !s.stale(now));
			}
			if table.len() > MAX_ENTRIES {
				// Still full of fresh entries (a flood of new names): keep only the locks.
				table.retain(|_, s| s.locked(now).is_some());
			}
		}
		if self.known.len() > MAX_ENTRIES {
			self.known
				.retain(|_, at| now.duration_since(*at) < KNOWN_FOR);
		}
		if self.known.len() > MAX_ENTRIES {
			// Forget the oldest half rather than refuse to learn.
			let mut ages: Vec<Instant> = self.known.values().copied().collect();
			ages.sort_unstable();
			let cut = ages[ages.len() / 2];
			self.known.retain(|_, at| *at > cut);
		}
		if self.attempts.len() > MAX_ENTRIES {
			self.attempts
				.retain(|_, (start, _)| now.duration_since(*start) < MINUTE);
		}
	}
}

/// The keys one login attempt is counted under.
struct Keys {
	pair: String,
	account: String,
	address: String,
}

impl Keys {
	fn new(client: &str, username: &str) -> Self {
		let address = address_key(client);
		let account: String = username
			.chars()
			.take(NAME_CHARS)
			.collect::<String>()
			.to_ascii_lowercase();
		Self {
			pair: format!("{address}|{account}"),
			account,
			address,
		}
	}
}

/// The address a client is counted under: IPv4 (also when mapped into IPv6) as it is, IPv6 by
/// its /64, anything else (no address known) as given.
fn address_key(client: &str) -> String {
	match client.parse::<IpAddr>() {
		Ok(IpAddr::V4(v4)) => v4.to_string(),
		Ok(IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
			Some(v4) => v4.to_string(),
			None => {
				let s = v6.segments();
				format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
			}
		},
		Err(_) => client.chars().take(NAME_CHARS).collect(),
	}
}

fn wait(d: Duration) -> AuthError {
	AuthError::TooManyAttempts(d.as_secs() + 1)
}

/// Counts login attempts and failures (see the module comment).
pub struct LoginLimiter {
	allowed: u32,
	tables: Mutex<Tables>,
}

impl LoginLimiter {
	/// A limiter allowing `allowed` failures per counter (and attempts per minute per address
	/// and username) before it locks.
	pub fn new(allowed: u32) -> Self {
		Self {
			allowed: allowed.max(1),
			tables: Mutex::new(Tables::default()),
		}
	}

	/// Admits a login attempt of `username` from `client`, or refuses it (429) while one of
	/// its counters is locked; counts it against the per-minute cap. Call [`Self::failed`] or
	/// [`Self::succeeded`] once the password is checked.
	pub fn admit(&self, client: &str, username: &str) -> Result<(), AuthError> {
		self.admit_at(client, username, Instant::now())
	}

	/// Counts a failed login (wrong password, unknown or disabled user) under every counter.
	pub fn failed(&self, client: &str, username: &str) {
		self.failed_at(client, username, Instant::now());
	}

	/// Forgets the failures of `client` and `username` together, and remembers the address as
	/// one the account logs in from. The account's and the address's counters keep theirs: an
	/// attacker who also holds a valid login must not be able to reset them.
	pub fn succeeded(&self, client: &str, username: &str) {
		self.succeeded_at(client, username, Instant::now());
	}

	fn admit_at(&self, client: &str, username: &str, now: Instant) -> Result<(), AuthError> {
		let keys = Keys::new(client, username);
		let mut t = self.tables.lock().unwrap_or_else(|e| e.into_inner());
		t.prune(now);
		let minute = t.attempts.entry(keys.pair.clone()).or_insert((now, 0));
		if now.duration_since(minute.0) >= MINUTE {
			*minute = (now, 0);
		}
		if minute.1 >= self.allowed {
			return Err(wait(MINUTE.saturating_sub(now.duration_since(minute.0))));
		}
		let pair = t.pairs.get(&keys.pair).and_then(|s| s.locked(now));
		let known = t
			.known
			.get(&keys.pair)
			.is_some_and(|at| now.duration_since(*at) < KNOWN_FOR);
		let shared = if known {
			None
		} else {
			let account = t.accounts.get(&keys.account).and_then(|s| s.locked(now));
			let address = t.addresses.get(&keys.address).and_then(|s| s.locked(now));
			account.max(address)
		};
		if let Some(d) = pair.max(shared) {
			return Err(wait(d));
		}
		if let Some(minute) = t.attempts.get_mut(&keys.pair) {
			minute.1 += 1;
		}
		Ok(())
	}

	fn failed_at(&self, client: &str, username: &str, now: Instant) {
		let keys = Keys::new(client, username);
		let allowed = self.allowed;
		let mut t = self.tables.lock().unwrap_or_else(|e| e.into_inner());
		t.pairs
			.entry(keys.pair)
			.or_insert_with(|| Strikes::new(now))
			.strike(now, allowed);
		t.accounts
			.entry(keys.account)
			.or_insert_with(|| Strikes::new(now))
			.strike(now, allowed);
		t.addresses
			.entry(keys.address)
			.or_insert_with(|| Strikes::new(now))
			.strike(now, allowed.saturating_mul(2));
	}

	fn succeeded_at(&self, client: &str, username: &str, now: Instant) {
		let keys = Keys::new(client, username);
		let mut t = self.tables.lock().unwrap_or_else(|e| e.into_inner());
		t.pairs.remove(&keys.pair);
		t.known.insert(keys.pair, now);
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	fn locked(r: Result<(), AuthError>) -> bool {
		matches!(r, Err(AuthError::TooManyAttempts(_)))
	}

	/// Fails `username` from `client` at `now`, as a login would.
	fn fail(l: &LoginLimiter, client: &str, username: &str, now: Instant) -> bool {
		let admitted = l.admit_at(client, username, now).is_ok();
		if admitted {
			l.failed_at(client, username, now);
		}
		admitted
	}

	#[test]
	fn the_n_plus_first_attempt_in_a_minute_is_refused() {
		let l = LoginLimiter::new(3);
		let now = Instant::now();
		for _ in 0..3 {
			l.admit_at("10.0.0.1", "a", now).unwrap();
			l.succeeded_at("10.0.0.1", "a", now);
		}
		assert!(locked(l.admit_at("10.0.0.1", "a", now)));
		l.admit_at("10.0.0.1", "b", now).unwrap();
		l.admit_at("10.0.0.1", "a", now + MINUTE).unwrap();
	}

	#[test]
	fn many_addresses_against_one_account_are_locked_out() {
		let l = LoginLimiter::new(10);
		let now = Instant::now();
		let admitted = (0..30)
			.filter(|i| fail(&l, &format!("10.0.1.{i}"), "victim", now))
			.count();
		assert_eq!(admitted, 10);
		// Case does not make another account.
		assert!(locked(l.admit_at("10.0.2.1", "VICTIM", now)));
		// The first lock-out is short, and over once waited out.
		assert!(locked(l.admit_at(
			"10.0.2.1",
			"victim",
			now + FIRST_LOCK / 2
		)));
		l.admit_at("10.0.2.1", "victim", now + FIRST_LOCK).unwrap();
	}

	#[test]
	fn one_address_against_many_accounts_is_locked_out() {
		let l = LoginLimiter::new(10);
		let now = Instant::now();
		let admitted = (0..30)
			.filter(|i| fail(&l, "10.0.0.9", &format!("user{i}"), now))
			.count();
		assert_eq!(admitted, 20, "twice the per-account allowance");
		assert!(locked(l.admit_at("10.0.0.9", "someone-else", now)));
		l.admit_at("10.0.0.10", "someone-else", now).unwrap();
	}

	#[test]
	fn ipv6_clients_count_by_their_slash_64() {
		let l = LoginLimiter::new(2);
		let now = Instant::now();
		for i in 0..4 {
			fail(&l, &format!("2001:db8:1:2::{i}"), &format!("u{i}"), now);
		}
		assert!(locked(l.admit_at("2001:db8:1:2:ffff::1", "other", now)));
		l.admit_at("2001:db8:1:3::1", "other", now).unwrap();
		assert_eq!(address_key("::ffff:10.1.2.3"), "10.1.2.3");
	}

	#[test]
	fn lock_outs_double_up_to_fifteen_minutes() {
		let l = LoginLimiter::new(1);
		let mut now = Instant::now();
		let mut locks = Vec::new();
		for _ in 0..10 {
			assert!(fail(&l, "10.0.0.1", "a", now));
			let t = l.tables.lock().unwrap();
			let d = t.accounts["a"].locked(now).unwrap();
			drop(t);
			locks.push(d.as_secs());
			// Refused attempts while locked do not lengthen the lock.
			for _ in 0..5 {
				assert!(locked(l.admit_at("10.0.0.2", "a", now)));
			}
			now += d + MINUTE;
		}
		assert_eq!(locks, [15, 30, 60, 120, 240, 480, 900, 900, 900, 900]);
		// An hour without failures forgets them.
		now += FORGET;
		fail(&l, "10.0.0.1", "a", now);
		let t = l.tables.lock().unwrap();
		assert_eq!(t.accounts["a"].locked(now), Some(FIRST_LOCK));
	}

	#[test]
	fn a_known_address_gets_in_while_the_account_is_locked() {
		let l = LoginLimiter::new(10);
		let now = Instant::now();
		l.admit_at("10.0.0.1", "victim", now).unwrap();
		l.succeeded_at("10.0.0.1", "victim", now);
		for i in 0..10 {
			fail(&l, &format!("10.9.9.{i}"), "victim", now);
		}
		assert!(
			locked(l.admit_at("10.0.0.2", "victim", now)),
			"a new address waits"
		);
		l.admit_at("10.0.0.1", "victim", now).unwrap();
		// But a known address that fails is held back by its own counter.
		for _ in 0..10 {
			l.failed_at("10.0.0.1", "victim", now);
		}
		assert!(locked(l.admit_at("10.0.0.1", "victim", now)));
	}

	#[test]
	fn a_flood_of_names_stays_bounded() {
		let l = LoginLimiter::new(10);
		let now = Instant::now();
		let long = "x".repeat(100_000);
		for i in 0..1_000 {
			fail(&l, &format!("10.{}.{}.1", i / 250, i % 250), &long, now);
		}
		let t = l.tables.lock().unwrap();
		assert_eq!(t.accounts.len(), 1, "a long name is cut");
		assert!(t.pairs.keys().all(|k| k.len() < 100));
	}
}
