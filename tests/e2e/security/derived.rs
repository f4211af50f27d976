//! What derives from a protected thing is as protected as the thing (issue 9). A secret comes
//! back from a peer not only as itself but as the base64 of the `user:password` basic auth
//! built from it, percent-encoded in an echoed query string, in hex, or inside a base64 dump of
//! the whole request: none of these may reach an execution's detail, logs or trace, the SQLite
//! files or the server's own log. And an internal address has many spellings (`2130706433`,
//! `0177.0.0.1`, `[::ffff:7f00:1]`, NAT64, 6to4): none of them gets a request through.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};

use super::*;

const STANDARD: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const URL_SAFE: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// Padded base64 of `bytes` in `alphabet` (written here rather than taken from the code under
/// test, so a mistake there cannot hide here).
fn base64(bytes: &[u8], alphabet: &[u8; 64]) -> String {
	let mut out = String::new();
	for chunk in bytes.chunks(3) {
		let mut b = [0u8; 3];
		b[..chunk.len()].copy_from_slice(chunk);
		let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
		for i in 0..4 {
			if i <= chunk.len() {
				out.push(char::from(alphabet[((n >> (18 - 6 * i)) & 63) as usize]));
			} else {
				out.push('=');
			}
		}
	}
	out
}

fn hex(bytes: &[u8]) -> String {
	bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Every byte as `%XX`.
fn percent_all(bytes: &[u8]) -> String {
	bytes.iter().map(|b| format!("%{b:02X}")).collect()
}

/// Percent-encoding as `encodeURIComponent` does it (unreserved bytes kept).
fn uri_component(bytes: &[u8]) -> String {
	bytes
		.iter()
		.map(|&b| {
			if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
				char::from(b).to_string()
			} else {
				format!("%{b:02X}")
			}
		})
		.collect()
}

/// Percent-encoding as a query string's `application/x-www-form-urlencoded` does it (what the
/// component's `query` field sends).
fn form_encoded(bytes: &[u8]) -> String {
	bytes
		.iter()
		.map(|&b| {
			if b.is_ascii_alphanumeric() || b"*-._".contains(&b) {
				char::from(b).to_string()
			} else if b == b' ' {
				"+".to_owned()
			} else {
				format!("%{b:02X}")
			}
		})
		.collect()
}

/// The forms of `secret` that must appear nowhere: clear, base64 (standard and URL-safe, with
/// and without padding), hex (lower and upper), percent-encoded (every byte, either case, and
/// the usual component encoding), and the middle of its base64 at each alignment (what is left
/// of it when it was encoded inside a longer string).
fn forms(secret: &str) -> Vec<(String, String)> {
	let b = secret.as_bytes();
	let mut out = vec![("clear".to_owned(), secret.to_owned())];
	for (name, alphabet) in [("base64", STANDARD), ("base64url", URL_SAFE)] {
		let padded = base64(b, alphabet);
		out.push((name.to_owned(), padded.clone()));
		out.push((
			format!("{name} unpadded"),
			padded.trim_end_matches('=').to_owned(),
		));
		for lead in 1..3 {
			let mut shifted = vec![b'x'; lead];
			shifted.extend_from_slice(b);
			let encoded = base64(&shifted, alphabet);
			let encoded = encoded.trim_end_matches('=');
			out.push((
				format!("{name} at offset {lead}"),
				encoded[4..encoded.len() - 4].to_owned(),
			));
		}
	}
	out.push(("hex".to_owned(), hex(b)));
	out.push(("HEX".to_owned(), hex(b).to_uppercase()));
	out.push(("percent".to_owned(), percent_all(b)));
	out.push(("percent lower".to_owned(), percent_all(b).to_lowercase()));
	out.push(("uri component".to_owned(), uri_component(b)));
	out.push(("form-encoded".to_owned(), form_encoded(b)));
	out
}

/// Asserts no form of any of `secrets` is in `text`.
fn assert_none_in(what: &str, text: &[u8], secrets: &[&str]) {
	for secret in secrets {
		for (form, needle) in forms(secret) {
			assert_eq!(
				occurrences(text, &needle),
				0,
				"{what} holds {secret} as {form} ({needle}):\n{}",
				String::from_utf8_lossy(text)
			);
		}
	}
}

