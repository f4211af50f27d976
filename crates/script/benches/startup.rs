//! A script step's start-up cost: the smallest script in each language, through the component,
//! so the figure includes everything a step pays (QuickJS runtime and context for JavaScript;
//! bubblewrap, namespaces and the interpreter for Python).

#![allow(
	missing_docs,
	reason = "criterion's macros generate undocumented functions"
)]

use std::sync::Arc;

use apg_core::{Component, ExecutionId, RunContext, WorkflowId};
use apg_script::{ScriptExecution, Settings};
use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::{Map, json};
use tokio_util::sync::CancellationToken;

fn startup(c: &mut Criterion) {
	let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");
	let component = ScriptExecution::new(&Settings::default());
	let ctx = RunContext {
		execution_id: ExecutionId::new(),
		workflow_id: WorkflowId::new(),
		component_id: "bench".into(),
		attempt: 1,
		params: Arc::new(Map::new()),
		vars: Map::new(),
		cancel: CancellationToken::new(),
		started_by: None,
	};
	let mut group = c.benchmark_group("script_startup");
	group.sample_size(30);
	for (language, code) in [
		("javascript", "input.n + 1"),
		("python", "result = input['n'] + 1"),
	] {
		let config = json!({"language": language, "code": code});
		group.bench_function(language, |b| {
			b.to_async(&runtime).iter(|| async {
				let out = component
					.run(&ctx, &config, json!({"n": 1}))
					.await
					.expect("runs");
				assert_eq!(out.output, json!(2));
			});
		});
	}
	group.finish();
}

criterion_group!(benches, startup);
criterion_main!(benches);
