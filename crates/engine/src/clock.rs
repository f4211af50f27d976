//! The engine's clock: wall-clock milliseconds that also follow tokio's clock.
//!
//! Every timestamp the engine writes and every deadline it arms comes from [`now`]. In a server
//! it is the wall clock. In a test whose runtime starts with tokio's clock paused
//! (`#[tokio::test(start_paused = true)]`), time advances only when every task waits, straight
//! to the next timer, and [`now`] advances with it: a one-hour back-off is tested in no time,
//! and exactly, instead of by sleeping on the wall clock.
//!
//! Why no trait: there is one clock. The wall clock anchors it, tokio's clock moves it, and
//! the larger of the two wins, so a machine that slept (tokio's monotonic clock stops during
//! suspend) or a clock stepped forward is followed at once, and a clock stepped back never makes
//! time run backwards inside a process.

use std::sync::OnceLock;

use apg_core::Millis;
use tokio::time::Instant;

static ORIGIN: OnceLock<(Millis, Instant)> = OnceLock::new();

/// Now, in milliseconds since the epoch.
pub fn now() -> Millis {
	let wall = apg_core::now_millis();
	let (wall_then, then) = *ORIGIN.get_or_init(|| (wall, Instant::now()));
	let followed = wall_then + Instant::now().saturating_duration_since(then).as_millis() as Millis;
	wall.max(followed)
}
