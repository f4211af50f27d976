//! The subscription to execution events, fed by the engine's broadcast of committed events.
//! Nothing is streamed before the [`Guard`](apg_auth::Guard) has allowed the caller to read the
//! execution's (or the subscribed) workflow, and the check is made again before a live event is
//! sent when the last one is more than [`RECHECK`] old: a revoked share, a disabled user or a
//! role change ends the stream (with a `not_found` or `security` error) instead of feeding it.
//!
//! Subscribing by execution has no gap and no duplicate, however late it comes: the resolver
//! first subscribes to the broadcast, then reads the execution and its stored events. The stored
//! events are sent first; live events that the store read already returned (those committed
//! between the two steps) are recognised and skipped; the stream ends after the execution's
//! terminal event, at once when it had already ended. Subscribing by workflow sends live events
//! only and does not end.
//!
//! A subscriber that falls more than the engine's event buffer behind
//! (`RecvError::Lagged`) gets an error and the stream ends: the broadcast buffer is fixed, so a
//! slow client never makes the server hold more memory, and the client can subscribe again
//! (the replay makes that lossless for one execution).

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use apg_auth::Security;
use apg_core::{Event, ExecutionId, UserId, WorkflowAction, WorkflowId};
use async_graphql::{Context, ID, Subscription};
use futures_util::stream::{self, BoxStream, StreamExt};
use serde_json::json;
use tokio::sync::broadcast::{self, error::RecvError};

use crate::auth::{principal, security, visible};
use crate::error::{IntoGql, Result, auth_error, categorized, invalid_one, not_found};
use crate::query::parse_id;
use crate::types::{ExecutionEvent, engine};

/// The root of subscriptions.
pub struct SubscriptionRoot;

#[Subscription(name = "Subscription")]
impl SubscriptionRoot {
	/// Status changes of one execution (from its first event, ending after its terminal one) or
	/// of every execution of a workflow (live, without end). At least one filter is required;
	/// with both, the execution must belong to the workflow. The caller must be allowed to read
	/// the workflow; one they may not see is `not_found`, like one that does not exist.
	async fn execution_events(
		&self,
		ctx: &Context<'_>,
		execution_id: Option<ID>,
		workflow_id: Option<ID>,
	) -> Result<BoxStream<'static, Result<ExecutionEvent>>> {
		if execution_id.is_none() && workflow_id.is_none() {
			return Err(invalid_one(
				"executionId",
				"executionId or workflowId is required",
			));
		}
		let caller = &principal(ctx).await?;
		let guard = &security(ctx).guard;
		let engine = engine(ctx);
		let store = engine.store();
		let workflow = match &workflow_id {
			None => None,
			Some(id) => {
				let id = parse_id::<WorkflowId>(id).ok_or_else(|| not_found("workflow"))?;
				guard
					.workflow(caller, id, WorkflowAction::Read)
					.await
					.gql()?;
				Some(id)
			}
		};
		// First subscribe, then read the store: an event is in the store before it is broadcast,
		// so every event is in one or the other (or both, which `Feed::repeated` handles).
		let rx = engine.subscribe();
		let access = |workflow| Access {
			security: security(ctx).clone(),
			user: caller.user_id,
			workflow,
			checked: Instant::now(),
		};
		let Some(execution_id) = execution_id else {
			let access = workflow.map(access);
			return Ok(Feed::new(Some(rx), None, workflow, Vec::new(), access).into_stream());
		};
		let id = parse_id::<ExecutionId>(&execution_id).ok_or_else(|| not_found("execution"))?;
		let found = guard.execution(caller, id, WorkflowAction::Read).await;
		let execution = match visible(found)? {
			Some(e) if workflow.is_none_or(|w| w == e.workflow_id) => e,
			_ => return Err(not_found(format!("execution {id}"))),
		};
		let stored: Vec<Event> = store
			.events(id)
			.await
			.gql()?
			.into_iter()
			.map(|r| r.event)
			.collect();
		// An execution that has ended has all its events in the store.
		let rx = (!execution.status.is_terminal()).then_some(rx);
		let access = Some(access(execution.workflow_id));
		Ok(Feed::new(rx, Some(id), workflow, stored, access).into_stream())
	}
}

