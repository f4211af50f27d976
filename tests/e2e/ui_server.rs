//! The web UI as the real binary serves it: the embedded bundle's caching (no-cache index,
//! immutable hashed assets with ETag and 304, the client-route fallback, a 404 for a missing
//! asset), GraphiQL from the bundle with no external host, and the browser session: the cookies'
//! flags, the CSRF check, refresh-token rotation and reuse, sign-out, and users kept apart.

use reqwest::header::{self, HeaderMap};
use reqwest::{Client, Response, StatusCode};
use serde_json::{Value, json};

use crate::server::{Server, seed_workflow};
use crate::util::{ADMIN_PASSWORD, admin_client, client_with};

/// The `Set-Cookie` headers of a response, whole.
fn set_cookies(headers: &HeaderMap) -> Vec<String> {
	headers
		.get_all(header::SET_COOKIE)
		.iter()
		.map(|v| v.to_str().unwrap().to_owned())
		.collect()
}

/// The `Set-Cookie` of cookie `name`.
fn set_cookie(headers: &HeaderMap, name: &str) -> String {
	set_cookies(headers)
		.into_iter()
		.find(|c| c.starts_with(&format!("{name}=")))
		.unwrap_or_else(|| panic!("no Set-Cookie for {name} in {headers:?}"))
}

/// A cookie's value from its `Set-Cookie`.
fn value(set_cookie: &str) -> String {
	let pair = set_cookie.split(';').next().unwrap();
	pair.split_once('=').unwrap().1.to_owned()
}

/// A browser session, as the cookies and the body of a sign-in give it.
struct Session {
	cookie: String,
	csrf: String,
	access: String,
}

impl Session {
	fn cookies(&self) -> String {
		format!("apg_session={}; apg_csrf={}", self.cookie, self.csrf)
	}
}

async fn sign_in(server: &Server, username: &str, password: &str) -> (Session, Response) {
	let response = Client::new()
		.post(server.url("/api/v1/auth/session"))
		.json(&json!({"username": username, "password": password}))
		.send()
		.await
		.unwrap();
	assert_eq!(response.status(), 200, "sign-in of {username}");
	let headers = response.headers().clone();
	let session = Session {
		cookie: value(&set_cookie(&headers, "apg_session")),
		csrf: value(&set_cookie(&headers, "apg_csrf")),
		access: String::new(),
	};
	(session, response)
}

async fn signed_in(server: &Server, username: &str, password: &str) -> Session {
	let (mut session, response) = sign_in(server, username, password).await;
	let body: Value = response.json().await.unwrap();
	session.access = body["data"]["access_token"].as_str().unwrap().to_owned();
	session
}

/// `POST /auth/session/refresh` with `cookies` and, when given, the CSRF header.
async fn renew(server: &Server, cookies: &str, csrf: Option<&str>) -> Response {
	let mut request = Client::new()
		.post(server.url("/api/v1/auth/session/refresh"))
		.header(header::COOKIE, cookies);
	if let Some(csrf) = csrf {
		request = request.header("x-csrf-token", csrf);
	}
	request.send().await.unwrap()
}

