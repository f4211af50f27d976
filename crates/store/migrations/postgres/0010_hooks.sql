-- Webhook triggers (issue 13): the token's SHA-256 (never the token), and the settings as JSON.
CREATE TABLE wo_hooks (
	id UUID PRIMARY KEY,
	workflow_id UUID NOT NULL REFERENCES wo_workflows(id) ON DELETE CASCADE,
	token_hash TEXT NOT NULL UNIQUE,
	settings JSONB NOT NULL,
	created_by UUID NOT NULL,
	created_at BIGINT NOT NULL,
	updated_at BIGINT NOT NULL
);
CREATE INDEX idx_wo_hooks_workflow ON wo_hooks (workflow_id, created_at);
