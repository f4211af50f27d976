//! The GraphQL API of APG Workflow: the seed's schema (`workflows`, `workflow`, `createWorkflow`)
//! plus executions, components, `executeWorkflow`, `cancelExecution` and a subscription to
//! execution events over WebSocket (`graphql-transport-ws`, and the legacy `graphql-ws`).
//!
//! This crate owns only the translation between GraphQL and the engine: every read goes to the
//! engine's [`Store`](apg_core::Store), every change through the same functions REST uses
//! ([`NewWorkflow::parse`](apg_core::NewWorkflow::parse), [`apg_engine::workflows::create`],
//! [`Engine::execute`], …), so both APIs accept and refuse exactly the same inputs. It is kept
//! out of the REST crate so that the two edges build and evolve independently; the server merges
//! [`router`] into its own.
//!
//! Errors carry the REST envelope's `category` (and `details`, for validation the list of
//! `{path, message}` problems) in their `extensions`; the private `error` module has the
//! rules. Unknown ids are `null` in queries and `not_found` errors in mutations.
//!
//! # Authentication and authorization
//!
//! This crate does not authenticate: the server puts its authentication middleware (JWT or API
//! key) in front of every route, `/graphql` included, and an authenticated request carries the
//! caller's [`Principal`] in its extensions. [`router`] hands that principal to async-graphql as
//! request data (for a WebSocket, as connection data, for the connection's lifetime); a request
//! that reaches the router without one gets 401 with a GraphQL error of category `security`.
//! Embedders that execute the schema themselves pass it with
//! `async_graphql::Request::new(…).data(principal)`.
//!
//! Every resolver then decides exactly as REST does, through the same
//! [`Guard`](apg_auth::Guard) of the [`Security`] given to [`schema`]:
//!
//! - lists (`workflows`, `executions`) show only what the caller owns or was shared (admins see
//!   everything);
//! - `workflow(id)` and `execution(id)` are `null` when the caller may not see them, as when
//!   they do not exist: existence never leaks;
//! - `createWorkflow` needs `workflow.create`; `deleteWorkflow` the delete right on the
//!   workflow, `executeWorkflow` the execute right, and `cancelExecution` / `resumeExecution`
//!   the execute right on the execution's workflow. A hidden workflow or execution is a
//!   `not_found` error; one the caller may see but not act on is a `security` error. Denials
//!   are written to the audit log by the guard, and every successful mutation is audited
//!   (`workflow.create`, `workflow.delete`, `workflow.execute`, `execution.cancel`,
//!   `execution.resume`);
//! - `executionEvents` needs read access to the execution or workflow before it streams
//!   anything (hidden is `not_found`);
//! - sensitive config fields (passwords, tokens, keys…) are sealed (`fernet:…`) before a new
//!   definition is validated and stored, and every definition returned shows them as `***`.
//!   With [`SecurityConfig::reject_hardcoded_secrets`](apg_auth::SecurityConfig), a definition
//!   with hard-coded secrets is refused (`validation`) instead of stored with warnings.
//!
//! Limits, because one GraphQL document can ask for a great deal of work:
//!
//! - Depth at most [`MAX_DEPTH`]. The schema itself is shallow (no type links back to another:
//!   `executions { components { … } }` is three levels), so depth only matters for introspection,
//!   whose types are recursive (`__Type.ofType`, `fields.type`); the standard introspection
//!   query of GraphiQL and the Playground is 13 levels deep, so the limit admits it and stops
//!   anything deeper.
//! - Complexity at most [`MAX_COMPLEXITY`], counted after fragments are inlined (so a fragment
//!   bomb or a flood of aliases is refused before it runs): one per field, list fields weighted
//!   by their page (one unit per 50 rows asked for, up to 500), and fields that read the store
//!   once per row (`components`, `logs`) five more.
//! - Lists are clamped to 1..=500 rows.
//!
//! The request body size is the caller's to limit (the server wraps every router in one body
//! limit layer).
//!
//! # GraphiQL
//!
//! The binary serves GraphiQL at a browser's `GET /graphql` (`Accept: text/html`, not a
//! WebSocket upgrade) from the web UI's own bundle (`apg-ui`, a layer in front of this router),
//! so no script comes from a CDN at run time. The page signs in with the browser session's
//! cookie (`POST /api/v1/auth/session/refresh` with the CSRF header buys an access token, sent
//! as `Authorization`), or uses a token pasted in its headers editor. This router, used without
//! the UI in front, answers such a GET with a small page that says so and loads nothing. The
//! old `/graphql/playground` redirects to `/graphql`.

