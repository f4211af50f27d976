-- The PostgreSQL schema: the seed's tables and indexes (JSONB definitions, a GIN index on tags).
-- Engine times are BIGINT Unix milliseconds, as in SQLite, so durable deadlines compare as
-- integers on every backend.

CREATE TABLE wo_workflows (
	id UUID PRIMARY KEY,
	name VARCHAR(255) NOT NULL,
	description TEXT,
	definition JSONB NOT NULL,
	status VARCHAR(50) NOT NULL DEFAULT 'draft',
	category VARCHAR(100),
	tags TEXT[] NOT NULL DEFAULT '{}',
	priority INTEGER NOT NULL DEFAULT 5,
	version INTEGER NOT NULL DEFAULT 1,
	created_by TEXT NOT NULL,
	created_at BIGINT NOT NULL,
	updated_at BIGINT NOT NULL,
	CONSTRAINT wo_workflows_name_key UNIQUE (name, created_by)
);
CREATE INDEX idx_wo_workflows_status ON wo_workflows(status);
CREATE INDEX idx_wo_workflows_category ON wo_workflows(category);
CREATE INDEX idx_wo_workflows_created_by ON wo_workflows(created_by);
CREATE INDEX idx_wo_workflows_tags ON wo_workflows USING GIN(tags);
CREATE INDEX idx_wo_workflows_updated_at ON wo_workflows(updated_at);

CREATE TABLE wo_workflow_versions (
	workflow_id UUID NOT NULL REFERENCES wo_workflows(id) ON DELETE CASCADE,
	version INTEGER NOT NULL,
	definition JSONB NOT NULL,
	created_at BIGINT NOT NULL,
	PRIMARY KEY (workflow_id, version)
);

CREATE TABLE wo_executions (
	id UUID PRIMARY KEY,
	workflow_id UUID NOT NULL REFERENCES wo_workflows(id) ON DELETE CASCADE,
	workflow_version INTEGER NOT NULL,
	status VARCHAR(50) NOT NULL DEFAULT 'pending',
	priority INTEGER NOT NULL DEFAULT 5,
	parameters JSONB NOT NULL DEFAULT '{}',
	vars JSONB NOT NULL DEFAULT '{}',
	results JSONB,
	error_message TEXT,
	breakpoints JSONB NOT NULL DEFAULT '[]',
	idempotency_key TEXT,
	created_at BIGINT NOT NULL,
	started_at BIGINT,
	completed_at BIGINT
);
CREATE INDEX idx_wo_executions_workflow ON wo_executions(workflow_id, created_at);
CREATE INDEX idx_wo_executions_status ON wo_executions(status);
CREATE INDEX idx_wo_executions_unfinished ON wo_executions(id)
	WHERE status NOT IN ('completed', 'failed', 'cancelled');
CREATE INDEX idx_wo_executions_idempotency ON wo_executions(workflow_id, idempotency_key)
	WHERE idempotency_key IS NOT NULL;

CREATE TABLE wo_component_executions (
	execution_id UUID NOT NULL REFERENCES wo_executions(id) ON DELETE CASCADE,
	component_id VARCHAR(255) NOT NULL,
	component_type VARCHAR(100) NOT NULL,
	status VARCHAR(50) NOT NULL,
	attempt INTEGER NOT NULL DEFAULT 0,
	input_data JSONB,
	output_data JSONB,
	branch TEXT,
	error_message TEXT,
	run_at BIGINT,
	started_at BIGINT,
	completed_at BIGINT,
	duration_ms BIGINT,
	-- First-write order (an upsert keeps it).
	seq BIGSERIAL NOT NULL,
	PRIMARY KEY (execution_id, component_id)
);

CREATE TABLE wo_component_attempts (
	execution_id UUID NOT NULL REFERENCES wo_executions(id) ON DELETE CASCADE,
	component_id VARCHAR(255) NOT NULL,
	attempt INTEGER NOT NULL,
	status VARCHAR(50) NOT NULL,
	error_message TEXT,
	started_at BIGINT NOT NULL,
	finished_at BIGINT,
	seq BIGSERIAL NOT NULL,
	PRIMARY KEY (execution_id, component_id, attempt)
);

CREATE TABLE wo_execution_events (
	seq BIGSERIAL PRIMARY KEY,
	execution_id UUID NOT NULL REFERENCES wo_executions(id) ON DELETE CASCADE,
	at BIGINT NOT NULL,
	data JSONB NOT NULL
);
CREATE INDEX idx_wo_execution_events_execution ON wo_execution_events(execution_id, seq);

CREATE TABLE wo_execution_logs (
	id BIGSERIAL PRIMARY KEY,
	execution_id UUID NOT NULL REFERENCES wo_executions(id) ON DELETE CASCADE,
	at BIGINT NOT NULL,
	level VARCHAR(20) NOT NULL,
	component_id VARCHAR(255),
	message TEXT NOT NULL
);
CREATE INDEX idx_wo_execution_logs_execution ON wo_execution_logs(execution_id, id);
