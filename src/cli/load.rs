//! Reading workflow files and opening stores for the CLI.
//!
//! A workflow file is either the seed's `WorkflowCreate` (`{"name", "definition", …}`) or a bare
//! definition (`{"components", "connections", …}`), which is named after the file.

use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, bail};
use apg_core::{NewWorkflow, Store, Workflow, WorkflowFilter, now_millis};
use apg_engine::{Engine, EngineConfig, EngineError, workflows};
use apg_store::{MemoryStore, SqliteStore};
use serde_json::{Map, Value, json};

use super::StoreArgs;

/// The owner of workflows created from the command line.
pub(crate) const CLI_OWNER: &str = "cli";

/// Reads a workflow file as JSON.
pub(crate) fn read_json(path: &Path) -> anyhow::Result<Value> {
	let text =
		std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
	serde_json::from_str(&text).with_context(|| format!("{} is not valid JSON", path.display()))
}

/// Turns a file's JSON into a create request.
pub(crate) fn as_new_workflow(
	path: &Path,
	value: Value,
) -> Result<NewWorkflow, Vec<apg_core::Issue>> {
	let value = if value.get("definition").is_some() {
		value
	} else {
		let name = path
			.file_stem()
			.map(|s| s.to_string_lossy().into_owned())
			.unwrap_or_else(|| "workflow".into());
		json!({"name": name, "definition": value})
	};
	NewWorkflow::parse(&value)
}

/// Opens and migrates the SQLite store of a data dir.
pub(crate) async fn open_sqlite(args: &StoreArgs) -> anyhow::Result<SqliteStore> {
	let store = SqliteStore::open_dir(&args.data_dir, args.synchronous)
		.await
		.with_context(|| format!("cannot open the database in {}", args.data_dir.display()))?;
	store
		.migrate()
		.await
		.context("cannot migrate the database")?;
	Ok(store)
}

/// The store of a command, migrated: PostgreSQL when a database URL is given, SQLite under the
/// data dir otherwise, or memory when there are no store arguments at all.
pub(crate) async fn open_store(args: Option<&StoreArgs>) -> anyhow::Result<Arc<dyn Store>> {
	let Some(args) = args else {
		return Ok(Arc::new(MemoryStore::new()));
	};
	match &args.database_url {
		Some(url) => Ok(open_database(url).await?),
		None => Ok(Arc::new(open_sqlite(args).await?)),
	}
}

/// Connects to and migrates the database at `url` (only `postgres://` today).
pub(crate) async fn open_database(url: &str) -> anyhow::Result<Arc<dyn Store>> {
	Ok(open_postgres(url).await?)
}

/// Connects to and migrates the PostgreSQL database at `url`.
pub(crate) async fn open_postgres(url: &str) -> anyhow::Result<Arc<apg_store::PgStore>> {
	if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
		bail!("unsupported database URL (expected postgres://…)");
	}
	let store = apg_store::PgStore::connect(url)
		.await
		.context("cannot connect to PostgreSQL")?;
	store
		.migrate()
		.await
		.context("cannot migrate the database")?;
	Ok(Arc::new(store))
}

/// Where a command keeps its state, for messages (never prints a password).
pub(crate) fn describe(args: &StoreArgs) -> String {
	match &args.database_url {
		Some(url) => match url.split_once('@') {
			Some((_, host)) => format!("postgres://…@{host}"),
			None => url.clone(),
		},
		None => args.data_dir.display().to_string(),
	}
}

/// Starts an engine with the built-in components.
pub(crate) async fn start_engine(
	store: Arc<dyn Store>,
	config: EngineConfig,
) -> anyhow::Result<Engine> {
	Engine::start(store, Arc::new(super::registry::local()), config)
		.await
		.context("cannot start the engine")
}

/// Stores the file's workflow, or, when the CLI already stored one of that name, reuses it and
/// records a new version if the definition changed.
pub(crate) async fn upsert_workflow(engine: &Engine, new: NewWorkflow) -> anyhow::Result<Workflow> {
	let store = engine.store();
	let existing = store
		.list_workflows(&WorkflowFilter {
			search: Some(new.name.clone()),
			..Default::default()
		})
		.await?
		.into_iter()
		.find(|w| w.name == new.name && w.created_by == CLI_OWNER);
	let Some(mut workflow) = existing else {
		return match workflows::create(&**store, engine.registry(), new, CLI_OWNER).await {
			Ok((w, _)) => Ok(w),
			Err(EngineError::Invalid(issues)) => {
				for i in &issues {
					eprintln!("  {i}");
				}
				bail!("the workflow is invalid ({} problems)", issues.len())
			}
			Err(e) => Err(e.into()),
		};
	};
	let (definition, report) = apg_core::validate(&new.definition, engine.registry());
	if !report.is_valid {
		bail!(
			"the workflow is invalid: {}",
			report
				.errors
				.iter()
				.map(ToString::to_string)
				.collect::<Vec<_>>()
				.join("; ")
		);
	}
	if definition != workflow.definition {
		workflow.definition = definition;
		workflow.version += 1;
		workflow.updated_at = now_millis();
		store.update_workflow(&workflow).await?;
	}
	Ok(workflow)
}

/// Parses `--param k=v` pairs. Values are JSON when they parse as JSON and the workflow declares
/// no parameters; declared parameters receive the text and convert it to their declared type.
pub(crate) fn parse_params(pairs: &[String], declared: bool) -> anyhow::Result<Map<String, Value>> {
	let mut out = Map::new();
	for pair in pairs {
		let Some((k, v)) = pair.split_once('=') else {
			bail!("--param expects key=value, got '{pair}'");
		};
		let value = if declared {
			Value::String(v.to_owned())
		} else {
			serde_json::from_str(v).unwrap_or_else(|_| Value::String(v.to_owned()))
		};
		out.insert(k.trim().to_owned(), value);
	}
	Ok(out)
}