/// A loopback HTTP peer that answers with the request it got and its encodings: the whole
/// request in base64, URL-safe base64, hex and percent-encoding, and each header value the same
/// ways (a debugging endpoint, or a server that wants the caller's secrets stored). A path with
/// `fail` in it answers 400, so the same body becomes an error message. Remembers the requests.
fn encoding_server() -> (String, Arc<Mutex<String>>) {
	let listener = TcpListener::bind("127.0.0.1:0").unwrap();
	let url = format!("http://{}", listener.local_addr().unwrap());
	let seen = Arc::new(Mutex::new(String::new()));
	let keep = seen.clone();
	std::thread::spawn(move || {
		for stream in listener.incoming().flatten() {
			let mut stream = stream;
			let mut buf = [0u8; 16384];
			let n = stream.read(&mut buf).unwrap_or(0);
			let request = &buf[..n];
			let text = String::from_utf8_lossy(request).to_string();
			keep.lock().unwrap().push_str(&text);
			let mut headers = serde_json::Map::new();
			for line in text.lines().skip(1) {
				if let Some((name, value)) = line.split_once(": ") {
					let v = value.as_bytes();
					headers.insert(
						name.to_lowercase(),
						json!({"value": value, "base64": base64(v, STANDARD),
							"base64url": base64(v, URL_SAFE), "hex": hex(v),
							"HEX": hex(v).to_uppercase(), "percent": percent_all(v)}),
					);
				}
			}
			let body = json!({"request": text, "base64": base64(request, STANDARD),
				"base64url": base64(request, URL_SAFE), "hex": hex(request),
				"percent": percent_all(request), "headers": headers})
			.to_string();
			let status = if text.lines().next().unwrap_or_default().contains("fail") {
				"400 Bad Request"
			} else {
				"200 OK"
			};
			let response = format!(
				"HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\
				 connection: close\r\n\r\n{body}",
				body.len()
			);
			let _ = stream.write_all(response.as_bytes());
		}
	});
	(url, seen)
}

/// The real binary on a SQLite data dir, logging at debug level to a buffer the test reads
/// (its console log, JSON on stdout, and stderr) and to `logs/` next to the data dir (the
/// suite's `Server` drops the log; here it is one of the places a secret must not be).
struct Logged {
	child: Child,
	base: String,
	log: Arc<Mutex<String>>,
}

/// Appends every line of `from` to `log`, on a thread of its own.
fn drain(from: impl Read + Send + 'static, log: Arc<Mutex<String>>) {
	std::thread::spawn(move || {
		for line in BufReader::new(from).lines().map_while(Result::ok) {
			let mut log = log.lock().unwrap();
			log.push_str(&line);
			log.push('\n');
		}
	});
}

impl Logged {
	fn start(data: &std::path::Path, env: &[(&str, &str)]) -> Self {
		let mut child = crate::util::bin()
			.args(["serve", "--port", "0", "--data-dir", data.to_str().unwrap()])
			.envs(env.iter().copied())
			.env("APG_ENV", "production")
			.env("LOG_LEVEL", "debug")
			.current_dir(data.parent().unwrap())
			.stdout(Stdio::piped())
			.stderr(Stdio::piped())
			.spawn()
			.unwrap();
		let log = Arc::new(Mutex::new(String::new()));
		drain(child.stdout.take().unwrap(), log.clone());
		let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
		let base = loop {
			let line = lines
				.next()
				.expect("the server exits before listening")
				.unwrap();
			log.lock().unwrap().push_str(&line);
			if let Some(rest) = line.split("listening on ").nth(1) {
				break rest.split_whitespace().next().unwrap().to_owned();
			}
		};
		let keep = log.clone();
		std::thread::spawn(move || {
			for line in lines.map_while(Result::ok) {
				let mut log = keep.lock().unwrap();
				log.push_str(&line);
				log.push('\n');
			}
		});
		Self { child, base, log }
	}

