-- Idempotency-Key of POST /workflows/{id}/execute: a repeated request returns the execution the
-- first one created. Not unique on purpose: the engine deduplicates, and a constraint violation
-- must never be able to wedge a checkpoint commit.
ALTER TABLE wo_executions ADD COLUMN idempotency_key TEXT;
CREATE INDEX idx_wo_executions_idempotency ON wo_executions(workflow_id, idempotency_key)
	WHERE idempotency_key IS NOT NULL;
