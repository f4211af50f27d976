-- Webhook triggers (issue 13): the token's SHA-256 (never the token), and the settings as JSON.
CREATE TABLE wo_hooks (
	id TEXT PRIMARY KEY,
	workflow_id TEXT NOT NULL REFERENCES wo_workflows(id) ON DELETE CASCADE,
	token_hash TEXT NOT NULL UNIQUE,
	settings TEXT NOT NULL,
	created_by TEXT NOT NULL,
	created_at INTEGER NOT NULL,
	updated_at INTEGER NOT NULL
);
CREATE INDEX wo_hooks_workflow ON wo_hooks (workflow_id, created_at);
