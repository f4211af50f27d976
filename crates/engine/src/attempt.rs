//! One component attempt: the context a component sees, the task that runs a worker attempt
//! under its timeout and cancellation, and the single poll that runs an inline component.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use apg_core::{ComponentError, Outcome, RunContext};
use futures_util::FutureExt;
use serde_json::Value;
use tokio_util::sync::CancellationToken;

use crate::state::ExecutionState;

/// What the component of `node` sees during attempt `attempt`.
pub(crate) fn context(
	st: &ExecutionState,
	node: usize,
	attempt: u32,
	cancel: CancellationToken,
) -> RunContext {
	RunContext {
		execution_id: st.exec.id,
		workflow_id: st.exec.workflow_id,
		component_id: st.wf.nodes[node].id.clone(),
		attempt,
		params: Arc::new(st.exec.parameters.clone()),
		vars: st.exec.vars.clone(),
		cancel,
	}
}

/// Polls a future once; `None` when it is not ready. Inline components finish on their first
/// poll, so they need no runtime task.
pub(crate) fn poll_once<F: Future>(future: F) -> Option<F::Output> {
	let mut future = pin!(future);
	match future
		.as_mut()
		.poll(&mut Context::from_waker(Waker::noop()))
	{
		Poll::Ready(output) => Some(output),
		Poll::Pending => None,
	}
}

/// One component attempt, run on its own task.
pub(crate) struct Job {
	pub(crate) component: Arc<dyn apg_core::Component>,
	pub(crate) timeout: Duration,
	pub(crate) ctx: RunContext,
	pub(crate) config: Value,
	pub(crate) input: Value,
}

impl Job {
	/// Runs the attempt to its result: a panic, a timeout or a cancellation is a failed attempt.
	pub(crate) async fn run(self) -> Result<Outcome, ComponentError> {
		let Job {
			component,
			timeout,
			ctx,
			config,
			input,
		} = self;
		let token = ctx.cancel.clone();
		// A panicking component becomes a failed attempt instead of one that never finishes;
		// catching the unwind in place costs no extra task (a timeout or a cancel drops it).
		let attempt = AssertUnwindSafe(async move { component.run(&ctx, &config, input).await })
			.catch_unwind();
		let result = tokio::select! {
			finished = tokio::time::timeout(timeout, attempt) => match finished {
				Ok(Ok(result)) => result,
				Ok(Err(_)) => Err(ComponentError::Fatal("the component panicked".to_owned())),
				Err(_) => Err(ComponentError::Retryable(format!("timed out after {} s", timeout.as_secs()))),
			},
			() = token.cancelled() => Err(ComponentError::Fatal("cancelled".to_owned())),
		};
		result
	}
}
