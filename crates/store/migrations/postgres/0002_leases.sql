-- Multi-node execution leases (see apg_core::cluster): the holding node, the fencing token of its
-- claim, when the lease expires, and a cancel request for the holder to act on.
ALTER TABLE wo_executions
	ADD COLUMN lease_owner TEXT,
	ADD COLUMN lease_token BIGINT NOT NULL DEFAULT 0,
	ADD COLUMN lease_until BIGINT,
	ADD COLUMN cancel_requested BOOLEAN NOT NULL DEFAULT FALSE;
CREATE INDEX idx_wo_executions_claimable ON wo_executions(lease_until)
	WHERE status NOT IN ('completed', 'failed', 'cancelled');
