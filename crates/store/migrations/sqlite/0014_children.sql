-- Child executions (apg_core::child): the parent's step a child belongs to, with the parent
-- indexed so its children are found at once.
ALTER TABLE wo_executions ADD COLUMN parent_id TEXT;
ALTER TABLE wo_executions ADD COLUMN parent TEXT;
CREATE INDEX idx_wo_executions_parent ON wo_executions(parent_id) WHERE parent_id IS NOT NULL;
