//! `GET /api/v1/dashboard`: each caller counts only the executions of workflows they may see
//! (the same visibility as `GET /executions`), the engine's queue depth is for admins only, and
//! a bad window is a 400 in the envelope, no token a 401.

use serde_json::{Value, json};

use crate::security::{account, create, execute, get_json, wait_ended};
use crate::server::Server;
use crate::util::admin_client;

crate::on_every_backend!(
	dashboard_counts_only_what_the_caller_may_see => super::counts_only_what_the_caller_may_see,
);

async fn counts_only_what_the_caller_may_see(server: Server) {
	let admin = admin_client(&server.base).await;
	let bob = account(&server, &admin, "dash_bob", "editor").await;
	let carol = account(&server, &admin, "dash_carol", "viewer").await;

	let mine = create(&server, &admin, "admin's dashboard flow").await;
	for _ in 0..2 {
		let run = execute(&server, &admin, &mine).await;
		wait_ended(&server, &admin, &run).await;
	}
	let his = create(&server, &bob.client, "bob's dashboard flow").await;
	let run = execute(&server, &bob.client, &his).await;
	wait_ended(&server, &bob.client, &run).await;
	// Carol may read the admin's workflow, and nothing else.
	let shares = json!({"shares": [{"user_id": carol.id, "actions": ["read"]}]});
	let r = admin
		.put(server.url(&format!("/api/v1/workflows/{mine}/shares")))
		.json(&shares)
		.send()
		.await
		.unwrap();
	assert_eq!(r.status(), 200);

	let url = server.url("/api/v1/dashboard?hours=24");
	let everyone: Value = get_json(&admin, &url).await;
	assert_eq!(everyone["success"], true, "{everyone}");
	let d = &everyone["data"];
	assert_eq!(d["total"], 3, "{d}");
	assert_eq!(d["totals"]["completed"], 3, "{d}");
	assert_eq!(d["success_rate"], 1.0);
	assert!(
		d["p50_ms"].as_i64().is_some() && d["p95_ms"].as_i64().is_some(),
		"{d}"
	);
	assert_eq!(d["bucket_seconds"], 3600);
	let counted: u64 = d["buckets"]
		.as_array()
		.unwrap()
		.iter()
		.map(|b| {
			b["counts"]
				.as_object()
				.unwrap()
				.values()
				.map(|n| n.as_u64().unwrap())
				.sum::<u64>()
		})
		.sum();
	assert_eq!(counted, 3, "{d}");
	// The engine's load is everyone's: admins see it, per priority 1–10.
	assert_eq!(
		d["queue_depth"].as_object().map(|q| q.len()),
		Some(10),
		"{d}"
	);

	let his_view: Value = get_json(&bob.client, &url).await;
	assert_eq!(his_view["data"]["total"], 1, "{his_view}");
	assert_eq!(his_view["data"]["queue_depth"], Value::Null);
	let hers: Value = get_json(&carol.client, &url).await;
	assert_eq!(hers["data"]["total"], 2, "{hers}");
	assert_eq!(hers["data"]["totals"]["completed"], 2, "{hers}");
	assert_eq!(hers["data"]["queue_depth"], Value::Null);

	for bad in ["0", "721", "-3", "many", "1.5"] {
		let r = bob
			.client
			.get(server.url(&format!("/api/v1/dashboard?hours={bad}")))
			.send()
			.await
			.unwrap();
		assert_eq!(r.status(), 400, "hours={bad}");
		let body: Value = r.json().await.unwrap();
		assert_eq!(body["success"], false, "{body}");
		assert!(
			body["user_message"].as_str().is_some_and(|m| !m.is_empty()),
			"{body}"
		);
	}

	let anonymous = reqwest::Client::new().get(&url).send().await.unwrap();
	assert_eq!(anonymous.status(), 401);
	let body: Value = anonymous.json().await.unwrap();
	assert_eq!(body["success"], false);
}
