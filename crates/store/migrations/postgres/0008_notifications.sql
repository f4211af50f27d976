-- In-app notifications (apg_notification, GET /api/v1/notifications): one user's each. Ids are
-- UUIDv7, so newest first is the primary key's order within a user.
CREATE TABLE wo_notifications (
	id UUID PRIMARY KEY,
	user_id UUID NOT NULL,
	level TEXT NOT NULL,
	title TEXT NOT NULL,
	message TEXT NOT NULL,
	data JSONB NOT NULL,
	execution_id UUID,
	created_at BIGINT NOT NULL,
	read_at BIGINT
);
CREATE INDEX wo_notifications_user ON wo_notifications (user_id, id);
