-- Waits on the outside world (apg_core::wait): what a step waits for, the signals sent to an
-- execution (kept until a step takes one) and the decisions on its approvals (one per user and
-- round).
ALTER TABLE wo_component_executions ADD COLUMN waiting JSONB;
CREATE INDEX idx_wo_component_executions_waiting ON wo_component_executions(component_type)
	WHERE waiting IS NOT NULL;

CREATE TABLE wo_signals (
	id UUID PRIMARY KEY,
	execution_id UUID NOT NULL REFERENCES wo_executions(id) ON DELETE CASCADE,
	name TEXT NOT NULL,
	key TEXT,
	payload JSONB NOT NULL,
	sent_by UUID,
	created_at BIGINT NOT NULL,
	taken_by TEXT
);
CREATE INDEX idx_wo_signals_pending ON wo_signals(execution_id, created_at) WHERE taken_by IS NULL;

CREATE TABLE wo_decisions (
	execution_id UUID NOT NULL REFERENCES wo_executions(id) ON DELETE CASCADE,
	component_id TEXT NOT NULL,
	round INT NOT NULL,
	user_id UUID NOT NULL,
	username TEXT NOT NULL,
	verdict TEXT NOT NULL,
	comment TEXT,
	form_values JSONB NOT NULL,
	decided_at BIGINT NOT NULL,
	PRIMARY KEY (execution_id, component_id, round, user_id)
);