	/// Everything logged so far: the console, and the files under `logs/`.
	fn log(&self, data: &std::path::Path) -> String {
		let mut all = self.log.lock().unwrap().clone();
		let dir = data.parent().unwrap().join("logs");
		for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
			all.push_str(&std::fs::read_to_string(entry.path()).unwrap_or_default());
		}
		all
	}

	fn url(&self, path: &str) -> String {
		format!("{}{path}", self.base)
	}
}

impl Drop for Logged {
	fn drop(&mut self) {
		let _ = self.child.kill();
		let _ = self.child.wait();
	}
}

async fn run_workflow(server: &Logged, admin: &reqwest::Client, wf: Value) -> Value {
	let r = admin
		.post(server.url("/api/v1/workflows"))
		.json(&wf)
		.send()
		.await
		.unwrap();
	assert_eq!(r.status(), 201);
	let body: Value = r.json().await.unwrap();
	let id = body["data"]["id"].as_str().unwrap();
	let body: Value = admin
		.post(server.url(&format!("/api/v1/workflows/{id}/execute")))
		.json(&json!({}))
		.send()
		.await
		.unwrap()
		.json()
		.await
		.unwrap();
	let exec = body["data"]["id"]
		.as_str()
		.expect("execution id")
		.to_owned();
	for _ in 0..400 {
		let body = get_json(admin, server.url(&format!("/api/v1/executions/{exec}"))).await;
		let status = body["data"]["status"].as_str().unwrap_or_default();
		if ["completed", "failed", "cancelled"].contains(&status) {
			return body["data"].clone();
		}
		tokio::time::sleep(Duration::from_millis(50)).await;
	}
	panic!("execution {exec} did not end");
}

#[tokio::test(flavor = "multi_thread")]
async fn no_derived_form_of_a_secret_is_stored_shown_or_logged() {
	let (echo, echo_seen) = echo_server();
	let (encoder, encoder_seen) = encoding_server();
	let dir = tempfile::tempdir().unwrap();
	let data = dir.path().join("data");
	let server = Logged::start(&data, &[("APG_HTTP_ALLOW", "127.0.0.1")]);
	let admin = admin_client(&server.base).await;
	// Bytes that encode differently in standard and URL-safe base64 and that a query string
	// escapes (`>`, `?`, `~`, a space).
	let id = uuid::Uuid::now_v7().simple().to_string();
	let password = format!("pw>{id}? ~");
	let api = format!("api-{id}~key");
	let sealed = format!("SEALED>{id}?");
	for (name, value) in [("pw", &password), ("api", &api)] {
		let r = admin
			.post(server.url("/api/v1/credentials"))
			.json(&json!({"name": name, "value": value}))
			.send()
			.await
			.unwrap();
		assert_eq!(r.status(), 201);
	}
	let basic = |url: String| json!({"url": url, "auth": {"username": "alice", "password": "{{secrets.pw}}"}});
	let wf = json!({"name": "derived forms", "definition": {
		"components": [
			{"id": "start", "type": "start"},
			{"id": "basic", "type": "http_request", "config": basic(echo.clone())},
			{"id": "bearer", "type": "http_request", "config": {"url": format!("{encoder}/ok"),
				"auth": {"token": sealed}, "headers": {"X-Api-Key": "{{secrets.api}}"},
				"query": {"q": "{{secrets.pw}}", "k": "{{secrets.api}}"}}},
			{"id": "encoded", "type": "http_request", "config": basic(format!("{encoder}/ok"))},
			{"id": "say", "type": "task", "config": {"task_type": "echo",
				"message": "pw={{secrets.pw}} api={{secrets.api}}"}},
			{"id": "fail", "type": "http_request", "config": basic(format!("{encoder}/fail"))},
			{"id": "end", "type": "end"}
		],
		"connections": [
			{"source": "start", "target": "basic"}, {"source": "basic", "target": "bearer"},
			{"source": "bearer", "target": "encoded"}, {"source": "encoded", "target": "say"},
			{"source": "say", "target": "fail"}, {"source": "fail", "target": "end"}
		]
	}});
	let ended = run_workflow(&server, &admin, wf).await;
	assert_eq!(ended["status"], "failed", "{ended}");
	let exec = ended["id"].as_str().unwrap().to_owned();
	let detail = ended.to_string();
	assert!(detail.contains("unexpected status 400"), "{detail}");
	// The peers really got every secret, in the forms issue 9 found stored.
	let pair = format!("alice:{password}");
	let echoed = echo_seen.lock().unwrap().clone();
	let encoded = encoder_seen.lock().unwrap().clone();
	let basic_header = format!("Basic {}", base64(pair.as_bytes(), STANDARD));
	assert!(echoed.contains(&basic_header), "{echoed}");
	assert!(encoded.contains(&basic_header), "{encoded}");
	assert!(
		encoded.contains(&format!("Bearer {sealed}")) && encoded.contains(&api),
		"{encoded}"
	);
	assert!(
		encoded.contains(&form_encoded(password.as_bytes())),
		"the query carried the password percent-encoded: {encoded}"
	);
	// …and nothing that holds what they answered keeps any form of them.
	let secrets = [
		password.as_str(),
		api.as_str(),
		sealed.as_str(),
		pair.as_str(),
	];
	for path in [
		format!("/api/v1/executions/{exec}"),
		format!("/api/v1/executions/{exec}/logs"),
		format!("/api/v1/executions/{exec}/trace"),
	] {
		let text = get_text(&admin, server.url(&path)).await;
		assert!(text.len() > 100, "{path}: {text}");
		assert_none_in(&path, text.as_bytes(), &secrets);
		assert!(
			path.ends_with("logs") || text.contains("***"),
			"{path} shows the mask: {text}"
		);
	}
	let steps = get_json(&admin, server.url(&format!("/api/v1/executions/{exec}"))).await;
	assert!(
		steps.to_string().contains("Basic ***") || steps.to_string().contains("authorization: ***"),
		"the echoed header is masked whole: {steps}"
	);
	// The step's failure was logged before the execution ended; a moment lets the file
	// writers flush.
	tokio::time::sleep(Duration::from_millis(300)).await;
	let log = server.log(&data);
	assert!(log.len() > 1000, "the server logged: {log}");
	assert_none_in("the server's log", log.as_bytes(), &secrets);
	drop(server);
	let bytes = sqlite_bytes(&data);
	assert!(bytes.len() > 10_000);
	assert_none_in("the SQLite files", &bytes, &secrets);
}

