//! Small things an attacker tries: control characters in names, ids, tags and descriptions;
//! a duplicate name; a body over the limit; and the modes of the files the server creates.

use super::*;

/// Declares an 11 MiB body to `path`, sends a little of it, and returns the answer as text.
async fn oversized(server: &Server, path: &str) -> String {
	use std::io::{Read, Write};
	let token = crate::util::token(&server.base, "admin", crate::util::ADMIN_PASSWORD).await;
	let addr = server.base.trim_start_matches("http://").to_owned();
	let path = path.to_owned();
	tokio::task::spawn_blocking(move || {
		let mut stream = std::net::TcpStream::connect(&addr).unwrap();
		stream
			.set_read_timeout(Some(Duration::from_secs(10)))
			.unwrap();
		let head = format!(
			"POST {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n\
			 Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
			11 << 20
		);
		stream.write_all(head.as_bytes()).unwrap();
		let _ = stream.write_all(&[b' '; 4096]);
		let mut answer = Vec::new();
		let _ = stream.read_to_end(&mut answer);
		String::from_utf8_lossy(&answer).into_owned()
	})
	.await
	.unwrap()
}

async fn bad_names_duplicates_and_big_bodies_get_clean_errors(
	mut server: Server,
	data: Option<std::path::PathBuf>,
) {
	let watch = Watch::start(&server);
	let admin = admin_client(&server.base).await;
	let workflows = server.url("/api/v1/workflows");
	let ok = json!({"name": "clean", "definition": echo_definition("hi")});
	for (what, field, value) in [
		("NUL in the name", "name", json!("a\u{0}b")),
		("escape in the name", "name", json!("\u{1b}[31mred")),
		("newline in the name", "name", json!("two\nlines")),
		(
			"bidi override in the name",
			"name",
			json!("invoice\u{202E}fdp.exe"),
		),
		("NUL in the description", "description", json!("x\u{0}")),
		("bell in the category", "category", json!("c\u{7}")),
		("NUL in a tag", "tags", json!(["ok", "t\u{0}"])),
	] {
		let mut body = ok.clone();
		body[field] = value;
		let (status, body) = post(&admin, workflows.clone(), &body).await;
		assert_eq!(status, 400, "{what}: {body}");
		assert_eq!(body["success"], false);
	}
	for (what, definition) in [
		("NUL in a component id", {
			let mut d = echo_definition("hi");
			d["components"][1]["id"] = json!("s\u{0}ay");
			d["connections"][0]["target"] = json!("s\u{0}ay");
			d["connections"][1]["source"] = json!("s\u{0}ay");
			d
		}),
		("control in a parameter name", {
			let mut d = echo_definition("hi");
			d["parameters"] = json!([{"name": "p\u{8}", "parameter_type": "string"}]);
			d
		}),
	] {
		let (status, body) = post(
			&admin,
			workflows.clone(),
			&json!({"name": what, "definition": definition}),
		)
		.await;
		assert!(matches!(status, 400 | 422), "{what}: {status} {body}");
	}
	// A line break in a description is fine.
	let mut multiline = ok.clone();
	multiline["description"] = json!("first line\nsecond line\tand a tab");
	assert_eq!(post(&admin, workflows.clone(), &multiline).await.0, 201);
	// The same name again: a clean 409 that names no table or constraint.
	let (status, body) = post(&admin, workflows.clone(), &ok).await;
	assert_eq!(status, 409, "{body}");
	let text = body.to_string();
	assert!(
		!text.contains("UNIQUE") && !text.contains("constraint") && !text.contains("wo_"),
		"{text}"
	);
	assert!(text.contains("already exists"), "{text}");
	// A body over the 10 MiB limit: a 413 in the envelope, for REST and GraphQL. Sent by hand:
	// the server answers before the body is through and closes, which a client still sending
	// sees as a reset.
	for path in ["/api/v1/workflows", "/graphql"] {
		let answer = oversized(&server, path).await;
		assert!(answer.starts_with("HTTP/1.1 413"), "{path}: {answer}");
		assert!(
			answer
				.to_lowercase()
				.contains("content-type: application/json"),
			"{path}: {answer}"
		);
		assert!(answer.contains("\"success\":false"), "{path}: {answer}");
	}
	// The files the embedded default made are this user's alone.
	if let Some(data) = data {
		use std::os::unix::fs::PermissionsExt;
		let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
		assert_eq!(mode(&data), 0o700, "the data dir");
		for name in ["apg.db", "apg.db-wal", "apg.db-shm"] {
			let path = data.join(name);
			if path.exists() {
				assert_eq!(mode(&path), 0o600, "{name}");
			}
		}
	}
	watch.finish(&mut server).await;
}

on_both!(
	input,
	bad_names_duplicates_and_big_bodies_get_clean_errors,
	&[]
);
