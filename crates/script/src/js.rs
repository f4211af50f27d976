//! JavaScript in QuickJS (`rquickjs`), in process on a blocking thread.
//!
//! The protocol: the code runs as a global script with `input` (the step's input) defined; the
//! output is the value of `main(input)` when the script defines a function `main`, otherwise the
//! value of its last expression; a Promise is awaited under the same deadline. The result is
//! converted with `JSON.stringify` (so `undefined` becomes `null`).
//!
//! What the engine enforces: a heap limit (`set_memory_limit`), a stack limit, and an interrupt
//! handler that stops the script at the wall-time deadline, at the CPU-time deadline, on
//! cancellation, or when its logs pass the cap. QuickJS without `quickjs-libc` has no `std` or
//! `os` module, no timers, no files and no network: a script sees only the ECMAScript built-ins,
//! `input` and `console`. A script runs on one thread and cannot sleep, so its CPU time is its
//! wall time; the CPU limit is applied as a second, usually shorter, deadline.

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::{Duration, Instant};

use apg_core::LogLevel;
use rquickjs::context::EvalOptions;
use rquickjs::{Context, Ctx, Function, Promise, Runtime, Value};
use serde_json::Value as Json;
use tokio_util::sync::CancellationToken;

use crate::error::ScriptError;
use crate::limits::Limits;
use crate::logs::{Logs, Run, line_after};

/// The JavaScript stack limit: deep enough for real code, well under a blocking thread's stack.
const STACK_BYTES: usize = 512 * 1024;

/// The file name errors carry, so their line numbers can be found in the stack.
const FILE: &str = "script";

/// Why the interrupt handler stopped the script.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
enum Stop {
	None = 0,
	Wall = 1,
	Cpu = 2,
	Cancel = 3,
	Logs = 4,
}

impl Stop {
	fn from_u8(v: u8) -> Self {
		match v {
			1 => Self::Wall,
			2 => Self::Cpu,
			3 => Self::Cancel,
			4 => Self::Logs,
			_ => Self::None,
		}
	}
}

/// `console` over a Rust sink: each call becomes one line, non-strings as JSON.
const CONSOLE: &str = r#"(function (sink) {
	const text = (args) => args.map((x) => {
		if (typeof x === "string") return x;
		try { const s = JSON.stringify(x); return s === undefined ? String(x) : s; }
		catch (e) { return String(x); }
	}).join(" ");
	globalThis.console = {
		debug: (...a) => sink(0, text(a)),
		log: (...a) => sink(1, text(a)),
		info: (...a) => sink(1, text(a)),
		warn: (...a) => sink(2, text(a)),
		error: (...a) => sink(3, text(a)),
	};
})"#;

/// Runs `code` with `input` under `limits`; blocks, so call it from a blocking thread.
pub(crate) fn run(
	code: &str,
	input: &Json,
	limits: &Limits,
	cancel: &CancellationToken,
) -> Result<Run, ScriptError> {
	let runtime = Runtime::new()
		.map_err(|e| ScriptError::SandboxUnavailable(format!("JavaScript engine: {e}")))?;
	let memory =
		usize::try_from(limits.memory_mb.saturating_mul(1024 * 1024)).unwrap_or(usize::MAX);
	runtime.set_memory_limit(memory);
	runtime.set_max_stack_size(STACK_BYTES);

	let stop = Arc::new(AtomicU8::new(Stop::None as u8));
	let start = Instant::now();
	let wall = start + Duration::from_secs(limits.wall_time_seconds);
	let cpu = start + Duration::from_secs(limits.cpu_time_seconds);
	{
		let stop = stop.clone();
		let cancel = cancel.clone();
		runtime.set_interrupt_handler(Some(Box::new(move || {
			let current = Stop::from_u8(stop.load(Ordering::Relaxed));
			if current != Stop::None {
				return true;
			}
			let now = Instant::now();
			let why = if cancel.is_cancelled() {
				Stop::Cancel
			} else if now >= cpu && cpu <= wall {
				Stop::Cpu
			} else if now >= wall {
				Stop::Wall
			} else {
				return false;
			};
			stop.store(why as u8, Ordering::Relaxed);
			true
		})));
	}
	let context = Context::full(&runtime)
		.map_err(|e| ScriptError::SandboxUnavailable(format!("JavaScript engine: {e}")))?;
	let logs = Rc::new(RefCell::new(Logs::new(limits.max_output_bytes)));
	let result = context.with(|ctx| evaluate(&ctx, code, input, &logs, &stop, limits));
	let stopped = Stop::from_u8(stop.load(Ordering::Relaxed));
	let result = match stopped {
		Stop::None => result,
		// The handler's reason is the cause, whatever error the interrupted code surfaced.
		Stop::Wall => Err(ScriptError::Timeout(limits.wall_time_seconds)),
		Stop::Cpu => Err(ScriptError::CpuTime(limits.cpu_time_seconds)),
		Stop::Cancel => Err(ScriptError::Cancelled),
		Stop::Logs => Err(ScriptError::OutputTooLarge(limits.max_output_bytes)),
	};
	let output = result?;
	// The console closure may still hold the sink until the runtime is freed: take the lines.
	let logs = logs.replace(Logs::new(0)).into_lines();
	Ok(Run { output, logs })
}

