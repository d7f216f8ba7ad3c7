-- Card authorizations at payment time and the ledger of what settled.
-- SQLite's schema.

-- The amount a card authorization reserves on an authorized intent,
-- counted in its agent's usage until the authorization is captured or
-- reversed.
ALTER TABLE intents ADD COLUMN reserved_minor BIGINT;
-- An agent's approved intents, which an authorization looks among.
CREATE INDEX intents_by_agent_status ON intents (agent_id, status);

CREATE TABLE authorizations (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    card_id TEXT NOT NULL REFERENCES cards (id),
    agent_id TEXT NOT NULL REFERENCES agents (id),
    intent_id TEXT REFERENCES intents (id),
    amount_minor BIGINT NOT NULL,
    currency TEXT NOT NULL,
    merchant TEXT NOT NULL,
    external_id TEXT,
    approved BIGINT NOT NULL,
    code TEXT NOT NULL,
    reason TEXT NOT NULL,
    status TEXT NOT NULL,
    captured_minor BIGINT,
    created_ms BIGINT NOT NULL,
    updated_ms BIGINT NOT NULL
);
CREATE INDEX authorizations_by_tenant ON authorizations (tenant_id, id);
CREATE INDEX authorizations_by_intent ON authorizations (intent_id);
-- A provider's authorization is recorded once.
CREATE UNIQUE INDEX authorizations_by_external_id ON authorizations (tenant_id, external_id)
    WHERE external_id IS NOT NULL;

-- The ledger: captures and refunds, appended, never changed.
CREATE TABLE transactions (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    kind TEXT NOT NULL,
    authorization_id TEXT NOT NULL REFERENCES authorizations (id),
    refund_of TEXT REFERENCES transactions (id),
    card_id TEXT NOT NULL,
    agent_id TEXT NOT NULL,
    intent_id TEXT,
    amount_minor BIGINT NOT NULL,
    currency TEXT NOT NULL,
    merchant TEXT NOT NULL,
    external_id TEXT,
    created_ms BIGINT NOT NULL
);
CREATE INDEX transactions_by_tenant ON transactions (tenant_id, id);
CREATE INDEX transactions_by_refunded ON transactions (refund_of);
CREATE UNIQUE INDEX transactions_by_external_id ON transactions (tenant_id, external_id)
    WHERE external_id IS NOT NULL;
