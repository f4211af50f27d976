-- In-app notifications (apg_notification, GET /api/v1/notifications): one user's each. Ids are
-- UUIDv7, so newest first is the primary key's order within a user.
CREATE TABLE wo_notifications (
	id TEXT PRIMARY KEY,
	user_id TEXT NOT NULL,
	level TEXT NOT NULL,
	title TEXT NOT NULL,
	message TEXT NOT NULL,
	data TEXT NOT NULL,
	execution_id TEXT,
	created_at INTEGER NOT NULL,
	read_at INTEGER
);
CREATE INDEX wo_notifications_user ON wo_notifications (user_id, id);
