-- Accounts and governance (apg_core::AuthStore): users, their API keys, workflow shares, named
-- credentials and the audit log. As in 0001: ids are UUID text, JSON is text, times are Unix
-- milliseconds.
--
-- Shares go with their workflow through ON DELETE CASCADE (every connection of SqliteStore sets
-- foreign_keys=ON, as the cascades of 0001 already need). Rows of a user are deleted with the
-- user by AuthStore::delete_user in one transaction; they carry no foreign key to users, so the
-- memory store and this one agree on what may be written.

CREATE TABLE users (
	id TEXT PRIMARY KEY NOT NULL,
	username TEXT NOT NULL,
	password_hash TEXT NOT NULL,
	role TEXT NOT NULL,
	active INTEGER NOT NULL DEFAULT 1,
	created_at INTEGER NOT NULL,
	updated_at INTEGER NOT NULL,
	CONSTRAINT users_username_key UNIQUE (username)
);

CREATE TABLE api_keys (
	id TEXT PRIMARY KEY NOT NULL,
	user_id TEXT NOT NULL,
	name TEXT NOT NULL,
	prefix TEXT NOT NULL,
	hash TEXT NOT NULL,
	created_at INTEGER NOT NULL,
	expires_at INTEGER,
	revoked_at INTEGER,
	CONSTRAINT api_keys_hash_key UNIQUE (hash)
);
CREATE INDEX idx_api_keys_user ON api_keys(user_id);

CREATE TABLE workflow_shares (
	workflow_id TEXT NOT NULL REFERENCES wo_workflows(id) ON DELETE CASCADE,
	user_id TEXT NOT NULL,
	actions TEXT NOT NULL DEFAULT '[]',
	created_at INTEGER NOT NULL,
	PRIMARY KEY (workflow_id, user_id)
);
CREATE INDEX idx_workflow_shares_user ON workflow_shares(user_id);

CREATE TABLE credentials (
	id TEXT PRIMARY KEY NOT NULL,
	owner TEXT NOT NULL,
	name TEXT NOT NULL,
	description TEXT,
	token TEXT NOT NULL,
	created_at INTEGER NOT NULL,
	updated_at INTEGER NOT NULL,
	CONSTRAINT credentials_owner_name_key UNIQUE (owner, name)
);

CREATE TABLE audit_log (
	id INTEGER PRIMARY KEY AUTOINCREMENT,
	at INTEGER NOT NULL,
	actor_id TEXT,
	actor TEXT NOT NULL,
	action TEXT NOT NULL,
	resource TEXT NOT NULL,
	outcome TEXT NOT NULL,
	details TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX idx_audit_log_at ON audit_log(at);