/// The state of one subscription.
struct Feed {
	/// Live events; `None` once the execution is known to have ended.
	rx: Option<broadcast::Receiver<Arc<Event>>>,
	execution: Option<ExecutionId>,
	workflow: Option<WorkflowId>,
	/// Stored events not yet sent.
	replay: VecDeque<Event>,
	/// Stored events already sent, which the first live events may repeat.
	sent: Vec<Event>,
	/// Where in `sent` the next repeated live event is expected, once the first was seen.
	overlap: Option<usize>,
	/// The caller's access, checked again from time to time.
	access: Option<Access>,
	done: bool,
}

/// How stale a subscription's permission check may be when a live event is sent.
const RECHECK: Duration = Duration::from_secs(5);

/// Who follows which workflow, and when that was last allowed.
struct Access {
	security: Security,
	user: UserId,
	workflow: WorkflowId,
	checked: Instant,
}

impl Access {
	/// Whether the caller may still read the workflow (checked at most every [`RECHECK`]).
	async fn still(&mut self) -> Result<()> {
		if self.checked.elapsed() < RECHECK {
			return Ok(());
		}
		let caller = self
			.security
			.authn
			.current(self.user)
			.await
			.map_err(auth_error)?;
		let guard = &self.security.guard;
		guard
			.workflow(&caller, self.workflow, WorkflowAction::Read)
			.await
			.map_err(auth_error)?;
		self.checked = Instant::now();
		Ok(())
	}
}

impl Feed {
	fn new(
		rx: Option<broadcast::Receiver<Arc<Event>>>,
		execution: Option<ExecutionId>,
		workflow: Option<WorkflowId>,
		stored: Vec<Event>,
		access: Option<Access>,
	) -> Self {
		Self {
			rx,
			execution,
			workflow,
			access,
			sent: Vec::with_capacity(stored.len()),
			replay: stored.into(),
			overlap: None,
			done: false,
		}
	}

	fn into_stream(self) -> BoxStream<'static, Result<ExecutionEvent>> {
		stream::unfold(self, |mut feed| async move {
			let item = feed.next().await?;
			Some((item, feed))
		})
		.boxed()
	}

	/// The next event to send; `None` ends the stream.
	async fn next(&mut self) -> Option<Result<ExecutionEvent>> {
		if self.done {
			return None;
		}
		if let Some(event) = self.replay.pop_front() {
			let out = self.send(&event);
			self.sent.push(event);
			return Some(Ok(out));
		}
		loop {
			let received = self.rx.as_mut()?.recv().await;
			match received {
				Ok(event) => {
					if self.matches(&event) && !self.repeated(&event) {
						if let Some(access) = self.access.as_mut()
							&& let Err(e) = access.still().await
						{
							self.done = true;
							return Some(Err(e));
						}
						return Some(Ok(self.send(&event)));
					}
				}
				Err(RecvError::Lagged(missed)) => {
					self.done = true;
					tracing::warn!(
						missed,
						"a GraphQL subscriber fell behind; ending its stream"
					);
					return Some(Err(categorized(
						format!(
							"the subscription fell behind and missed {missed} events; \
							 subscribe again"
						),
						"performance",
						json!({"missed": missed}),
					)));
				}
				Err(RecvError::Closed) => return None,
			}
		}
	}

	/// Converts an event about to be sent, ending the stream after the execution's last one.
	fn send(&mut self, event: &Event) -> ExecutionEvent {
		if self.execution.is_some() && event.is_terminal() {
			self.done = true;
		}
		ExecutionEvent::from(event)
	}

	fn matches(&self, event: &Event) -> bool {
		self.execution.is_none_or(|id| id == event.execution_id)
			&& self.workflow.is_none_or(|id| id == event.workflow_id)
	}

	/// Whether a live event was already sent from the store. The live events that the store read
	/// also returned are the first live ones and a contiguous run of the stored ones, in order;
	/// after the first live event that is not such a repeat, none can be.
	fn repeated(&mut self, event: &Event) -> bool {
		if self.sent.is_empty() {
			return false;
		}
		let at = match self.overlap {
			None => self.sent.iter().position(|e| e == event),
			Some(i) => (self.sent.get(i) == Some(event)).then_some(i),
		};
		match at {
			Some(i) => {
				self.overlap = Some(i + 1);
				true
			}
			None => {
				self.sent = Vec::new();
				false
			}
		}
	}
}

