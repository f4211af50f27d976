//! `apg-workflow validate FILE`: prints every problem with its path and the security warnings;
//! exit code 1 when the workflow is invalid.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use serde_json::json;

use super::load;

#[derive(Args, Debug)]
pub(crate) struct ValidateArgs {
	/// The workflow file (JSON).
	file: PathBuf,
	/// Print the report as JSON.
	#[arg(long)]
	json: bool,
}

pub(crate) fn validate(args: ValidateArgs) -> anyhow::Result<ExitCode> {
	let value = load::read_json(&args.file)?;
	let registry = super::registry::local();
	let (mut errors, definition) = match load::as_new_workflow(&args.file, value) {
		Ok(new) => (Vec::new(), new.definition),
		Err(issues) => (issues, serde_json::Value::Null),
	};
	let mut warnings = Vec::new();
	if !definition.is_null() {
		let (_, report) = apg_core::validate(&definition, &registry);
		errors.extend(report.errors);
		warnings = report.warnings;
	}
	if args.json {
		let report = json!({"is_valid": errors.is_empty(), "errors": errors, "warnings": warnings});
		println!("{}", serde_json::to_string_pretty(&report)?);
	} else {
		for e in &errors {
			println!("error: {e}");
		}
		for w in &warnings {
			println!("warning: {w}");
		}
		if errors.is_empty() {
			println!(
				"{} is valid ({} warnings)",
				args.file.display(),
				warnings.len()
			);
		} else {
			println!(
				"{} is invalid: {} errors",
				args.file.display(),
				errors.len()
			);
		}
	}
	Ok(if errors.is_empty() {
		ExitCode::SUCCESS
	} else {
		ExitCode::from(1)
	})
}