/// Every spelling of the loopback echo server's address, each in a workflow of its own, on a
/// server that allows no internal address: each step fails as refused and the echo server
/// hears nothing.
#[tokio::test(flavor = "multi_thread")]
async fn no_spelling_of_an_internal_address_gets_a_request_through() {
	let (echo, seen) = echo_server();
	let port = echo
		.trim_start_matches("http://127.0.0.1:")
		.trim_end_matches("/echo")
		.to_owned();
	let dir = tempfile::tempdir().unwrap();
	let server = Logged::start(&dir.path().join("data"), &[("APG_HTTP_ALLOW", "")]);
	let admin = admin_client(&server.base).await;
	let hosts = [
		"127.0.0.1",
		"2130706433",
		"0177.0.0.1",
		"127.1",
		"0x7f.0.0.1",
		"017700000001",
		"%31%32%37.0.0.1",
		"localhost",
		"[::ffff:7f00:1]",
		"[::ffff:127.0.0.1]",
		"[::ffff:0:127.0.0.1]",
		"[::127.0.0.1]",
		"[64:ff9b::127.0.0.1]",
		"[2002:7f00:1::1]",
		"[::1]",
		"198.18.0.1",
		"240.0.0.1",
	];
	let runs = hosts.iter().map(|host| {
		let url = format!("http://{host}:{port}/echo");
		let wf = json!({"name": format!("to {host}"), "definition": {
			"components": [{"id": "start", "type": "start"},
				{"id": "call", "type": "http_request", "config": {"url": url}}],
			"connections": [{"source": "start", "target": "call"}]}});
		let (server, admin) = (&server, &admin);
		async move { (url, run_workflow(server, admin, wf).await) }
	});
	for (url, ended) in futures_util::future::join_all(runs).await {
		assert_eq!(ended["status"], "failed", "{url}: {ended}");
		assert!(
			ended.to_string().contains("refused"),
			"{url} is refused: {ended}"
		);
	}
	assert_eq!(seen.lock().unwrap().as_str(), "", "a request got through");
}
