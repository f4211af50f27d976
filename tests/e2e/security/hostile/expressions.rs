//! Deep and long input to every recursive path: expressions through REST validation, GraphQL
//! validation, saving and running; definition JSON nested past the parser's limit; GraphQL
//! documents and literals nested ten thousand deep. Every answer is a 4xx in the envelope (or a
//! GraphQL error), and the server stays up.

use super::*;

/// Ten thousand of each construct that builds one node of an expression tree.
fn deep_expressions() -> Vec<(String, String)> {
	let n = 10_000;
	let mut cases = vec![
		("unary minus", format!("{{{{ {}1 }}}}", "-".repeat(n))),
		("plus", format!("{{{{ 1{} }}}}", "+1".repeat(n))),
		("filters", format!("{{{{ 1{} }}}}", "|abs".repeat(n))),
		("attributes", format!("{{{{ steps{} }}}}", ".a".repeat(n))),
		(
			"concatenation",
			format!("{{{{ 'a'{} }}}}", "~'a'".repeat(n)),
		),
		("subscripts", format!("{{{{ [1]{} }}}}", "[0]".repeat(n))),
		("and", format!("{{{{ 1{} }}}}", " and 1".repeat(n))),
		(
			"ternaries",
			format!("{{{{ 1{} }}}}", " if 1 else 1".repeat(n)),
		),
		("power", format!("{{{{ 2{} }}}}", "**1".repeat(n))),
		("not", format!("{{{{ {}1 }}}}", "not ".repeat(n))),
		(
			"parentheses",
			format!("{{{{ {}1{} }}}}", "(".repeat(n), ")".repeat(n)),
		),
		(
			"lists",
			format!("{{{{ {}1{} }}}}", "[".repeat(n), "]".repeat(n)),
		),
		(
			"maps",
			format!("{{{{ {}1{} }}}}", "{'a':".repeat(n), "}".repeat(n)),
		),
		(
			"calls",
			format!("{{{{ {}1{} }}}}", "range(".repeat(n), ")".repeat(n)),
		),
		("comparisons", format!("{{{{ 1{} }}}}", " < 1".repeat(n))),
		(
			"ifs",
			format!("{}x{}", "{% if 1 %}".repeat(n), "{% endif %}".repeat(n)),
		),
		(
			"fors",
			format!(
				"{}x{}",
				"{% for i in [1] %}".repeat(n),
				"{% endfor %}".repeat(n)
			),
		),
		("unclosed ifs", "{% if 1 %}".repeat(n)),
		("a megabyte", format!("{{{{ '{}' }}}}", "x".repeat(1 << 20))),
		("many tags", "{{ 1 }}".repeat(n)),
	];
	// Mixed: every operator in turn.
	let ops = [
		"+", "-", "*", "~", "|abs", ".a", "[0]", " and ", " or ", "**",
	];
	let mixed: String = (0..n)
		.map(|i| ops[i % ops.len()])
		.collect::<Vec<_>>()
		.join("1");
	cases.push(("mixed", format!("{{{{ 1{mixed}1 }}}}")));
	cases
		.into_iter()
		.map(|(name, text)| (name.to_owned(), text))
		.collect()
}

/// JSON nested `n` deep: `[[[…]]]`.
fn nested_json(n: usize) -> String {
	format!("{}1{}", "[".repeat(n), "]".repeat(n))
}

async fn deep_input_is_refused_without_a_crash(mut server: Server, _: Option<std::path::PathBuf>) {
	let watch = Watch::start(&server);
	let admin = admin_client(&server.base).await;
	let viewer = account(&server, &admin, "vic", "viewer").await;
	let editor = account(&server, &admin, "eddie", "editor").await;
	let validate = server.url("/api/v1/workflows/validate");
	for (name, text) in deep_expressions() {
		let definition = echo_definition(&text);
		// REST validation, as the viewer the attack used.
		let (status, body) = post(
			&viewer.client,
			validate.clone(),
			&json!({"definition": definition}),
		)
		.await;
		assert!(status < 500, "{name}: {status} {body}");
		let invalid = body["data"]["is_valid"] == false || body["success"] == false;
		assert!(invalid, "{name} was accepted: {body}");
		// GraphQL validation.
		let q = "query($d: String!) { validateDefinition(definition: $d) { isValid errors { message } } }";
		let r = graphql(
			&server,
			&viewer.client,
			q,
			json!({"d": definition.to_string()}),
		)
		.await;
		let text_of = r.to_string();
		assert!(
			r["data"]["validateDefinition"]["isValid"] == false || r["errors"].is_array(),
			"{name} over GraphQL: {}",
			&text_of[..text_of.len().min(300)]
		);
		// Saving it.
		let (status, body) = post(
			&editor.client,
			server.url("/api/v1/workflows"),
			&json!({"name": format!("deep {name}"), "definition": definition}),
		)
		.await;
		assert!(
			(400..500).contains(&status),
			"{name} saved: {status} {body}"
		);
		// A condition on a connection is another way in.
		let mut with_condition = echo_definition("hi");
		with_condition["connections"][1]["type"] = json!("condition");
		with_condition["connections"][1]["condition"] = json!(text);
		let (status, _) = post(
			&viewer.client,
			validate.clone(),
			&json!({"definition": with_condition}),
		)
		.await;
		assert!(status < 500, "{name} as a condition: {status}");
	}
	// Definition JSON nested far past serde_json's limit, and just under it.
	for depth in [100, 127, 10_000, 100_000] {
		let body = format!(
			"{{\"definition\": {{\"components\": [], \"connections\": [], \"metadata\": {}}}}}",
			nested_json(depth)
		);
		let r = viewer
			.client
			.post(&validate)
			.header("content-type", "application/json")
			.body(body)
			.send()
			.await
			.unwrap();
		assert!(
			r.status().as_u16() < 500,
			"JSON nested {depth} deep: {}",
			r.status()
		);
	}
	// GraphQL documents and literals nested ten thousand deep.
	let deep_selection = format!(
		"{{ {} }}",
		"workflows { id ".repeat(10_000) + &"}".repeat(10_000)
	);
	let deep_literal = format!(
		"{{ workflows(search: {}\"x\"{}) {{ id }} }}",
		"[".repeat(10_000),
		"]".repeat(10_000)
	);
	let deep_variables = nested_json(100_000);
	for (name, document) in [
		("selection", json!({"query": deep_selection})),
		("literal", json!({"query": deep_literal})),
		(
			"fragments",
			json!({"query": format!("{{ ...{} }}", "on Query { ...".repeat(5_000))}),
		),
	] {
		let r = viewer
			.client
			.post(server.url("/graphql"))
			.json(&document)
			.send()
			.await
			.unwrap();
		assert!(r.status().as_u16() < 500, "GraphQL {name}: {}", r.status());
	}
	let r = viewer
		.client
		.post(server.url("/graphql"))
		.header("content-type", "application/json")
		.body(format!(
			"{{\"query\": \"{{ workflows {{ id }} }}\", \"variables\": {{\"x\": {deep_variables}}}}}"
		))
		.send()
		.await
		.unwrap();
	assert!(
		r.status().as_u16() < 500,
		"GraphQL variables: {}",
		r.status()
	);
	watch.finish(&mut server).await;
}

on_both!(deep_input, deep_input_is_refused_without_a_crash, &[]);
