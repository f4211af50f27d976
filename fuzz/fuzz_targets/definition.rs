//! Any bytes as a workflow definition: parsing the JSON and validating it (every component's
//! config check, expressions, the graph) must return a report, never crash, overflow or hang.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;

static REGISTRY: LazyLock<apg_core::Registry> = LazyLock::new(apg_components::builtins);

fuzz_target!(|data: &[u8]| {
	let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) else {
		return;
	};
	let _ = apg_core::validate(&value, &REGISTRY);
});
