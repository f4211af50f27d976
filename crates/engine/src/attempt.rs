//! One component attempt: the context a component sees, the task that runs a worker attempt
//! under its timeout and cancellation, and the single poll that runs an inline component.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use apg_core::{ComponentError, Outcome, Redactor, RunContext, SecretSource, secrets};
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
		started_by: st.exec.started_by,
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

/// Where a step's secrets come from, and which its config declares.
pub(crate) type StepSecrets = (SecretAccess, Arc<secrets::Needs>);

/// Whether a step that needs secrets gets them.
pub(crate) enum SecretAccess {
	/// From this source.
	Granted(Arc<dyn SecretSource>),
	/// Not at all, for this reason: the step fails with it.
	Refused(String),
}

impl SecretAccess {
	/// The access of a step of `compiled` on an engine whose secrets come from `source`.
	pub(crate) fn of(
		compiled: &crate::graph::Compiled,
		source: Option<&Arc<dyn SecretSource>>,
	) -> Self {
		match (&compiled.secrets_refused, source) {
			(Some(why), _) => Self::Refused(why.clone()),
			(None, Some(source)) => Self::Granted(Arc::clone(source)),
			(None, None) => Self::Refused(
				"this step needs secrets, but no encryption keys are configured here (run it on a \
				 server)"
					.to_owned(),
			),
		}
	}
}

/// One component attempt, run on its own task.
pub(crate) struct Job {
	pub(crate) component: Arc<dyn apg_core::Component>,
	pub(crate) timeout: Duration,
	pub(crate) ctx: RunContext,
	pub(crate) config: Value,
	pub(crate) input: Value,
	/// Set when the config needs secrets revealed: where to get them (`None`: nowhere) and
	/// which ones the node's config declares (nothing else is revealed).
	pub(crate) secrets: Option<StepSecrets>,
}

impl Job {
	/// Runs the attempt to its result: a panic, a timeout or a cancellation is a failed attempt.
	pub(crate) async fn run(self) -> Result<Outcome, ComponentError> {
		let Job {
			component,
			timeout,
			ctx,
			mut config,
			mut input,
			secrets,
		} = self;
		let redactor = match secrets {
			None => Redactor::default(),
			Some((SecretAccess::Refused(why), _)) => return Err(ComponentError::Fatal(why)),
			Some((SecretAccess::Granted(source), needs)) => {
				let mut revealed = Vec::new();
				// The common `input` field was moved out of the config when it was rendered:
				// whatever it holds is revealed the same way.
				for value in [&mut config, &mut input] {
					reveal(
						value,
						source.as_ref(),
						&needs,
						ctx.workflow_id,
						&mut revealed,
					)
					.await
					.map_err(ComponentError::Fatal)?;
				}
				// A config's credentials are often sent as `user:password` (basic auth), whose
				// base64 masks whole only if the pair itself is a secret; each revealed value
				// is masked in its derived forms by the redactor itself.
				let pairs = apg_core::redact::credential_pairs(&config, &revealed);
				Redactor::new(revealed.into_iter().chain(pairs))
			}
		};
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
		if redactor.is_empty() {
			return result;
		}
		// Whatever the component returns is masked, so a secret it printed or echoed never
		// reaches a checkpoint, an event, a log or a response.
		match result {
			Ok(mut outcome) => {
				redactor.value(&mut outcome.output);
				for v in outcome.vars.values_mut() {
					redactor.value(v);
				}
				for (_, line) in &mut outcome.logs {
					*line = redactor.text(line);
				}
				Ok(outcome)
			}
			Err(ComponentError::Retryable(m)) => Err(ComponentError::Retryable(redactor.text(&m))),
			Err(ComponentError::Fatal(m)) => Err(ComponentError::Fatal(redactor.text(&m))),
		}
	}
}

/// Replaces sealed values and credential placeholders in `config` with plain text, collecting
/// each plain value revealed. Only what `needs` lists (what the node's own config holds) is
/// revealed: a sealed token or a placeholder that arrived through data stays as it is.
async fn reveal(
	config: &mut Value,
	source: &dyn SecretSource,
	needs: &secrets::Needs,
	workflow: apg_core::WorkflowId,
	revealed: &mut Vec<String>,
) -> Result<(), String> {
	let mut stack = vec![config];
	while let Some(v) = stack.pop() {
		match v {
			Value::String(s) => {
				if needs.sealed.contains(s) {
					let plain = source.unseal(s)?;
					revealed.push(plain.clone());
					*s = plain;
				} else if secrets::placeholders(s).next().is_some() {
					let names: Vec<String> = secrets::placeholders(s)
						.filter(|n| needs.names.iter().any(|x| x == n))
						.map(str::to_owned)
						.collect();
					for name in names {
						let plain = source.credential(workflow, &name).await?;
						*s = s.replace(&secrets::placeholder(&name), &plain);
						revealed.push(plain);
					}
				}
			}
			Value::Array(items) => stack.extend(items.iter_mut()),
			Value::Object(map) => stack.extend(map.values_mut()),
			_ => {}
		}
	}
	Ok(())
}
