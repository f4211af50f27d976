//! The web UI, served by the binary: the committed bundle `ui/dist/` (React, built by Vite) is
//! compiled in with `rust-embed`, so `cargo run -- serve` serves the UI with no Node and from
//! any working directory (`debug-embed`: debug builds embed too, instead of reading the folder
//! at run time, so a test binary started in a temporary directory gets the same files).
//!
//! [`with_ui`] puts the UI in front of the server's router. It owns every `GET`/`HEAD` whose
//! path is not under one of [`SERVER_PREFIXES`]:
//!
//! - a file of the bundle is served with its content type, an `ETag` (the file's SHA-256, known
//!   at compile time) and `304` for a matching `If-None-Match`;
//! - files under `/assets/` are named by their content hash, so they are cached for a year
//!   (`public, max-age=31536000, immutable`); a missing one is a plain 404, never `index.html`
//!   (HTML served as a script would be cached as one and fail obscurely);
//! - `index.html`, and every other file, is `no-cache`: browsers revalidate it (cheaply, by
//!   `ETag`), so a new deploy is picked up at the next load;
//! - any other path is a client route of the single-page app (`/workflows/abc`): `index.html`.
//!
//! One path of the server's is the UI's too: a browser's `GET /graphql` (`Accept: text/html`,
//! not a WebSocket upgrade) gets `graphiql.html`, GraphiQL built into the bundle as an entry of
//! its own (so its scripts are never part of the app's first load, and nothing comes from a
//! CDN). It signs in with the browser session like the app (see `ui/src/graphiql/`). A browser's
//! `GET /graphql/playground`, the old Playground's address, is sent there (308).
//!
//! Everything else (other methods, and every path under the server's prefixes) goes to the
//! server's router untouched, so `/api/v1/nope` stays the API's 404 envelope and
//! authentication is unchanged. The UI's files are public: they hold no data, and the app
//! signs in through `/api/v1/auth/session`.
//!
//! It is a layer rather than a `fallback` because the server's router already has a fallback
//! (the API's 404) and its authentication middleware answers unknown paths with 401 before
//! any fallback would run; dispatching on the path first keeps both behaviours as they are.

use std::borrow::Cow;

use axum::Router;
use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use rust_embed::{EmbeddedFile, RustEmbed};

/// The bundle, as committed (the frontend build writes it; CI checks it matches the source).
#[derive(RustEmbed)]
#[folder = "../../ui/dist"]
struct Bundle;

/// Path prefixes that belong to the server: never answered with the UI. A new server route
/// outside these must be added here, or the UI would shadow its `GET`.
pub const SERVER_PREFIXES: &[&str] = &["/api", "/graphql", "/ws", "/health", "/metrics"];

/// The cache policy of content-hashed files.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// The cache policy of everything else: always revalidate.
const REVALIDATE: &str = "no-cache";

/// Whether `path` belongs to the server rather than the UI (`/api` and `/api/…`, not `/apis`).
pub fn is_server_path(path: &str) -> bool {
	SERVER_PREFIXES.iter().any(|prefix| {
		path.strip_prefix(prefix)
			.is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
	})
}

/// `server` with the UI in front of it (see the module documentation).
pub fn with_ui(server: Router) -> Router {
	server.layer(axum::middleware::from_fn(serve))
}

/// Whether the bundle has a file at `path` (relative, as `assets/index-abc.js`).
pub fn has_file(path: &str) -> bool {
	Bundle::get(path).is_some()
}

