-- Agents' Ed25519 public keys (`kid` the RFC 7638 thumbprint), with which
-- an agent signs the requests that declare its intents. An agent has at
-- most one active key; retired keys stay published. SQLite's schema.
CREATE TABLE agent_keys (
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    agent_id TEXT NOT NULL REFERENCES agents (id),
    kid TEXT NOT NULL,
    public_key TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    retired_ms BIGINT,
    PRIMARY KEY (agent_id, kid)
);
CREATE UNIQUE INDEX agent_keys_active ON agent_keys (agent_id) WHERE retired_ms IS NULL;
