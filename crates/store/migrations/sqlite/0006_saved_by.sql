-- Who saved each version: a version runs with its owner's secrets only when the owner saved it
-- (apg_core::secrets_allowed). Versions saved before this column existed were saved by owners,
-- since sharees could not save changes that reach secrets then.
ALTER TABLE wo_workflows ADD COLUMN saved_by TEXT NOT NULL DEFAULT '';
ALTER TABLE wo_workflow_versions ADD COLUMN saved_by TEXT NOT NULL DEFAULT '';
UPDATE wo_workflows SET saved_by = created_by;
UPDATE wo_workflow_versions SET saved_by =
	(SELECT created_by FROM wo_workflows w WHERE w.id = wo_workflow_versions.workflow_id);