#[cfg(test)]
mod tests {
	use apg_core::{ComponentStatus, EventKind, ExecutionStatus};

	use super::*;

	fn event(execution: ExecutionId, workflow: WorkflowId, at: i64, end: bool) -> Event {
		let kind = if end {
			EventKind::Execution {
				status: ExecutionStatus::Completed,
				error: None,
			}
		} else {
			EventKind::Component {
				component_id: format!("c{at}"),
				status: ComponentStatus::Completed,
				attempt: 1,
				error: None,
				output: None,
				duration_ms: None,
			}
		};
		Event {
			execution_id: execution,
			workflow_id: workflow,
			at,
			kind,
		}
	}

	/// Runs a feed over `live` events (the sender is then dropped) and returns what it sent: the
	/// `at` of each event, or -1 for an error.
	async fn run(
		feed_of: impl FnOnce(broadcast::Receiver<Arc<Event>>) -> Feed,
		live: &[Event],
	) -> Vec<i64> {
		let (tx, rx) = broadcast::channel(16);
		let feed = feed_of(rx);
		for e in live {
			tx.send(Arc::new(e.clone())).unwrap();
		}
		drop(tx);
		feed.into_stream()
			.map(|r| r.map(|e| e.at.0).unwrap_or(-1))
			.collect()
			.await
	}

	#[tokio::test]
	async fn live_events_the_store_also_returned_are_sent_once() {
		let (x, w) = (ExecutionId::new(), WorkflowId::new());
		let stored: Vec<Event> = (1..=3).map(|i| event(x, w, i, false)).collect();
		let live = [
			event(x, w, 2, false),
			event(x, w, 3, false),
			event(x, w, 4, false),
			event(x, w, 5, true),
			event(x, w, 6, false),
		];
		let sent = run(|rx| Feed::new(Some(rx), Some(x), None, stored, None), &live).await;
		assert_eq!(
			sent,
			[1, 2, 3, 4, 5],
			"no repeat, and nothing after the terminal event"
		);
	}

	#[tokio::test]
	async fn without_overlap_every_live_event_follows_the_stored_ones() {
		let (x, w) = (ExecutionId::new(), WorkflowId::new());
		let other = ExecutionId::new();
		let stored = vec![event(x, w, 1, false), event(x, w, 2, false)];
		let live = [
			event(other, w, 9, false),
			event(x, w, 3, false),
			event(x, w, 4, true),
		];
		let sent = run(|rx| Feed::new(Some(rx), Some(x), None, stored, None), &live).await;
		assert_eq!(sent, [1, 2, 3, 4]);
	}

	#[tokio::test]
	async fn a_workflow_feed_filters_by_workflow_and_does_not_end_at_a_terminal_event() {
		let (x, w) = (ExecutionId::new(), WorkflowId::new());
		let live = [
			event(x, w, 1, true),
			event(x, WorkflowId::new(), 2, false),
			event(ExecutionId::new(), w, 3, false),
		];
		let sent = run(
			|rx| Feed::new(Some(rx), None, Some(w), Vec::new(), None),
			&live,
		)
		.await;
		assert_eq!(sent, [1, 3]);
	}

	#[tokio::test]
	async fn an_ended_execution_is_replayed_without_waiting() {
		let (x, w) = (ExecutionId::new(), WorkflowId::new());
		let stored = vec![event(x, w, 1, false), event(x, w, 2, true)];
		let sent = run(|_| Feed::new(None, Some(x), None, stored, None), &[]).await;
		assert_eq!(sent, [1, 2]);
	}

	#[tokio::test]
	async fn a_lagging_subscriber_gets_an_error_and_the_stream_ends() {
		let (x, w) = (ExecutionId::new(), WorkflowId::new());
		let (tx, rx) = broadcast::channel(2);
		for i in 1..=5 {
			tx.send(Arc::new(event(x, w, i, false))).unwrap();
		}
		let feed = Feed::new(Some(rx), Some(x), None, Vec::new(), None);
		let sent: Vec<_> = feed.into_stream().collect().await;
		assert_eq!(sent.len(), 1);
		let error = sent[0].as_ref().unwrap_err();
		assert!(
			error.message.contains("missed 3 events"),
			"{}",
			error.message
		);
		drop(tx);
	}
}
