//! The hostile-input suite (issue 9): each class of input an outside attack used to crash the
//! server, exhaust its memory or tie up its connections, with inputs of our own beyond the
//! reported ones, on SQLite and PostgreSQL. Throughout every test a watcher asks `/health` ten
//! times a second; the test fails if one answer is not a 200 or the process has died.
//!
//! One file per class: `expressions` (stack depth), `memory` (render budget, output cap, list
//! size, peak RSS), `connections` (slow and silent clients, connection caps), `input` (names,
//! duplicates, body size, file modes).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use super::*;

mod connections;
mod expressions;
mod input;
mod memory;

/// Polls `/health` until finished; counts the answers that were not a 200.
pub(super) struct Watch {
	stop: Arc<AtomicBool>,
	ok: Arc<AtomicUsize>,
	bad: Arc<AtomicUsize>,
	task: tokio::task::JoinHandle<Vec<String>>,
}

impl Watch {
	pub(super) fn start(server: &Server) -> Self {
		let url = server.url("/health");
		let (stop, ok, bad) = Default::default();
		let (s, o, b): (Arc<AtomicBool>, Arc<AtomicUsize>, Arc<AtomicUsize>) =
			(Arc::clone(&stop), Arc::clone(&ok), Arc::clone(&bad));
		let task = tokio::spawn(async move {
			let client = reqwest::Client::builder()
				.timeout(Duration::from_secs(5))
				.build()
				.unwrap();
			let mut failures = Vec::new();
			while !s.load(Ordering::Relaxed) {
				match client.get(&url).send().await {
					Ok(r) if r.status() == 200 => {
						o.fetch_add(1, Ordering::Relaxed);
					}
					other => {
						b.fetch_add(1, Ordering::Relaxed);
						failures.push(format!("{other:?}"));
					}
				}
				tokio::time::sleep(Duration::from_millis(100)).await;
			}
			failures
		});
		Self {
			stop,
			ok,
			bad,
			task,
		}
	}

	/// Stops watching; fails the test unless every answer was a 200 and the server still runs.
	pub(super) async fn finish(self, server: &mut Server) {
		self.stop.store(true, Ordering::Relaxed);
		let failures = self.task.await.unwrap();
		assert!(server.alive(), "the server died");
		assert_eq!(
			self.bad.load(Ordering::Relaxed),
			0,
			"/health failed while under attack: {failures:?}"
		);
		assert!(
			self.ok.load(Ordering::Relaxed) > 0,
			"/health was never asked"
		);
	}
}

/// The server's peak resident memory so far (VmHWM), in MiB.
pub(super) fn peak_rss_mib(server: &Server) -> u64 {
	let status = std::fs::read_to_string(format!("/proc/{}/status", server.pid())).unwrap();
	let line = status
		.lines()
		.find(|l| l.starts_with("VmHWM:"))
		.expect("VmHWM");
	let kib: u64 = line
		.split_whitespace()
		.nth(1)
		.and_then(|n| n.parse().ok())
		.unwrap();
	kib / 1024
}

/// POSTs `body` as `who` and returns the status and the JSON body (`Null` when not JSON).
pub(super) async fn post(who: &reqwest::Client, url: String, body: &Value) -> (u16, Value) {
	let r = who.post(url).json(body).send().await.unwrap();
	let status = r.status().as_u16();
	(status, r.json().await.unwrap_or(Value::Null))
}

/// A definition with one echo task whose message is `message`.
pub(super) fn echo_definition(message: &str) -> Value {
	json!({
		"components": [
			{"id": "start", "type": "start"},
			{"id": "say", "type": "task", "config": {"task_type": "echo", "message": message}},
			{"id": "end", "type": "end"}
		],
		"connections": [{"source": "start", "target": "say"}, {"source": "say", "target": "end"}]
	})
}

/// Defines `name_on_sqlite` and `name_on_postgres` running `body` on a server started with
/// `env` (PostgreSQL is skipped when `APG_TEST_DATABASE_URL` is not set; CI sets it).
macro_rules! on_both {
	($name:ident, $body:path, $env:expr) => {
		mod $name {
			use super::*;

			#[tokio::test(flavor = "multi_thread")]
			async fn on_sqlite() {
				let dir = tempfile::tempdir().unwrap();
				let server = Server::start_in(&dir.path().join("data"), $env);
				$body(server, Some(dir.path().join("data"))).await;
			}

			#[tokio::test(flavor = "multi_thread")]
			async fn on_postgres() {
				let Some(server) = Server::start_postgres_with($env).await else {
					eprintln!("skipped: APG_TEST_DATABASE_URL is not set");
					return;
				};
				$body(server, None).await;
			}
		}
	};
}
pub(super) use on_both;
