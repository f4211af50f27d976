-- Cron schedules (issue 13) and their fires: one row per schedule and fire time, so a fire is
-- handled once whichever node gets to it; a lease lets one node at a time handle a schedule.
CREATE TABLE wo_schedules (
	id TEXT PRIMARY KEY,
	workflow_id TEXT NOT NULL REFERENCES wo_workflows(id) ON DELETE CASCADE,
	name TEXT NOT NULL,
	cron TEXT NOT NULL,
	timezone TEXT NOT NULL,
	parameters TEXT NOT NULL,
	overlap TEXT NOT NULL,
	catch_up TEXT NOT NULL,
	paused INTEGER NOT NULL DEFAULT 0,
	created_by TEXT NOT NULL,
	created_at INTEGER NOT NULL,
	updated_at INTEGER NOT NULL,
	next_fire_at INTEGER,
	lease_owner TEXT,
	lease_until INTEGER
);
CREATE INDEX wo_schedules_workflow ON wo_schedules (workflow_id, created_at);
CREATE INDEX wo_schedules_due ON wo_schedules (next_fire_at) WHERE paused = 0;

CREATE TABLE wo_schedule_fires (
	schedule_id TEXT NOT NULL REFERENCES wo_schedules(id) ON DELETE CASCADE,
	fire_at INTEGER NOT NULL,
	status TEXT NOT NULL,
	execution_id TEXT,
	detail TEXT,
	recorded_at INTEGER NOT NULL,
	PRIMARY KEY (schedule_id, fire_at)
);
CREATE INDEX wo_schedule_fires_queued ON wo_schedule_fires (schedule_id) WHERE status = 'queued';
