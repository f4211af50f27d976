//! Bad input of every kind gets a 4xx in the envelope, never a 5xx, and changes nothing stored.

use serde_json::{Value, json};

use crate::server::{Server, seed_workflow};

/// What is sent, how, where, with which body, and the status expected.
pub(crate) type Case = (&'static str, reqwest::Method, String, Option<Vec<u8>>, u16);

async fn counts(client: &reqwest::Client, server: &Server) -> (usize, usize) {
	let w: Value = client
		.get(server.url("/api/v1/workflows?limit=500"))
		.send()
		.await
		.unwrap()
		.json()
		.await
		.unwrap();
	let e: Value = client
		.get(server.url("/api/v1/executions?limit=500"))
		.send()
		.await
		.unwrap()
		.json()
		.await
		.unwrap();
	(
		w["data"].as_array().unwrap().len(),
		e["data"].as_array().unwrap().len(),
	)
}

pub(crate) fn assert_envelope(status: u16, body: &Value, expected: u16, what: &str) {
	assert_eq!(status, expected, "{what}: {body}");
	assert_eq!(body["success"], false, "{what}: {body}");
	assert!(
		body["error"].is_string()
			&& body["category"].is_string()
			&& body["user_message"].is_string(),
		"{what}: {body}"
	);
}

pub(crate) async fn send(
	client: &reqwest::Client,
	method: reqwest::Method,
	url: String,
	body: Option<Vec<u8>>,
) -> (u16, Value) {
	let mut request = client
		.request(method, url)
		.header("content-type", "application/json");
	if let Some(body) = body {
		request = request.body(body);
	}
	let response = request.send().await.unwrap();
	let status = response.status().as_u16();
	let body = response.json().await.unwrap_or(Value::Null);
	(status, body)
}

async fn bad_input_gets_a_4xx_envelope_and_changes_nothing(server: Server) {
	let client = crate::util::admin_client(&server.base).await;
	let good: Value = client
		.post(server.url("/api/v1/workflows"))
		.json(&seed_workflow())
		.send()
		.await
		.unwrap()
		.json()
		.await
		.unwrap();
	let id = good["data"]["id"].as_str().unwrap().to_owned();
	let before = counts(&client, &server).await;
	use reqwest::Method as M;
	let deep = format!("{}1{}", "[".repeat(10_000), "]".repeat(10_000));
	let mut definition_problems = seed_workflow();
	definition_problems["definition"]["components"][1]["type"] = json!("nope");
	definition_problems["definition"]["connections"][0]["target"] = json!("ghost");
	let mut syntax = seed_workflow();
	syntax["definition"]["components"][1]["config"]["message"] = json!("{{ 1 + }}");
	let mut include = seed_workflow();
	include["definition"]["components"][1]["config"]["message"] =
		json!("{% include '/etc/passwd' %}");
	let mut undeclared = seed_workflow();
	undeclared["definition"]["parameters"] = json!([{"name": "a", "parameter_type": "string"}]);
	undeclared["definition"]["components"][1]["config"]["message"] = json!("{{ env.HOME }}");
	let cases: Vec<Case> = vec![
		(
			"malformed JSON",
			M::POST,
			"/api/v1/workflows".into(),
			Some(b"{\"name\": ".to_vec()),
			400,
		),
		(
			"wrong types",
			M::POST,
			"/api/v1/workflows".into(),
			Some(br#"{"name": 5, "definition": []}"#.to_vec()),
			400,
		),
		(
			"missing fields",
			M::POST,
			"/api/v1/workflows".into(),
			Some(b"{}".to_vec()),
			400,
		),
		(
			"unknown fields",
			M::POST,
			"/api/v1/workflows".into(),
			Some(
				serde_json::to_vec(
					&json!({"name": "x", "definition": {"components": []}, "owner": "root"}),
				)
				.unwrap(),
			),
			400,
		),
		(
			"JSON nested 10,000 deep",
			M::POST,
			"/api/v1/workflows".into(),
			Some(deep.into_bytes()),
			400,
		),
		(
			"invalid definition",
			M::POST,
			"/api/v1/workflows".into(),
			Some(serde_json::to_vec(&definition_problems).unwrap()),
			422,
		),
		(
			"expression syntax",
			M::POST,
			"/api/v1/workflows".into(),
			Some(serde_json::to_vec(&syntax).unwrap()),
			422,
		),
		(
			"template include",
			M::POST,
			"/api/v1/workflows".into(),
			Some(serde_json::to_vec(&include).unwrap()),
			422,
		),
		(
			"undeclared name",
			M::POST,
			"/api/v1/workflows".into(),
			Some(serde_json::to_vec(&undeclared).unwrap()),
			422,
		),
		(
			"unknown id",
			M::GET,
			"/api/v1/workflows/01a21801-5879-77c9-ae56-58fb060bdf57".into(),
			None,
			404,
		),
		(
			"malformed id",
			M::GET,
			"/api/v1/workflows/not-a-uuid".into(),
			None,
			404,
		),
		(
			"unknown id put",
			M::PUT,
			"/api/v1/workflows/01a21801-5879-77c9-ae56-58fb060bdf57".into(),
			Some(serde_json::to_vec(&seed_workflow()).unwrap()),
			404,
		),
		(
			"unknown id delete",
			M::DELETE,
			"/api/v1/workflows/01a21801-5879-77c9-ae56-58fb060bdf57".into(),
			None,
			404,
		),
		(
			"unknown execution",
			M::GET,
			"/api/v1/executions/01a21801-5879-77c9-ae56-58fb060bdf57".into(),
			None,
			404,
		),
		(
			"cancel unknown",
			M::POST,
			"/api/v1/executions/nope/cancel".into(),
			None,
			404,
		),
		(
			"execute with bad parameters",
			M::POST,
			format!("/api/v1/workflows/{id}/execute"),
			Some(br#"{"parameters": [1]}"#.to_vec()),
			400,
		),
		(
			"execute with bad priority",
			M::POST,
			format!("/api/v1/workflows/{id}/execute"),
			Some(br#"{"priority": 99}"#.to_vec()),
			400,
		),
		(
			"execute with unknown breakpoint",
			M::POST,
			format!("/api/v1/workflows/{id}/execute"),
			Some(br#"{"breakpoints": ["ghost"]}"#.to_vec()),
			422,
		),
		(
			"patch with a bad status",
			M::PATCH,
			format!("/api/v1/workflows/{id}"),
			Some(br#"{"status": "gone"}"#.to_vec()),
			400,
		),
		(
			"patch with an invalid definition",
			M::PATCH,
			format!("/api/v1/workflows/{id}"),
			Some(br#"{"definition": {"components": []}}"#.to_vec()),
			422,
		),
		(
			"bad list limit",
			M::GET,
			"/api/v1/workflows?limit=100000".into(),
			None,
			400,
		),
		(
			"bad list limit type",
			M::GET,
			"/api/v1/workflows?limit=ten".into(),
			None,
			400,
		),
		("unknown route", M::GET, "/api/v1/nothing".into(), None, 404),
	];
	for (what, method, path, body, expected) in cases {
		let (status, body) = send(&client, method, server.url(&path), body).await;
		assert_envelope(status, &body, expected, what);
	}
	let hundred_mb = vec![b' '; 100 * 1024 * 1024];
	let response = client
		.post(server.url("/api/v1/workflows"))
		.header("content-type", "application/json")
		.body(hundred_mb)
		.send()
		.await;
	if let Ok(response) = response {
		assert_eq!(response.status().as_u16(), 413, "a 100 MB body");
	}
	assert_eq!(counts(&client, &server).await, before, "nothing was stored");
	let health = client.get(server.url("/health")).send().await.unwrap();
	assert_eq!(health.status(), 200);
}

async fn a_runaway_expression_fails_its_execution_not_the_server(server: Server) {
	let client = crate::util::admin_client(&server.base).await;
	let mut workflow = seed_workflow();
	workflow["definition"]["components"][1]["config"]["message"] =
		json!("{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}");
	let created: Value = client
		.post(server.url("/api/v1/workflows"))
		.json(&workflow)
		.send()
		.await
		.unwrap()
		.json()
		.await
		.unwrap();
	let id = created["data"]["id"].as_str().unwrap();
	let execution: Value = client
		.post(server.url(&format!("/api/v1/workflows/{id}/execute")))
		.json(&json!({}))
		.send()
		.await
		.unwrap()
		.json()
		.await
		.unwrap();
	let execution_id = execution["data"]["id"].as_str().unwrap();
	let began = std::time::Instant::now();
	loop {
		let body: Value = client
			.get(server.url(&format!("/api/v1/executions/{execution_id}")))
			.send()
			.await
			.unwrap()
			.json()
			.await
			.unwrap();
		if body["data"]["status"] == "failed" {
			assert!(
				body["data"]["error_message"]
					.as_str()
					.unwrap()
					.contains("fuel"),
				"{body}"
			);
			break;
		}
		assert!(
			began.elapsed() < std::time::Duration::from_secs(10),
			"{body}"
		);
		tokio::time::sleep(std::time::Duration::from_millis(50)).await;
	}
	assert_eq!(
		client
			.get(server.url("/health"))
			.send()
			.await
			.unwrap()
			.status(),
		200
	);
}

crate::on_every_backend!(
	bad_input_gets_a_4xx_envelope_and_changes_nothing => super::bad_input_gets_a_4xx_envelope_and_changes_nothing,
	a_runaway_expression_fails_its_execution_not_the_server =>
		super::a_runaway_expression_fails_its_execution_not_the_server,
);