async fn envelope(response: Response) -> (StatusCode, Value) {
	let status = response.status();
	(status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread")]
async fn the_bundle_is_served_with_its_cache_policy() {
	let server = Server::start();
	let plain = Client::new();
	let index = plain.get(server.url("/")).send().await.unwrap();
	assert_eq!(index.status(), 200);
	assert_eq!(index.headers()[header::CACHE_CONTROL], "no-cache");
	assert!(
		index.headers()[header::CONTENT_TYPE]
			.to_str()
			.unwrap()
			.starts_with("text/html")
	);
	let html = index.text().await.unwrap();
	assert!(html.contains("id=\"root\""), "{html}");
	let script = html
		.split("src=\"")
		.nth(1)
		.and_then(|rest| rest.split('"').next())
		.expect("index.html names its script");
	assert!(script.starts_with("/assets/"), "{script}");

	let asset = plain.get(server.url(script)).send().await.unwrap();
	assert_eq!(asset.status(), 200);
	assert_eq!(
		asset.headers()[header::CACHE_CONTROL],
		"public, max-age=31536000, immutable"
	);
	let etag = asset.headers()[header::ETAG].to_str().unwrap().to_owned();
	let again = plain
		.get(server.url(script))
		.header(header::IF_NONE_MATCH, &etag)
		.send()
		.await
		.unwrap();
	assert_eq!(again.status(), 304);
	assert_eq!(again.headers()[header::ETAG], etag.as_str());

	// A client route of the single-page app is index.html; a missing asset is not.
	let route = plain
		.get(server.url("/workflows/0190aaaa-0000-7000-8000-000000000000/design"))
		.send()
		.await
		.unwrap();
	assert_eq!(route.status(), 200);
	assert!(route.text().await.unwrap().contains("id=\"root\""));
	let missing = plain
		.get(server.url("/assets/nope-0000.js"))
		.send()
		.await
		.unwrap();
	assert_eq!(missing.status(), 404);
	// The server's paths stay the server's.
	let api = plain.get(server.url("/api/v1/nope")).send().await.unwrap();
	assert_eq!(api.status(), 401);
}

#[tokio::test(flavor = "multi_thread")]
async fn graphiql_comes_from_the_bundle_and_names_no_other_host() {
	let server = Server::start();
	let plain = Client::new();
	let page = plain
		.get(server.url("/graphql"))
		.header(header::ACCEPT, "text/html,application/xhtml+xml")
		.send()
		.await
		.unwrap();
	assert_eq!(page.status(), 200);
	assert_eq!(page.headers()[header::CACHE_CONTROL], "no-cache");
	let html = page.text().await.unwrap();
	assert!(html.contains("GraphiQL"), "{html}");
	assert!(!html.contains("unpkg"), "{html}");
	let mut scripts = 0;
	for attribute in ["src=\"", "href=\""] {
		for rest in html.split(attribute).skip(1) {
			let target = rest.split('"').next().unwrap();
			if target.starts_with("data:") {
				continue;
			}
			assert!(
				target.starts_with('/') && !target.starts_with("//"),
				"{target} is not on this server"
			);
			let fetched = plain.get(server.url(target)).send().await.unwrap();
			assert_eq!(fetched.status(), 200, "{target}");
			let text = fetched.text().await.unwrap();
			assert!(!text.contains("unpkg.com"), "{target} names unpkg");
			scripts += 1;
		}
	}
	assert!(scripts >= 2, "the page loads its script and style: {html}");
	// The old Playground address still sends browsers there.
	let old = Client::builder()
		.redirect(reqwest::redirect::Policy::none())
		.build()
		.unwrap()
		.get(server.url("/graphql/playground"))
		.header(header::ACCEPT, "text/html")
		.send()
		.await
		.unwrap();
	assert_eq!(old.status(), 308);
	assert_eq!(old.headers()[header::LOCATION], "/graphql");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_browser_session_lives_in_cookies_rotates_and_ends() {
	let server = Server::start();
	let (first, response) = sign_in(&server, "admin", ADMIN_PASSWORD).await;
	let session = set_cookie(response.headers(), "apg_session");
	let csrf = set_cookie(response.headers(), "apg_csrf");
	for flag in ["HttpOnly", "SameSite=Strict", "Path=/", "Max-Age="] {
		assert!(session.contains(flag), "{flag} missing: {session}");
	}
	// Plain HTTP from a peer that is no trusted proxy: not Secure (see crate::auth).
	assert!(!session.contains("Secure"), "{session}");
	assert!(csrf.contains("SameSite=Strict") && csrf.contains("Path=/"));
	assert!(!csrf.contains("HttpOnly"), "the page must read it: {csrf}");
	let body: Value = response.json().await.unwrap();
	let data = &body["data"];
	assert_eq!(data["csrf_token"], first.csrf.as_str());
	assert_eq!(data["user"]["username"], "admin");
	assert!(data.get("refresh_token").is_none(), "{body}");
	let access = data["access_token"].as_str().unwrap();
	let me = client_with(access)
		.get(server.url("/api/v1/auth/me"))
		.send()
		.await
		.unwrap();
	assert_eq!(me.status(), 200);

	// The cookie is no credential for the API itself.
	let only_cookie = Client::new()
		.get(server.url("/api/v1/workflows"))
		.header(header::COOKIE, first.cookies())
		.send()
		.await
		.unwrap();
	assert_eq!(only_cookie.status(), 401);

	// Refresh: the CSRF header is required, and must match.
	let (status, body) = envelope(renew(&server, &first.cookies(), None).await).await;
	assert_eq!(status, 403, "{body}");
	assert_eq!(body["success"], false);
	assert_eq!(body["category"], "security");
	let (status, _) = envelope(renew(&server, &first.cookies(), Some("forged")).await).await;
	assert_eq!(status, 403);
	let renewed = renew(&server, &first.cookies(), Some(&first.csrf)).await;
	assert_eq!(renewed.status(), 200);
	let rotated = value(&set_cookie(renewed.headers(), "apg_session"));
	assert_ne!(rotated, first.cookie, "the refresh token rotates");
	let body: Value = renewed.json().await.unwrap();
	let access = body["data"]["access_token"].as_str().unwrap();
	assert_eq!(
		client_with(access)
			.get(server.url("/api/v1/auth/me"))
			.send()
			.await
			.unwrap()
			.status(),
		200
	);

	// The old cookie after rotation is refused, and (a copy exists) ends the login.
	let (status, body) = envelope(renew(&server, &first.cookies(), Some(&first.csrf)).await).await;
	assert_eq!(status, 401, "{body}");
	assert_eq!(body["success"], false);
	let now = format!("apg_session={rotated}; apg_csrf={}", first.csrf);
	assert_eq!(
		renew(&server, &now, Some(&first.csrf)).await.status(),
		401,
		"reuse revoked the whole login"
	);

	// Sign-out: CSRF-checked, clears both cookies, and the login is over.
	let second = signed_in(&server, "admin", ADMIN_PASSWORD).await;
	let out = |csrf: Option<&str>| {
		let mut request = Client::new()
			.delete(server.url("/api/v1/auth/session"))
			.header(header::COOKIE, second.cookies());
		if let Some(csrf) = csrf {
			request = request.header("x-csrf-token", csrf);
		}
		request.send()
	};
	assert_eq!(out(None).await.unwrap().status(), 403);
	let signed_out = out(Some(&second.csrf)).await.unwrap();
	assert_eq!(signed_out.status(), 200);
	for name in ["apg_session", "apg_csrf"] {
		let cleared = set_cookie(signed_out.headers(), name);
		assert!(cleared.contains("Max-Age=0"), "{cleared}");
	}
	let (status, body) =
		envelope(renew(&server, &second.cookies(), Some(&second.csrf)).await).await;
	assert_eq!(status, 401, "{body}");

	// Without any cookie: 401, never a 500.
	let (status, body) = envelope(renew(&server, "", Some("x")).await).await;
	assert_eq!(status, 401, "{body}");
	assert_eq!(body["category"], "security");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wrong_password_sets_nothing_and_sessions_stay_apart() {
	let server = Server::start();
	let wrong = Client::new()
		.post(server.url("/api/v1/auth/session"))
		.json(&json!({"username": "admin", "password": "not the password"}))
		.send()
		.await
		.unwrap();
	assert!(set_cookies(wrong.headers()).is_empty(), "{wrong:?}");
	let (status, body) = envelope(wrong).await;
	assert_eq!(status, 401);
	assert_eq!(body["success"], false);
	assert_eq!(body["category"], "security");
	// Bad input is a clear 400, not a 500.
	let (status, body) = envelope(
		Client::new()
			.post(server.url("/api/v1/auth/session"))
			.json(&json!({"username": "admin"}))
			.send()
			.await
			.unwrap(),
	)
	.await;
	assert_eq!(status, 400, "{body}");

	// The admin's private workflow; an operator signed in by cookie cannot see it.
	let admin = admin_client(&server.base).await;
	let created: Value = admin
		.post(server.url("/api/v1/workflows"))
		.json(&seed_workflow())
		.send()
		.await
		.unwrap()
		.json()
		.await
		.unwrap();
	let id = created["data"]["id"].as_str().unwrap();
	let made = admin
		.post(server.url("/api/v1/users"))
		.json(&json!({"username": "otto", "password": "otto-password-1", "role": "operator"}))
		.send()
		.await
		.unwrap();
	assert_eq!(made.status(), 201);
	let admins = signed_in(&server, "admin", ADMIN_PASSWORD).await;
	let otto = signed_in(&server, "otto", "otto-password-1").await;
	let as_otto = client_with(&otto.access);
	let url = server.url(&format!("/api/v1/workflows/{id}"));
	assert_eq!(as_otto.get(&url).send().await.unwrap().status(), 404);
	let listed: Value = as_otto
		.get(server.url("/api/v1/workflows"))
		.send()
		.await
		.unwrap()
		.json()
		.await
		.unwrap();
	assert_eq!(listed["data"].as_array().map(Vec::len), Some(0), "{listed}");
	// Otto's cookie renews Otto, whatever CSRF token of the admin's he shows.
	assert_eq!(
		renew(&server, &otto.cookies(), Some(&admins.csrf))
			.await
			.status(),
		403
	);
	let renewed: Value = renew(&server, &otto.cookies(), Some(&otto.csrf))
		.await
		.json()
		.await
		.unwrap();
	assert_eq!(renewed["data"]["user"]["username"], "otto");
	// The admin's session is untouched by all this.
	assert_eq!(
		client_with(&admins.access)
			.get(&url)
			.send()
			.await
			.unwrap()
			.status(),
		200
	);
}
