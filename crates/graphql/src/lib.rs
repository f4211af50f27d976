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

mod error;
mod mutation;
mod query;
mod subscription;
mod types;

use apg_engine::Engine;
use async_graphql::Schema;
use async_graphql::http::{GraphQLPlaygroundConfig, playground_source};
use async_graphql_axum::{GraphQL, GraphQLSubscription};
use axum::Router;
use axum::response::Html;
use axum::routing::{get, get_service};

pub use mutation::MutationRoot;
pub use query::QueryRoot;
pub use subscription::SubscriptionRoot;

/// The deepest selection a document may nest (see the crate documentation).
pub const MAX_DEPTH: usize = 13;

/// The largest complexity a document may have (see the crate documentation).
pub const MAX_COMPLEXITY: usize = 1000;

/// The GraphQL schema of APG Workflow.
pub type ApgSchema = Schema<QueryRoot, MutationRoot, SubscriptionRoot>;

/// Who the caller is: new workflows are created with this owner. [`schema`] sets a default;
/// a caller that authenticates each request overrides it with
/// `async_graphql::Request::data(Owner(user))`, as request data takes precedence.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Owner(pub String);

/// Builds the schema over a running engine, creating workflows as `owner` unless a request says
/// otherwise (see [`Owner`]).
pub fn schema(engine: Engine, owner: String) -> ApgSchema {
	Schema::build(QueryRoot, MutationRoot, SubscriptionRoot)
		.data(engine)
		.data(Owner(owner))
		.limit_depth(MAX_DEPTH)
		.limit_complexity(MAX_COMPLEXITY)
		.finish()
}

/// The GraphQL routes, with no state of their own so the server can `merge` them:
///
/// - `POST /graphql`: queries and mutations (JSON, or batches);
/// - `GET /graphql`: a WebSocket upgrade for subscriptions (`graphql-transport-ws` or
///   `graphql-ws`, chosen by `Sec-WebSocket-Protocol`);
/// - `GET /graphql/playground`: the GraphQL Playground.
pub fn router(schema: ApgSchema) -> Router {
	Router::new()
		.route_service(
			"/graphql",
			get_service(GraphQLSubscription::new(schema.clone()))
				.post_service(GraphQL::new(schema)),
		)
		.route("/graphql/playground", get(playground))
}

async fn playground() -> Html<String> {
	Html(playground_source(
		GraphQLPlaygroundConfig::new("/graphql").subscription_endpoint("/graphql"),
	))
}
