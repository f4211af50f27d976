-- Account hardening (issue 9).
--
-- 1. Usernames are unique ignoring ASCII case, so `ADMIN` cannot sit beside `admin`. Usernames
--    are ASCII (apg_auth::check_username), and SQLite's lower() folds ASCII, so the index below
--    is exactly "unique ignoring case". Logins look users up through it too. Case duplicates
--    made before this migration would stop the index from being created: the oldest account
--    keeps its name, every later one gets `-` and the last 12 (random) characters of its id
--    appended, and otherwise stays as it was (an admin can rename or delete it).
UPDATE users SET username = username || '-' || substr(id, -12)
	WHERE EXISTS (
		SELECT 1 FROM users o
		WHERE lower(o.username) = lower(users.username)
			AND (o.created_at < users.created_at
				OR (o.created_at = users.created_at AND o.id < users.id))
	);
CREATE UNIQUE INDEX users_username_lower_key ON users (lower(username));

-- 2. API keys carry scopes (a JSON array of apg_core::account::KeyScope). Existing keys get
--    "api" (everything but minting keys); admins' keys also "metrics", since /metrics used to be
--    readable with any key and is now for metrics.read, which only admins hold.
ALTER TABLE api_keys ADD COLUMN scopes TEXT NOT NULL DEFAULT '["api"]';
UPDATE api_keys SET scopes = '["api","metrics"]'
	WHERE user_id IN (SELECT id FROM users WHERE role = 'admin');

-- 3. Refresh-token families: one row per login, naming the one refresh token still good. A
--    refresh replaces it; presenting an older one revokes the row (and so the whole login).
CREATE TABLE refresh_families (
	id TEXT PRIMARY KEY NOT NULL,
	user_id TEXT NOT NULL,
	current_token TEXT NOT NULL,
	created_at INTEGER NOT NULL,
	expires_at INTEGER NOT NULL,
	revoked_at INTEGER
);
CREATE INDEX idx_refresh_families_user ON refresh_families(user_id);
CREATE INDEX idx_refresh_families_expires ON refresh_families(expires_at);
