-- Accounts and governance (apg_core::AuthStore): users, their API keys, workflow shares, named
-- credentials and the audit log. As in 0001: ids are UUID, JSON is JSONB, times are BIGINT Unix
-- milliseconds. Text columns are TEXT (no length limit) so every backend accepts the same values:
-- lengths are the API's to check.
--
-- Shares go with their workflow through ON DELETE CASCADE. Rows of a user are deleted with the
-- user by AuthStore::delete_user in one transaction; they carry no foreign key to users, so the
-- memory store and this one agree on what may be written.

CREATE TABLE users (
	id UUID PRIMARY KEY,
	username TEXT NOT NULL,
	password_hash TEXT NOT NULL,
	role TEXT NOT NULL,
	active BOOLEAN NOT NULL DEFAULT TRUE,
	created_at BIGINT NOT NULL,
	updated_at BIGINT NOT NULL,
	CONSTRAINT users_username_key UNIQUE (username)
);

CREATE TABLE api_keys (
	id UUID PRIMARY KEY,
	user_id UUID NOT NULL,
	name TEXT NOT NULL,
	prefix TEXT NOT NULL,
	hash TEXT NOT NULL,
	created_at BIGINT NOT NULL,
	expires_at BIGINT,
	revoked_at BIGINT,
	CONSTRAINT api_keys_hash_key UNIQUE (hash)
);
CREATE INDEX idx_api_keys_user ON api_keys(user_id);

CREATE TABLE workflow_shares (
	workflow_id UUID NOT NULL REFERENCES wo_workflows(id) ON DELETE CASCADE,
	user_id UUID NOT NULL,
	actions JSONB NOT NULL DEFAULT '[]',
	created_at BIGINT NOT NULL,
	PRIMARY KEY (workflow_id, user_id)
);
CREATE INDEX idx_workflow_shares_user ON workflow_shares(user_id);

CREATE TABLE credentials (
	id UUID PRIMARY KEY,
	owner UUID NOT NULL,
	name TEXT NOT NULL,
	description TEXT,
	token TEXT NOT NULL,
	created_at BIGINT NOT NULL,
	updated_at BIGINT NOT NULL,
	CONSTRAINT credentials_owner_name_key UNIQUE (owner, name)
);

CREATE TABLE audit_log (
	id BIGSERIAL PRIMARY KEY,
	at BIGINT NOT NULL,
	actor_id UUID,
	actor TEXT NOT NULL,
	action TEXT NOT NULL,
	resource TEXT NOT NULL,
	outcome TEXT NOT NULL,
	details JSONB NOT NULL DEFAULT '{}'
);
CREATE INDEX idx_audit_log_at ON audit_log(at);
