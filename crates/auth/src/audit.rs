//! Writes the audit log: every mutation and every denied request, with who, what, on which
//! resource, when and details. Entries are append-only; the API only reads them.
//!
//! The log is bounded against callers who owe us nothing:
//!
//! - Every text recorded (action, resource, each string in the details) is cut to 256
//!   characters, details hold at most 32 items per object or array and 4 levels, and details
//!   longer than 2 KB in all are replaced by `{"truncated": true}`. A 60 kB path is kept as its
//!   first 256 characters.
//! - Refusals of anonymous callers (401s, failed logins and refreshes) are aggregated per
//!   minute. The first refusal of a kind (same action, resource and details: reason, client,
//!   user agent…) is written at once with `"count": 1`; its repeats in that minute are counted
//!   in memory and written as one more row (`"repeated": true, "count": n`) when the minute is
//!   over. One client gets at most 20 kinds a minute, everyone together 200; beyond, refusals
//!   are counted under one `*` row per client (or for everyone, beyond 200). So the sum of
//!   `count` is the number of refusals, and the log grows by at most about 400 small rows a
//!   minute however many arrive. Refusals of authenticated users are written one by one: they
//!   need an account, and who did what matters there.
//!
//! Counts of the current minute live in memory: a node that stops loses at most a minute of
//! repeat counts (never a first refusal).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use serde_json::{Map, Value, json};

use apg_core::{AuditEntry, AuthStore, Principal, now_millis};

/// Characters kept of any text.
const AUDIT_TEXT_CHARS: usize = 256;
/// Bytes of details (as JSON) kept.
const DETAILS_BYTES: usize = 2048;
/// Items kept per object or array in details.
const ITEMS: usize = 32;
/// Nesting kept in details.
const DEPTH: usize = 4;
/// Kinds of anonymous refusal recorded one by one per client and minute.
const PER_CLIENT: u32 = 20;
/// Kinds of anonymous refusal recorded one by one per minute, all clients together.
const PER_MINUTE: u32 = 200;
/// A minute, in milliseconds.
const MINUTE_MS: i64 = 60_000;
/// How often closed minutes are written out.
const FLUSH_EVERY: Duration = Duration::from_secs(5);

/// `text` cut to [`AUDIT_TEXT_CHARS`] characters (with `…` when cut).
fn clip(text: &str) -> String {
	match text.char_indices().nth(AUDIT_TEXT_CHARS) {
		None => text.to_owned(),
		Some((end, _)) => format!("{}…", &text[..end]),
	}
}

fn bound(value: Value, depth: usize) -> Value {
	match value {
		Value::String(s) => Value::String(clip(&s)),
		Value::Array(_) | Value::Object(_) if depth >= DEPTH => Value::String("…".to_owned()),
		Value::Array(a) => Value::Array(
			a.into_iter()
				.take(ITEMS)
				.map(|v| bound(v, depth + 1))
				.collect(),
		),
		Value::Object(o) => Value::Object(
			o.into_iter()
				.take(ITEMS)
				.map(|(k, v)| (clip(&k), bound(v, depth + 1)))
				.collect(),
		),
		other => other,
	}
}

/// Details within the limits of the module comment.
fn bound_details(details: Value) -> Value {
	let details = bound(details, 0);
	if details.to_string().len() > DETAILS_BYTES {
		json!({"truncated": true})
	} else {
		details
	}
}

fn set(details: &mut Value, key: &str, value: Value) {
	if !details.is_object() {
		*details = Value::Object(Map::new());
	}
	if let Some(o) = details.as_object_mut() {
		o.insert(key.to_owned(), value);
	}
}

/// A refusal recorded this minute and how often it came again.
struct Pending {
	entry: AuditEntry,
	repeats: u64,
}

/// The anonymous refusals of one minute.
#[derive(Default)]
struct Window {
	minute: i64,
	seen: HashMap<String, Pending>,
	per_client: HashMap<String, u32>,
	kinds: u32,
}

impl Window {
	/// The rows for the repeats of this window, which is over.
	fn repeats(self, at: i64) -> Vec<AuditEntry> {
		let mut rows: Vec<AuditEntry> = self
			.seen
			.into_values()
			.filter(|p| p.repeats > 0)
			.map(|p| {
				let mut entry = p.entry;
				entry.at = at;
				set(&mut entry.details, "count", json!(p.repeats));
				set(&mut entry.details, "repeated", json!(true));
				entry
			})
			.collect();
		rows.sort_by(|a, b| a.resource.cmp(&b.resource));
		rows
	}

