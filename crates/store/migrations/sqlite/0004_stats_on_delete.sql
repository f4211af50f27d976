-- Keep the statistics right when the retention policy deletes ended executions.
CREATE TRIGGER wo_executions_stats_delete AFTER DELETE ON wo_executions
BEGIN
	UPDATE wo_workflow_stats SET
		total_executions = total_executions - 1,
		successful_executions = successful_executions - (OLD.status = 'completed'),
		failed_executions = failed_executions - (OLD.status = 'failed'),
		duration_sum_ms = duration_sum_ms
			- CASE WHEN OLD.status IN ('completed', 'failed', 'cancelled')
				THEN coalesce(OLD.completed_at - OLD.started_at, 0) ELSE 0 END,
		duration_count = duration_count
			- (OLD.status IN ('completed', 'failed', 'cancelled')
				AND OLD.started_at IS NOT NULL AND OLD.completed_at IS NOT NULL)
	WHERE workflow_id = OLD.workflow_id;
	DELETE FROM wo_workflow_stats WHERE workflow_id = OLD.workflow_id AND total_executions <= 0;
END;
