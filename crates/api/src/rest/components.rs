//! `GET /components`: every component type with its config schema.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};

use crate::state::AppState;
use crate::views::{ComponentTypeView, Envelope};

pub(crate) fn router() -> Router<AppState> {
	Router::new().route("/components", get(list_components))
}

/// Every component type with its config schema.
#[utoipa::path(get, path = "/api/v1/components", tag = "components",
	responses((status = 200, body = Envelope<Vec<ComponentTypeView>>)))]
pub(crate) async fn list_components(
	State(state): State<AppState>,
) -> Json<Envelope<Vec<ComponentTypeView>>> {
	let registry = state.engine.registry();
	let types = registry
		.iter()
		.map(|(kind, c)| ComponentTypeView {
			kind: kind.to_owned(),
			summary: c.summary().to_owned(),
			config_schema: registry
				.schema(kind)
				.map(|s| s.document().clone())
				.unwrap_or_default(),
		})
		.collect();
	Json(Envelope::new(types, None))
}