	/// Counts `entry` (bounded already); returns it, with its count, when it is to be written
	/// now.
	fn count(&mut self, mut entry: AuditEntry) -> Option<AuditEntry> {
		let client = entry.details["client"].as_str().unwrap_or("-").to_owned();
		if let Some(p) = self.seen.get_mut(&key(&entry)) {
			p.repeats += 1;
			return None;
		}
		let mine = self.per_client.get(&client).copied().unwrap_or(0);
		let overflow = if self.kinds >= PER_MINUTE {
			Some("*")
		} else if mine >= PER_CLIENT {
			Some(client.as_str())
		} else {
			None
		};
		if let Some(who) = overflow {
			entry.resource = "*".to_owned();
			entry.details = json!({
				"client": who,
				"reason": "more kinds of refusal than are recorded one by one in a minute",
				"aggregated": true,
			});
			if let Some(p) = self.seen.get_mut(&key(&entry)) {
				p.repeats += 1;
				return None;
			}
		} else {
			*self.per_client.entry(client).or_insert(0) += 1;
		}
		if self.kinds < PER_MINUTE {
			self.kinds += 1;
		}
		set(&mut entry.details, "count", json!(1));
		let pending = Pending {
			entry: entry.clone(),
			repeats: 0,
		};
		self.seen.insert(key(&pending.entry), pending);
		Some(entry)
	}
}

/// What makes two refusals the same kind: everything but the time and the count.
fn key(entry: &AuditEntry) -> String {
	let mut details = entry.details.clone();
	if let Some(o) = details.as_object_mut() {
		o.remove("count");
	}
	json!([entry.action, entry.resource, details]).to_string()
}

struct Inner {
	accounts: Arc<dyn AuthStore>,
	window: Mutex<Window>,
}

impl Inner {
	fn window(&self) -> std::sync::MutexGuard<'_, Window> {
		self.window.lock().unwrap_or_else(|e| e.into_inner())
	}

	/// Takes the window when its minute is over, for writing out.
	fn closed(&self, now: i64) -> Option<Window> {
		let minute = now / MINUTE_MS;
		let mut w = self.window();
		(w.minute != minute).then(|| {
			std::mem::replace(
				&mut *w,
				Window {
					minute,
					..Window::default()
				},
			)
		})
	}

	async fn append(&self, entry: &AuditEntry) {
		if let Err(e) = self.accounts.append_audit(entry).await {
			tracing::error!(error = %e, action = entry.action, resource = entry.resource,
				"cannot write the audit log");
		}
	}

	async fn flush(&self, now: i64) {
		if let Some(w) = self.closed(now) {
			for row in w.repeats(now) {
				self.append(&row).await;
			}
		}
	}
}

/// Appends audit entries.
#[derive(Clone)]
pub struct Auditor {
	inner: Arc<Inner>,
}

impl Auditor {
	/// An auditor writing to `accounts`. Inside a Tokio runtime it also starts the task that
	/// writes out the repeat counts of each minute when it is over; without one they are
	/// written by the first refusal of a later minute.
	pub fn new(accounts: Arc<dyn AuthStore>) -> Self {
		let inner = Arc::new(Inner {
			accounts,
			window: Mutex::new(Window {
				minute: now_millis() / MINUTE_MS,
				..Window::default()
			}),
		});
		if let Ok(runtime) = tokio::runtime::Handle::try_current() {
			runtime.spawn(flush_loop(Arc::downgrade(&inner)));
		}
		Self { inner }
	}

	/// Records that `actor` (or an anonymous caller) did, or was refused, `action` on
	/// `resource`, within the bounds of the module comment. A failure to write is logged: the
	/// action it describes has happened already.
	pub async fn record(
		&self,
		actor: Option<&Principal>,
		action: &str,
		resource: &str,
		allowed: bool,
		details: Value,
	) {
		let at = now_millis();
		let entry = AuditEntry {
			id: 0,
			at,
			actor_id: actor.map(|p| p.user_id),
			actor: actor.map_or_else(|| "anonymous".to_owned(), |p| clip(&p.username)),
			action: clip(action),
			resource: clip(resource),
			outcome: if allowed { "allowed" } else { "denied" }.to_owned(),
			details: bound_details(details),
		};
		if actor.is_some() || allowed {
			self.inner.append(&entry).await;
			return;
		}
		self.inner.flush(at).await;
		let first = self.inner.window().count(entry);
		if let Some(entry) = first {
			self.inner.append(&entry).await;
		}
	}

	/// Writes out the repeat counts of a minute that is over (the background task does it
	/// every few seconds; tests call it after moving past a minute).
	pub async fn flush(&self) {
		self.inner.flush(now_millis()).await;
	}
}