fn evaluate<'js>(
	ctx: &Ctx<'js>,
	code: &str,
	input: &Json,
	logs: &Rc<RefCell<Logs>>,
	stop: &Arc<AtomicU8>,
	limits: &Limits,
) -> Result<Json, ScriptError> {
	let caught = |e: rquickjs::Error| exception(ctx, e, limits);
	let globals = ctx.globals();
	let input = ctx.json_parse(input.to_string()).map_err(caught)?;
	globals.set("input", input.clone()).map_err(caught)?;
	let sink = {
		let logs = logs.clone();
		let stop = stop.clone();
		Function::new(ctx.clone(), move |level: i32, line: String| {
			let level = match level {
				0 => LogLevel::Debug,
				2 => LogLevel::Warning,
				3 => LogLevel::Error,
				_ => LogLevel::Info,
			};
			if logs.borrow_mut().push(level, line).is_err() {
				// The interrupt handler sees this on its next call and stops the script.
				stop.store(Stop::Logs as u8, Ordering::Relaxed);
			}
		})
		.map_err(caught)?
	};
	let install: Function<'_> = ctx.eval(CONSOLE).map_err(caught)?;
	install.call::<_, ()>((sink,)).map_err(caught)?;

	let mut options = EvalOptions::default();
	options.global = true;
	options.strict = false;
	options.filename = Some(FILE.to_owned());
	let mut value: Value<'_> = ctx.eval_with_options(code, options).map_err(caught)?;
	if let Ok(main) = globals.get::<_, Function<'_>>("main") {
		value = main.call((input,)).map_err(caught)?;
	}
	if let Some(promise) = value.as_promise() {
		let promise: Promise<'_> = promise.clone();
		value = promise.finish().map_err(|e| match e {
			rquickjs::Error::WouldBlock => ScriptError::Exception {
				message: "the returned Promise never settles (no timers or I/O exist here)".into(),
				line: None,
			},
			e => caught(e),
		})?;
	}
	if value.is_undefined() {
		return Ok(Json::Null);
	}
	let text = ctx
		.json_stringify(value)
		.map_err(|e| match exception(ctx, e, limits) {
			ScriptError::Exception { message, .. } => ScriptError::BadOutput(message),
			other => other,
		})?;
	let Some(text) = text else {
		return Ok(Json::Null);
	};
	let text = text
		.to_string()
		.map_err(|e| ScriptError::BadOutput(e.to_string()))?;
	if text.len() > limits.max_output_bytes {
		return Err(ScriptError::OutputTooLarge(limits.max_output_bytes));
	}
	serde_json::from_str(&text).map_err(|e| ScriptError::BadOutput(e.to_string()))
}

/// The thrown value behind `error`, as a [`ScriptError`].
fn exception(ctx: &Ctx<'_>, error: rquickjs::Error, limits: &Limits) -> ScriptError {
	if !error.is_exception() {
		return match error {
			rquickjs::Error::Allocation => ScriptError::Memory(limits.memory_mb),
			e => ScriptError::Crashed(e.to_string()),
		};
	}
	let thrown = ctx.catch();
	let (message, stack) = match thrown.as_exception() {
		Some(ex) => {
			let name: Option<String> = ex.get("name").ok();
			let message = ex.message().unwrap_or_default();
			let message = match name {
				Some(name) if !name.is_empty() => format!("{name}: {message}"),
				_ => message,
			};
			(message, ex.stack().unwrap_or_default())
		}
		// `throw "text"` or `throw 42`: the value itself is the message.
		None => {
			let text = ctx
				.json_stringify(thrown.clone())
				.ok()
				.flatten()
				.and_then(|s| s.to_string().ok())
				.unwrap_or_else(|| "a value that is not JSON".into());
			(format!("uncaught {text}"), String::new())
		}
	};
	if message.contains("out of memory") {
		return ScriptError::Memory(limits.memory_mb);
	}
	let marker = format!("{FILE}:");
	let line = line_after(&stack, &marker).or_else(|| line_after(&message, &marker));
	ScriptError::Exception { message, line }
}
