-- Cron schedules (issue 13) and their fires: one row per schedule and fire time, so a fire is
-- handled once whichever node gets to it; a lease lets one node at a time handle a schedule.
CREATE TABLE wo_schedules (
	id UUID PRIMARY KEY,
	workflow_id UUID NOT NULL REFERENCES wo_workflows(id) ON DELETE CASCADE,
	name TEXT NOT NULL,
	cron TEXT NOT NULL,
	timezone TEXT NOT NULL,
	parameters JSONB NOT NULL,
	overlap TEXT NOT NULL,
	catch_up TEXT NOT NULL,
	paused BOOLEAN NOT NULL DEFAULT FALSE,
	created_by UUID NOT NULL,
	created_at BIGINT NOT NULL,
	updated_at BIGINT NOT NULL,
	next_fire_at BIGINT,
	lease_owner TEXT,
	lease_until BIGINT
);
CREATE INDEX idx_wo_schedules_workflow ON wo_schedules (workflow_id, created_at);
CREATE INDEX idx_wo_schedules_due ON wo_schedules (next_fire_at) WHERE NOT paused;

CREATE TABLE wo_schedule_fires (
	schedule_id UUID NOT NULL REFERENCES wo_schedules(id) ON DELETE CASCADE,
	fire_at BIGINT NOT NULL,
	status TEXT NOT NULL,
	execution_id UUID,
	detail TEXT,
	recorded_at BIGINT NOT NULL,
	PRIMARY KEY (schedule_id, fire_at)
);
CREATE INDEX idx_wo_schedule_fires_queued ON wo_schedule_fires (schedule_id) WHERE status = 'queued';
