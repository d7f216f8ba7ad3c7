-- Cards an agent pays with, secrets sealed under the key-encryption key,
-- and history entries that are not moves (a secret revealed). PostgreSQL's schema.
CREATE TABLE cards (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    agent_id TEXT NOT NULL REFERENCES agents (id),
    name TEXT NOT NULL,
    currency TEXT NOT NULL,
    last4 TEXT,
    provider TEXT NOT NULL,
    external_id TEXT,
    status TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    updated_ms BIGINT NOT NULL
);
CREATE INDEX cards_by_tenant ON cards (tenant_id, id);
CREATE INDEX cards_by_agent ON cards (agent_id, id);
-- A name names one card of its agent that is not closed.
CREATE UNIQUE INDEX cards_by_name ON cards (agent_id, name) WHERE status <> 'closed';
-- A provider's card is one card of the tenant that is not closed.
CREATE UNIQUE INDEX cards_by_external_id ON cards (tenant_id, provider, external_id)
    WHERE external_id IS NOT NULL AND status <> 'closed';

-- What a history entry records when it is not a move: `secret_revealed`.
ALTER TABLE intent_events ADD COLUMN kind TEXT;

-- Secret values, each sealed (AES-256-GCM) under the key-encryption key
-- and bound to its tenant, owner and key. `owner` is the agent's id, or ''
-- for the tenant's own.
CREATE TABLE secrets (
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    owner TEXT NOT NULL,
    key TEXT NOT NULL,
    sealed TEXT NOT NULL,
    allowed_hosts TEXT NOT NULL,
    set_ms BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, owner, key)
);