/// The middleware: answers what the UI owns, passes the rest on.
async fn serve(request: Request, next: Next) -> Response {
	let method = request.method();
	let path = request.uri().path();
	if !(method == Method::GET || method == Method::HEAD) {
		return next.run(request).await;
	}
	let if_none_match = request.headers().get(header::IF_NONE_MATCH).cloned();
	if path == "/graphql/playground" && wants_graphiql(request.headers()) {
		// The Playground's old address, for a browser that has no token to send: GraphiQL
		// replaced it (the GraphQL router redirects authenticated clients alike).
		return (
			StatusCode::PERMANENT_REDIRECT,
			[(header::LOCATION, "/graphql")],
		)
			.into_response();
	}
	if path == "/graphql" && wants_graphiql(request.headers()) {
		return match Bundle::get(GRAPHIQL) {
			Some(file) => respond(GRAPHIQL, file, if_none_match.as_ref()),
			None => next.run(request).await,
		};
	}
	if is_server_path(path) {
		return next.run(request).await;
	}
	let relative = path.trim_start_matches('/');
	let (name, file): (Cow<'_, str>, _) = match Bundle::get(relative) {
		Some(file) if !relative.is_empty() => (Cow::Borrowed(relative), file),
		_ if relative.starts_with("assets/") => return missing_asset(),
		_ => match Bundle::get("index.html") {
			Some(file) => (Cow::Borrowed("index.html"), file),
			None => return missing_asset(),
		},
	};
	respond(&name, file, if_none_match.as_ref())
}

/// GraphiQL's page in the bundle.
const GRAPHIQL: &str = "graphiql.html";

/// Whether a `GET /graphql` is a browser opening the page (GraphQL over WebSocket is an upgrade;
/// a client's query asks for JSON).
fn wants_graphiql(headers: &HeaderMap) -> bool {
	!headers.contains_key(header::UPGRADE)
		&& headers
			.get(header::ACCEPT)
			.and_then(|v| v.to_str().ok())
			.is_some_and(|v| v.contains("text/html"))
}

/// A file of the bundle, or 304 when the client's copy is current.
fn respond(name: &str, file: EmbeddedFile, if_none_match: Option<&HeaderValue>) -> Response {
	let etag = etag(&file);
	let cache = if name.starts_with("assets/") {
		IMMUTABLE
	} else {
		REVALIDATE
	};
	let common = [
		(header::CACHE_CONTROL, HeaderValue::from_static(cache)),
		(
			header::X_CONTENT_TYPE_OPTIONS,
			HeaderValue::from_static("nosniff"),
		),
	];
	let fresh = if_none_match
		.and_then(|v| v.to_str().ok())
		.is_some_and(|v| {
			v.split(',')
				.any(|tag| tag.trim() == etag || tag.trim() == "*")
		});
	let etag = HeaderValue::from_str(&etag).unwrap_or_else(|_| HeaderValue::from_static("\"\""));
	if fresh {
		return (StatusCode::NOT_MODIFIED, common, [(header::ETAG, etag)]).into_response();
	}
	let mime = HeaderValue::from_str(file.metadata.mimetype())
		.unwrap_or_else(|_| HeaderValue::from_static("application/octet-stream"));
	(
		common,
		[(header::CONTENT_TYPE, mime), (header::ETAG, etag)],
		Body::from(file.data.into_owned()),
	)
		.into_response()
}

/// A strong validator: the file's SHA-256, computed when the bundle was embedded.
fn etag(file: &EmbeddedFile) -> String {
	let hash = file.metadata.sha256_hash();
	let mut text = String::with_capacity(2 + 2 * hash.len());
	text.push('"');
	for byte in hash {
		text.push_str(&format!("{byte:02x}"));
	}
	text.push('"');
	text
}

fn missing_asset() -> Response {
	(
		StatusCode::NOT_FOUND,
		[(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
		"no such file in the UI bundle",
	)
		.into_response()
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn server_prefixes_match_whole_segments_only() {
		assert!(is_server_path("/api"));
		assert!(is_server_path("/api/v1/workflows"));
		assert!(is_server_path("/graphql"));
		assert!(is_server_path("/health"));
		assert!(!is_server_path("/apis"));
		assert!(!is_server_path("/workflows/abc"));
		assert!(!is_server_path("/"));
	}

	#[test]
	fn the_bundle_has_an_index_and_graphiql() {
		assert!(has_file("index.html"));
		assert!(has_file(GRAPHIQL));
	}
}
