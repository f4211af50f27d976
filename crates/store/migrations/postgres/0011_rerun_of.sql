-- A rerun names the execution it reruns (POST /api/v1/executions/{id}/rerun).
ALTER TABLE wo_executions ADD COLUMN rerun_of UUID;