mod auth;
mod error;
mod mutation;
mod query;
mod subscription;
mod types;

use apg_auth::Security;
use apg_core::Principal;
use apg_engine::Engine;
use async_graphql::http::ALL_WEBSOCKET_PROTOCOLS;
use async_graphql::{Data, Schema};
use async_graphql_axum::{GraphQLBatchRequest, GraphQLProtocol, GraphQLResponse, GraphQLWebSocket};
use axum::Router;
use axum::extract::{FromRequest, FromRequestParts, Request, State, WebSocketUpgrade};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use serde_json::json;

pub use mutation::MutationRoot;
pub use query::QueryRoot;
pub use subscription::SubscriptionRoot;

/// The deepest selection a document may nest (see the crate documentation).
pub const MAX_DEPTH: usize = 13;

/// The largest complexity a document may have (see the crate documentation).
pub const MAX_COMPLEXITY: usize = 1000;

/// The GraphQL schema of APG Workflow.
pub type ApgSchema = Schema<QueryRoot, MutationRoot, SubscriptionRoot>;

/// Builds the schema over a running engine, deciding who may do what with `security` (see
/// [Authentication and authorization](crate#authentication-and-authorization)). Each request
/// must carry the caller's [`Principal`] as request data; [`router`] does that.
pub fn schema(engine: Engine, security: Security) -> ApgSchema {
	Schema::build(QueryRoot, MutationRoot, SubscriptionRoot)
		.data(engine)
		.data(security)
		.limit_depth(MAX_DEPTH)
		.limit_complexity(MAX_COMPLEXITY)
		.finish()
}

/// The GraphQL routes, with no state of their own so the server can `merge` them:
///
/// - `POST /graphql`: queries and mutations (JSON, or batches);
/// - `GET /graphql`: a WebSocket upgrade for subscriptions (`graphql-transport-ws` or
///   `graphql-ws`, chosen by `Sec-WebSocket-Protocol`);
/// - `GET /graphql` from a browser (`Accept: text/html`): a page pointing to GraphiQL, which the
///   web UI in front of this router serves instead (see [GraphiQL](crate#graphiql));
/// - `GET /graphql/playground`: a permanent redirect to GraphiQL (the Playground it served is
///   deprecated).
///
/// Queries and subscriptions run as the [`Principal`] found in the request's extensions (the server's
/// authentication middleware puts it there); without one they answer 401.
pub fn router(schema: ApgSchema, security: Security) -> Router {
	Router::new()
		.route("/graphql", get(get_graphql).post(query))
		.with_state((schema, security))
		.route("/graphql/playground", get(playground))
}

/// The router's state: the schema and security (the per-user WebSocket budget, the audit log).
type Routes = (ApgSchema, Security);

/// Operations one batch may hold: each may spend the whole complexity budget, so a batch is
/// bounded like everything else.
pub const MAX_BATCH: usize = 10;

/// The caller the authentication middleware found, if any.
fn caller(request: &Request) -> Option<Principal> {
	request.extensions().get::<Principal>().cloned()
}

