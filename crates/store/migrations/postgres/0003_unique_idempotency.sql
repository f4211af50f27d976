-- An Idempotency-Key may create one execution per workflow, even when the same request reaches
-- two nodes at once: the second insert fails and that node returns the first execution.
DROP INDEX IF EXISTS idx_wo_executions_idempotency;
CREATE UNIQUE INDEX idx_wo_executions_idempotency ON wo_executions(workflow_id, idempotency_key)
	WHERE idempotency_key IS NOT NULL;
