//! Memory: renders that grow a value past their budget, outputs past the stored cap, and lists
//! of executions with large outputs. Each attack fails the step with a clear error, nothing
//! large is stored, and the server's peak resident memory stays bounded (printed for the note).

use super::*;

/// Runs `definition` with `parameters` as `who`; returns the ended execution's detail.
async fn run(
	server: &Server,
	who: &reqwest::Client,
	name: &str,
	definition: Value,
	parameters: Value,
) -> Value {
	let (status, body) = post(
		who,
		server.url("/api/v1/workflows"),
		&json!({"name": name, "definition": definition}),
	)
	.await;
	assert_eq!(status, 201, "{name}: {body}");
	let wf = body["data"]["id"].as_str().unwrap().to_owned();
	let (status, body) = post(
		who,
		server.url(&format!("/api/v1/workflows/{wf}/execute")),
		&json!({"parameters": parameters}),
	)
	.await;
	assert!(matches!(status, 200..=202), "{name}: {status} {body}");
	let id = body["data"]["id"].as_str().unwrap().to_owned();
	wait_ended(server, who, &id).await;
	get_json(who, server.url(&format!("/api/v1/executions/{id}"))).await["data"].clone()
}

async fn memory_attacks_fail_their_step_and_stay_bounded(
	mut server: Server,
	_: Option<std::path::PathBuf>,
) {
	let watch = Watch::start(&server);
	let admin = admin_client(&server.base).await;
	let before = peak_rss_mib(&server);
	let renders = [
		(
			"doubling with sets",
			"{% set a = 'x' * 1000000 %}{% set b = a ~ a %}{% set c = b ~ b %}\
			{% set d = c ~ c %}{% set e = d ~ d %}{% set f = e ~ e %}{% set g = f ~ f %}{{ g|length }}",
		),
		("repetition", "{{ 'x' * 99999999 }}"),
		(
			"repetition in a tree",
			"{{ ('ab' * 49999999) ~ ('ab' * 49999999) }}",
		),
		(
			"emitting in a loop",
			"{% for i in range(100000) %}{{ 'y' * 100000 }}{% endfor %}",
		),
		(
			"replace",
			"{{ ('a' * 1000000)|replace('a', 'aaaaaaaaaa') }}",
		),
		("join", "{{ range(100000)|map('string')|join('x' * 1000) }}"),
		("list of characters", "{{ ('a' * 4000000)|list|length }}"),
		("indent", "{{ ('a\n' * 100000)|indent(1000) }}"),
		(
			"doubling with namespace",
			"{% set ns = namespace(s='x') %}{% for i in range(28) %}\
			{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s|length }}",
		),
	];
	for (name, message) in renders {
		let detail = run(&server, &admin, name, echo_definition(message), json!({})).await;
		let text = detail.to_string();
		assert_eq!(
			detail["status"],
			"failed",
			"{name}: {}",
			&text[..text.len().min(400)]
		);
		eprintln!("after {name}: peak RSS {} MiB", peak_rss_mib(&server));
		assert!(
			text.len() < 100_000,
			"{name}: a large value was stored ({} bytes)",
			text.len()
		);
	}
	// A parameter of 3 MiB (the start's output, under the cap) echoed twice is over the stored
	// cap; twelve times, over the render budget; 9 MiB is over the cap as the start's output.
	let big = "z".repeat(3 << 20);
	let definition = json!({
		"parameters": [{"name": "p", "parameter_type": "string", "required": true}],
		"components": [
			{"id": "start", "type": "start"},
			{"id": "say", "type": "task", "config": {"task_type": "echo", "message": "{{ p ~ p }}"}},
			{"id": "end", "type": "end"}
		],
		"connections": [{"source": "start", "target": "say"}, {"source": "say", "target": "end"}]
	});
	let error_of = |detail: &Value| {
		detail["error_message"]
			.as_str()
			.unwrap_or_default()
			.to_owned()
	};
	let detail = run(
		&server,
		&admin,
		"echo 6 MiB",
		definition.clone(),
		json!({"p": big}),
	)
	.await;
	assert_eq!(detail["status"], "failed");
	let error = error_of(&detail);
	assert!(
		error.contains("'say'") && error.contains("max_output_bytes"),
		"{error}"
	);
	let mut repeated = definition.clone();
	repeated["components"][1]["config"]["message"] =
		json!(format!("{{{{ p{} }}}}", " ~ p".repeat(11)));
	let detail = run(&server, &admin, "echo 36 MiB", repeated, json!({"p": big})).await;
	let error = error_of(&detail);
	assert!(
		error.contains("'say'") && error.contains("budget"),
		"{error}"
	);
	// 9 MiB of parameters could only fail the start (its output is the parameters): refused.
	let (status, body) = post(
		&admin,
		server.url("/api/v1/workflows"),
		&json!({"name": "start 9 MiB", "definition": definition}),
	)
	.await;
	assert_eq!(status, 201, "{body}");
	let wf = body["data"]["id"].as_str().unwrap().to_owned();
	let (status, body) = post(
		&admin,
		server.url(&format!("/api/v1/workflows/{wf}/execute")),
		&json!({"parameters": {"p": "z".repeat(9 << 20)}}),
	)
	.await;
	assert!(matches!(status, 400 | 422), "{status}");
	assert!(body.to_string().contains("max_output_bytes"), "{body}");
	eprintln!(
		"after the 9 MiB parameter: peak RSS {} MiB",
		peak_rss_mib(&server)
	);
	// Twenty executions with 3 MiB outputs (under the cap): the list carries none of them.
	let three = "{{ 'o' * 3000000 }}";
	for i in 0..20 {
		let detail = run(
			&server,
			&admin,
			&format!("three {i}"),
			echo_definition(three),
			json!({}),
		)
		.await;
		assert_eq!(detail["status"], "completed", "3 MB is under the cap");
		// The detail leaves the large output (and the next step's input) out, sized; the
		// component's own route has it.
		let text = detail.to_string();
		assert!(text.len() < 100_000, "a detail is {} bytes", text.len());
		let say = detail["components"]
			.as_array()
			.unwrap()
			.iter()
			.find(|c| c["component_id"] == "say")
			.unwrap();
		assert!(say["output_data"].is_null());
		assert!(say["output_bytes"].as_u64().unwrap() > 3_000_000, "{say}");
		if i == 0 {
			let id = detail["id"].as_str().unwrap();
			let url = server.url(&format!("/api/v1/executions/{id}/components/say"));
			let one = get_json(&admin, url).await;
			let output = one["data"]["output_data"].to_string();
			assert!(
				output.len() > 3_000_000,
				"{}",
				&output[..output.len().min(200)]
			);
			// Another user may not read it (404, as if it did not exist).
			let stranger = account(&server, &admin, "stranger", "editor").await;
			let url = server.url(&format!("/api/v1/executions/{id}/components/say"));
			let r = stranger.client.get(url).send().await.unwrap();
			assert_eq!(r.status(), 404);
			let body: Value = r.json().await.unwrap();
			assert!(
				!body.to_string().contains("ooo"),
				"nothing of the output: {body}"
			);
			// A malformed id is a 404, as everywhere in the API.
			let url = server.url("/api/v1/executions/not-an-id/components/say");
			assert_eq!(admin.get(url).send().await.unwrap().status(), 404);
			let url = server.url(&format!("/api/v1/executions/{id}/components/nope"));
			assert_eq!(admin.get(url).send().await.unwrap().status(), 404);
		}
	}
	let list = get_text(&admin, server.url("/api/v1/executions?limit=50")).await;
	assert!(list.len() < 200_000, "a list of 50 is {} bytes", list.len());
	let peak = peak_rss_mib(&server);
	eprintln!("peak RSS of the server: {before} MiB before the memory attacks, {peak} MiB after");
	assert!(peak < 600, "peak RSS {peak} MiB");
	watch.finish(&mut server).await;
}

on_both!(memory, memory_attacks_fail_their_step_and_stay_bounded, &[]);
