-- The embedded schema. Table names follow the seed (wo_workflows, wo_executions,
-- wo_component_executions); ids are UUID text, JSON is text, times are Unix milliseconds so
-- durable deadlines compare as integers.

CREATE TABLE wo_workflows (
	id TEXT PRIMARY KEY NOT NULL,
	name TEXT NOT NULL,
	description TEXT,
	definition TEXT NOT NULL,
	status TEXT NOT NULL DEFAULT 'draft',
	category TEXT,
	tags TEXT NOT NULL DEFAULT '[]',
	priority INTEGER NOT NULL DEFAULT 5,
	version INTEGER NOT NULL DEFAULT 1,
	created_by TEXT NOT NULL,
	created_at INTEGER NOT NULL,
	updated_at INTEGER NOT NULL,
	CONSTRAINT wo_workflows_name_key UNIQUE (name, created_by)
);
CREATE INDEX idx_wo_workflows_status ON wo_workflows(status);
CREATE INDEX idx_wo_workflows_category ON wo_workflows(category);
CREATE INDEX idx_wo_workflows_created_by ON wo_workflows(created_by);
CREATE INDEX idx_wo_workflows_updated_at ON wo_workflows(updated_at);

-- Immutable versions: every execution is pinned to one.
CREATE TABLE wo_workflow_versions (
	workflow_id TEXT NOT NULL REFERENCES wo_workflows(id) ON DELETE CASCADE,
	version INTEGER NOT NULL,
	definition TEXT NOT NULL,
	created_at INTEGER NOT NULL,
	PRIMARY KEY (workflow_id, version)
);

CREATE TABLE wo_executions (
	id TEXT PRIMARY KEY NOT NULL,
	workflow_id TEXT NOT NULL REFERENCES wo_workflows(id) ON DELETE CASCADE,
	workflow_version INTEGER NOT NULL,
	status TEXT NOT NULL DEFAULT 'pending',
	priority INTEGER NOT NULL DEFAULT 5,
	parameters TEXT NOT NULL DEFAULT '{}',
	vars TEXT NOT NULL DEFAULT '{}',
	results TEXT,
	error_message TEXT,
	breakpoints TEXT NOT NULL DEFAULT '[]',
	created_at INTEGER NOT NULL,
	started_at INTEGER,
	completed_at INTEGER
);
CREATE INDEX idx_wo_executions_workflow ON wo_executions(workflow_id, created_at);
CREATE INDEX idx_wo_executions_status ON wo_executions(status);

-- One row per component per execution: the checkpoint.
CREATE TABLE wo_component_executions (
	execution_id TEXT NOT NULL REFERENCES wo_executions(id) ON DELETE CASCADE,
	component_id TEXT NOT NULL,
	component_type TEXT NOT NULL,
	status TEXT NOT NULL,
	attempt INTEGER NOT NULL DEFAULT 0,
	input_data TEXT,
	output_data TEXT,
	branch TEXT,
	error_message TEXT,
	run_at INTEGER,
	started_at INTEGER,
	completed_at INTEGER,
	duration_ms INTEGER,
	PRIMARY KEY (execution_id, component_id)
);

CREATE TABLE wo_component_attempts (
	execution_id TEXT NOT NULL REFERENCES wo_executions(id) ON DELETE CASCADE,
	component_id TEXT NOT NULL,
	attempt INTEGER NOT NULL,
	status TEXT NOT NULL,
	error_message TEXT,
	started_at INTEGER NOT NULL,
	finished_at INTEGER,
	PRIMARY KEY (execution_id, component_id, attempt)
);

CREATE TABLE wo_execution_events (
	seq INTEGER PRIMARY KEY AUTOINCREMENT,
	execution_id TEXT NOT NULL REFERENCES wo_executions(id) ON DELETE CASCADE,
	at INTEGER NOT NULL,
	data TEXT NOT NULL
);
CREATE INDEX idx_wo_execution_events_execution ON wo_execution_events(execution_id, seq);

CREATE TABLE wo_execution_logs (
	id INTEGER PRIMARY KEY AUTOINCREMENT,
	execution_id TEXT NOT NULL REFERENCES wo_executions(id) ON DELETE CASCADE,
	at INTEGER NOT NULL,
	level TEXT NOT NULL,
	component_id TEXT,
	message TEXT NOT NULL
);
CREATE INDEX idx_wo_execution_logs_execution ON wo_execution_logs(execution_id, id);