async fn flush_loop(inner: Weak<Inner>) {
	loop {
		tokio::time::sleep(FLUSH_EVERY).await;
		let Some(inner) = inner.upgrade() else { return };
		inner.flush(now_millis()).await;
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	fn refusal(resource: &str, client: &str) -> AuditEntry {
		AuditEntry {
			id: 0,
			at: 0,
			actor_id: None,
			actor: "anonymous".to_owned(),
			action: "auth.authenticate".to_owned(),
			resource: clip(resource),
			outcome: "denied".to_owned(),
			details: bound_details(json!({"client": client, "reason": "no token"})),
		}
	}

	fn total(rows: &[AuditEntry]) -> u64 {
		rows.iter()
			.map(|r| r.details["count"].as_u64().unwrap())
			.sum()
	}

	#[test]
	fn texts_and_details_are_cut() {
		let long = "a".repeat(60_000);
		assert_eq!(clip(&long).chars().count(), AUDIT_TEXT_CHARS + 1);
		assert_eq!(clip("é".repeat(300).as_str()).chars().count(), 257);
		assert_eq!(clip("short"), "short");
		let d = bound_details(json!({"user_agent": long, "n": 1, "deep": {"a": {"b": {"c": {}}}}}));
		assert_eq!(d["user_agent"].as_str().unwrap().chars().count(), 257);
		assert_eq!(d["deep"]["a"]["b"]["c"], "…");
		let wide: Map<String, Value> = (0..100).map(|i| (format!("k{i}"), json!(long))).collect();
		assert_eq!(
			bound_details(Value::Object(wide)),
			json!({"truncated": true})
		);
	}

	#[test]
	fn repeats_of_one_refusal_are_one_row_and_a_count() {
		let mut w = Window::default();
		let path = format!("/api/v1/{}", "x".repeat(60_000));
		let written: Vec<_> = (0..1_000)
			.filter_map(|_| w.count(refusal(&path, "10.0.0.1")))
			.collect();
		assert_eq!(written.len(), 1);
		assert!(written[0].resource.chars().count() <= AUDIT_TEXT_CHARS + 1);
		let repeats = w.repeats(60_000);
		assert_eq!(repeats.len(), 1);
		assert_eq!(repeats[0].details["count"], 999);
		assert_eq!(repeats[0].details["repeated"], true);
		assert_eq!(total(&written) + total(&repeats), 1_000);
	}

	#[test]
	fn distinct_refusals_are_bounded_per_client_and_in_all() {
		let mut w = Window::default();
		let mut written: Vec<_> = (0..1_000)
			.filter_map(|i| w.count(refusal(&format!("/p/{i}"), "10.0.0.1")))
			.collect();
		assert_eq!(written.len(), PER_CLIENT as usize + 1, "and one `*` row");
		assert_eq!(written.last().unwrap().resource, "*");
		for c in 0..1_000 {
			let client = format!("10.1.{}.{}", c / 250, c % 250);
			written.extend((0..5).filter_map(|i| w.count(refusal(&format!("/q/{i}"), &client))));
		}
		assert!(
			written.len() <= PER_MINUTE as usize + 2,
			"{}",
			written.len()
		);
		let repeats = w.repeats(60_000);
		assert_eq!(
			total(&written) + total(&repeats),
			6_000,
			"every refusal is counted"
		);
	}

	#[tokio::test]
	async fn the_store_gets_few_small_rows_and_authenticated_ones_all() {
		let store = Arc::new(apg_store::MemoryStore::new());
		let audit = Auditor::new(store.clone());
		let path = format!("/{}", "y".repeat(60_000));
		for _ in 0..1_000 {
			let details = json!({"client": "10.0.0.1", "reason": "no token",
				"user_agent": "z".repeat(10_000)});
			audit
				.record(None, "auth.authenticate", &path, false, details)
				.await;
		}
		let who = Principal {
			user_id: apg_core::UserId::new(),
			username: "vera".to_owned(),
			role: apg_core::Role::Viewer,
		};
		for _ in 0..3 {
			audit
				.record(
					Some(&who),
					"workflow.read",
					&path,
					false,
					json!({"reason": "forbidden"}),
				)
				.await;
		}
		let filter = apg_core::AuditFilter {
			limit: 100,
			..Default::default()
		};
		let rows = store.list_audit(&filter).await.unwrap();
		assert_eq!(rows.len(), 4, "{rows:#?}");
		for row in &rows {
			assert!(row.resource.chars().count() <= AUDIT_TEXT_CHARS + 1);
			assert!(row.details.to_string().len() <= DETAILS_BYTES);
		}
		// The minute's repeats are written when it is over.
		audit.inner.flush(now_millis() + MINUTE_MS).await;
		let rows = store.list_audit(&filter).await.unwrap();
		let anonymous: u64 = rows
			.iter()
			.filter(|r| r.actor == "anonymous")
			.map(|r| r.details["count"].as_u64().unwrap())
			.sum();
		assert_eq!(anonymous, 1_000);
	}
}
