-- Named API keys with roles, and who acted by name. PostgreSQL's schema.
--
-- A tenant has any number of keys; authentication reads this table only
-- (`tenants.api_key_sha256` keeps the hash of the key made with the
-- tenant, which is also its first row here). A rolled key's old hash
-- keeps working until `previous_until_ms`.
CREATE TABLE api_keys (
    id TEXT COLLATE "C" PRIMARY KEY,
    tenant_id TEXT COLLATE "C" NOT NULL REFERENCES tenants (id),
    name TEXT NOT NULL,
    -- admin, developer, approver or viewer.
    role TEXT NOT NULL,
    prefix TEXT NOT NULL,
    sha256 TEXT NOT NULL UNIQUE,
    previous_sha256 TEXT UNIQUE,
    previous_until_ms BIGINT,
    created_ms BIGINT NOT NULL,
    expires_ms BIGINT,
    last_used_ms BIGINT,
    revoked_ms BIGINT
);
CREATE INDEX api_keys_by_tenant ON api_keys (tenant_id, id);
-- A name is one live key's.
CREATE UNIQUE INDEX api_keys_live_names ON api_keys (tenant_id, name)
    WHERE revoked_ms IS NULL;

INSERT INTO api_keys (id, tenant_id, name, role, prefix, sha256, created_ms)
SELECT 'ak_' || substr(id, 4), id, 'admin', 'admin', 'sk_', api_key_sha256, created_ms
FROM tenants;

-- The acting key's name beside its id (`key:ak_…`).
ALTER TABLE intent_events ADD COLUMN actor_name TEXT;
ALTER TABLE agent_events ADD COLUMN actor_name TEXT;
ALTER TABLE agent_versions ADD COLUMN actor_name TEXT;
-- What an approver said.
ALTER TABLE intent_events ADD COLUMN note TEXT;
-- How many approvals from different keys an intent pending approval
-- needs (the policy's `approvalsRequired` when it was decided).
ALTER TABLE intents ADD COLUMN approvals_required BIGINT NOT NULL DEFAULT 1;
