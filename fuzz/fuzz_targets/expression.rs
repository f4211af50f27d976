//! Any text as an expression: compiling it (validation's `references`), rendering it as a config
//! value and evaluating it as a condition must return, never crash, overflow or hang.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use serde_json::json;

/// A context like the engine's: parameters, steps' outputs, variables.
static CTX: LazyLock<minijinja::Value> = LazyLock::new(|| {
	apg_core::expr::context(&json!({
		"n": 3, "s": "abc", "params": {"n": 3, "s": "abc"},
		"steps": {"a": {"output": {"items": [1, 2, {"x": [true, null, 2.5]}], "text": "hi"}}},
		"vars": {"v": "w"}, "execution": {"id": "e"}, "input": [1, 2, 3]
	}))
});

fuzz_target!(|data: &[u8]| {
	let Ok(text) = std::str::from_utf8(data) else {
		return;
	};
	let _ = apg_core::expr::references(text);
	let _ = apg_core::expr::render_str(text, &CTX);
	let _ = apg_core::expr::eval_condition(text, &CTX);
});
