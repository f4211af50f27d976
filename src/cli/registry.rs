//! The components this binary knows: every crate's built-ins, configured from the
//! `components` section of the configuration. The one place a component crate is registered, so
//! `serve`, `run`, `validate` and `bench` can never disagree on what a definition may use.

use serde::{Deserialize, Serialize};

use apg_core::Registry;

/// `components:` in `config.yaml` (env: `APG_COMPONENTS__FILES__ROOTS=[./data/files,/tmp]`).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default)]
pub(crate) struct ComponentSettings {
	/// `http_request`, `database_query`, `email` and the other components of `apg-components`.
	#[serde(flatten)]
	pub(crate) core: apg_components::Settings,
	/// `file_operation`.
	pub(crate) files: apg_files::Settings,
	/// `script_execution`.
	pub(crate) script: apg_script::Settings,
	/// The APG connectors (`apg_capability`'s endpoint, the per-user file store's limit).
	pub(crate) connectors: apg_connectors::Settings,
}

impl Default for ComponentSettings {
	fn default() -> Self {
		Self {
			core: apg_components::Settings::from_env(),
			files: apg_files::Settings::default(),
			script: apg_script::Settings::default(),
			connectors: apg_connectors::Settings::default(),
		}
	}
}

/// Every component, configured by `settings`; the APG connectors act on `platform` (the
/// server's services), or fail their steps without one (`run`, `validate`, `bench`).
pub(crate) fn registry(
	settings: &ComponentSettings,
	platform: Option<apg_connectors::Platform>,
) -> Registry {
	let mut registry = apg_components::with_settings(&settings.core);
	apg_files::register(&mut registry, &settings.files);
	apg_script::register(&mut registry, &settings.script);
	// Last: apg_notification sends through the email and http_request registered above.
	apg_connectors::register(&mut registry, platform);
	registry
}

/// Every component, configured as `serve` would be from `config/config.yaml` and the `APG_*`
/// environment, for the commands that take no `--config` (`run`, `validate`, `bench`). A
/// configuration that does not load is reported by `serve`; here the defaults stand in.
pub(crate) fn local() -> Registry {
	let settings = crate::config::Config::load(None, false, &serde_json::json!({}))
		.map(|c| c.components)
		.unwrap_or_default();
	registry(&settings, None)
}
