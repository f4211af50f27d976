-- Who started each execution: the APG connectors act with this user's permissions. Executions
-- started before this column existed have none, so their connector steps are refused.
ALTER TABLE wo_executions ADD COLUMN started_by TEXT;
