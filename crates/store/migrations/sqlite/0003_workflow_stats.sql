-- Execution statistics per workflow, kept by triggers in the same transaction as the execution
-- rows, so listing workflows with their statistics reads one row per workflow instead of
-- aggregating every execution (which took ~85 ms per request at 90,000 executions).

CREATE TABLE wo_workflow_stats (
	workflow_id TEXT PRIMARY KEY NOT NULL REFERENCES wo_workflows(id) ON DELETE CASCADE,
	total_executions INTEGER NOT NULL DEFAULT 0,
	successful_executions INTEGER NOT NULL DEFAULT 0,
	failed_executions INTEGER NOT NULL DEFAULT 0,
	duration_sum_ms INTEGER NOT NULL DEFAULT 0,
	duration_count INTEGER NOT NULL DEFAULT 0,
	last_execution_at INTEGER
);

INSERT INTO wo_workflow_stats (workflow_id, total_executions, successful_executions,
	failed_executions, duration_sum_ms, duration_count, last_execution_at)
SELECT workflow_id, count(*), sum(status = 'completed'), sum(status = 'failed'),
	coalesce(sum(CASE WHEN status IN ('completed', 'failed', 'cancelled')
		AND started_at IS NOT NULL AND completed_at IS NOT NULL
		THEN completed_at - started_at END), 0),
	sum(status IN ('completed', 'failed', 'cancelled')
		AND started_at IS NOT NULL AND completed_at IS NOT NULL),
	max(created_at)
FROM wo_executions GROUP BY workflow_id;

CREATE TRIGGER wo_executions_stats_insert AFTER INSERT ON wo_executions
BEGIN
	INSERT INTO wo_workflow_stats (workflow_id, total_executions, last_execution_at)
	VALUES (NEW.workflow_id, 1, NEW.created_at)
	ON CONFLICT (workflow_id) DO UPDATE SET
		total_executions = total_executions + 1,
		last_execution_at = max(coalesce(last_execution_at, 0), excluded.last_execution_at);
	UPDATE wo_workflow_stats SET
		successful_executions = successful_executions + (NEW.status = 'completed'),
		failed_executions = failed_executions + (NEW.status = 'failed'),
		duration_sum_ms = duration_sum_ms + coalesce(NEW.completed_at - NEW.started_at, 0),
		duration_count = duration_count + (NEW.started_at IS NOT NULL AND NEW.completed_at IS NOT NULL)
	WHERE workflow_id = NEW.workflow_id AND NEW.status IN ('completed', 'failed', 'cancelled');
END;

CREATE TRIGGER wo_executions_stats_update AFTER UPDATE OF status ON wo_executions
WHEN OLD.status IS NOT NEW.status
BEGIN
	UPDATE wo_workflow_stats SET
		successful_executions = successful_executions
			+ (NEW.status = 'completed') - (OLD.status = 'completed'),
		failed_executions = failed_executions + (NEW.status = 'failed') - (OLD.status = 'failed'),
		duration_sum_ms = duration_sum_ms
			+ CASE WHEN NEW.status IN ('completed', 'failed', 'cancelled')
				THEN coalesce(NEW.completed_at - NEW.started_at, 0) ELSE 0 END
			- CASE WHEN OLD.status IN ('completed', 'failed', 'cancelled')
				THEN coalesce(OLD.completed_at - OLD.started_at, 0) ELSE 0 END,
		duration_count = duration_count
			+ (NEW.status IN ('completed', 'failed', 'cancelled')
				AND NEW.started_at IS NOT NULL AND NEW.completed_at IS NOT NULL)
			- (OLD.status IN ('completed', 'failed', 'cancelled')
				AND OLD.started_at IS NOT NULL AND OLD.completed_at IS NOT NULL)
	WHERE workflow_id = NEW.workflow_id;
END;
