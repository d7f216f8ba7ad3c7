-- Tenants, plugins, policies, agents, tokens, intents and idempotency.
-- SQLite's schema. The statements the store runs are portable; PostgreSQL
-- gets its own migrations with the same tables and columns (BYTEA where
-- this file says BLOB). Times are Unix milliseconds.

CREATE TABLE settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE tenants (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    api_key_sha256 TEXT NOT NULL UNIQUE,
    created_ms BIGINT NOT NULL
);

CREATE TABLE plugins (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    name TEXT NOT NULL,
    version TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    world TEXT NOT NULL,
    size BIGINT NOT NULL,
    wasm BLOB NOT NULL,
    created_ms BIGINT NOT NULL,
    UNIQUE (tenant_id, name, version)
);

CREATE TABLE policies (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    current_version BIGINT NOT NULL,
    created_ms BIGINT NOT NULL
);
CREATE INDEX policies_by_tenant ON policies (tenant_id, id);

CREATE TABLE policy_versions (
    policy_id TEXT NOT NULL REFERENCES policies (id),
    version BIGINT NOT NULL,
    name TEXT NOT NULL,
    body TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    PRIMARY KEY (policy_id, version)
);

-- Which plugins each policy version uses, so that a plugin in use cannot
-- be deleted.
CREATE TABLE policy_version_plugins (
    policy_id TEXT NOT NULL,
    version BIGINT NOT NULL,
    plugin_id TEXT NOT NULL,
    PRIMARY KEY (policy_id, version, plugin_id)
);
CREATE INDEX policy_version_plugins_by_plugin ON policy_version_plugins (plugin_id);

CREATE TABLE agents (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    name TEXT NOT NULL,
    policy_id TEXT NOT NULL REFERENCES policies (id),
    status TEXT NOT NULL,
    agent_type TEXT NOT NULL,
    profile TEXT NOT NULL,
    tags TEXT NOT NULL,
    metadata TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    updated_ms BIGINT NOT NULL
);
CREATE INDEX agents_by_tenant ON agents (tenant_id, id);

CREATE TABLE agent_tokens (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    agent_id TEXT NOT NULL REFERENCES agents (id),
    token_sha256 TEXT NOT NULL UNIQUE,
    permissions TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    revoked_ms BIGINT
);
CREATE INDEX agent_tokens_by_agent ON agent_tokens (agent_id, id);

CREATE TABLE intents (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    agent_id TEXT NOT NULL REFERENCES agents (id),
    status TEXT NOT NULL,
    intent TEXT NOT NULL,
    decision TEXT NOT NULL,
    policy_id TEXT NOT NULL,
    policy_version BIGINT NOT NULL,
    currency TEXT NOT NULL,
    amount_minor BIGINT,
    actual_minor BIGINT,
    merchant_key TEXT,
    client_intent_id TEXT,
    status_reason TEXT,
    settlement TEXT,
    created_ms BIGINT NOT NULL,
    updated_ms BIGINT NOT NULL,
    expires_ms BIGINT NOT NULL,
    UNIQUE (agent_id, client_intent_id)
);
CREATE INDEX intents_by_tenant ON intents (tenant_id, id);
-- Covers the usage query: an agent's recent intents are summed from the
-- index alone, without reading their (large) decision text.
CREATE INDEX intents_by_agent ON intents
    (agent_id, created_ms, status, currency, merchant_key, amount_minor, actual_minor);
CREATE INDEX intents_by_expiry ON intents (status, expires_ms);

CREATE TABLE intent_events (
    id TEXT PRIMARY KEY,
    intent_id TEXT NOT NULL REFERENCES intents (id),
    from_status TEXT,
    to_status TEXT NOT NULL,
    actor TEXT NOT NULL,
    reason TEXT,
    at_ms BIGINT NOT NULL
);
CREATE INDEX intent_events_by_intent ON intent_events (intent_id, at_ms);

CREATE TABLE idempotency (
    scope TEXT NOT NULL,
    key TEXT NOT NULL,
    request_sha256 TEXT NOT NULL,
    status BIGINT NOT NULL,
    body TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    PRIMARY KEY (scope, key)
);
CREATE INDEX idempotency_by_age ON idempotency (created_ms);