/// 401, as a GraphQL response (`data: null` and one `security` error).
fn unauthenticated() -> Response {
	let body = json!({
		"data": null,
		"errors": [{
			"message": "authentication required",
			"extensions": {"category": "security"},
		}],
	});
	(
		StatusCode::UNAUTHORIZED,
		[(header::WWW_AUTHENTICATE, "Bearer")],
		axum::Json(body),
	)
		.into_response()
}

/// `POST /graphql`: runs the operation (or batch) as the caller.
async fn query(State((schema, _)): State<Routes>, request: Request) -> Response {
	let Some(principal) = caller(&request) else {
		return unauthenticated();
	};
	let batch = match <GraphQLBatchRequest>::from_request(request, &()).await {
		Ok(batch) => batch.into_inner(),
		Err(rejection) => return rejection.into_response(),
	};
	if let async_graphql::BatchRequest::Batch(items) = &batch
		&& items.len() > MAX_BATCH
	{
		let body = json!({"data": null, "errors": [{
			"message": format!("a batch may hold at most {MAX_BATCH} operations"),
			"extensions": {"category": "validation"},
		}]});
		return (StatusCode::BAD_REQUEST, axum::Json(body)).into_response();
	}
	GraphQLResponse::from(schema.execute_batch(batch.data(principal)).await).into_response()
}

/// `GET /graphql`: upgrades to a GraphQL WebSocket whose operations run as the caller.
async fn subscribe(State((schema, security)): State<Routes>, request: Request) -> Response {
	let Some(principal) = caller(&request) else {
		return unauthenticated();
	};
	// One budget per user with `/ws`: a slot is held for the life of the socket.
	let slot = match security.connections.open(principal.user_id) {
		Ok(slot) => slot,
		Err(e) => {
			let why = e.to_string();
			security
				.guard
				.deny(&principal, "ws.connect", "/graphql", &why)
				.await;
			let body = json!({"data": null, "errors": [{"message": e.to_string(),
				"extensions": {"category": "performance"}}]});
			return (StatusCode::TOO_MANY_REQUESTS, axum::Json(body)).into_response();
		}
	};
	let (mut parts, _body) = request.into_parts();
	let protocol = match GraphQLProtocol::from_request_parts(&mut parts, &()).await {
		Ok(protocol) => protocol,
		Err(rejection) => return rejection.into_response(),
	};
	let upgrade = match WebSocketUpgrade::from_request_parts(&mut parts, &()).await {
		Ok(upgrade) => upgrade,
		Err(rejection) => return rejection.into_response(),
	};
	let mut data = Data::default();
	data.insert(principal);
	upgrade
		.protocols(ALL_WEBSOCKET_PROTOCOLS)
		.on_upgrade(move |socket| async move {
			GraphQLWebSocket::new(socket, schema, protocol)
				.with_data(data)
				.serve()
				.await;
			drop(slot);
		})
}

/// `GET /graphql`: the no-UI page for a browser, a WebSocket upgrade otherwise.
async fn get_graphql(state: State<Routes>, request: Request) -> Response {
	let headers = request.headers();
	let upgrade = headers.contains_key(header::UPGRADE);
	let html = headers
		.get(header::ACCEPT)
		.and_then(|v| v.to_str().ok())
		.is_some_and(|v| v.contains("text/html"));
	if html && !upgrade {
		return NO_UI.into_response();
	}
	subscribe(state, request).await
}

/// What a browser's `GET /graphql` gets when the web UI is not in front of this router (the
/// binary always puts it there): no GraphiQL, and nothing loaded from anywhere.
const NO_UI: Html<&str> = Html(
	"<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>GraphQL</title></head>\
	 <body><p>GraphiQL comes with the web UI, which this server does not serve. Send queries as \
	 <code>POST /graphql</code> with <code>Authorization: Bearer &lt;token&gt;</code>.</p></body></html>",
);

/// The Playground's old address: GraphiQL replaced it.
async fn playground() -> Redirect {
	Redirect::permanent("/graphql")
}
