-- PostgreSQL's schema: the tables and columns of SQLite's migrations 0001
-- and 0002, which the same statements read and write. BYTEA where SQLite
-- says BLOB; identifiers compare and sort bytewise ("C"), as in SQLite, so
-- that cursors page the same on both. Times are Unix milliseconds, bucket
-- starts Unix seconds.

CREATE TABLE settings (
    key TEXT COLLATE "C" PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE tenants (
    id TEXT COLLATE "C" PRIMARY KEY,
    name TEXT NOT NULL,
    api_key_sha256 TEXT NOT NULL UNIQUE,
    created_ms BIGINT NOT NULL,
    -- free, starter, business or enterprise.
    plan TEXT NOT NULL DEFAULT 'enterprise'
);

CREATE TABLE plugins (
    id TEXT COLLATE "C" PRIMARY KEY,
    tenant_id TEXT COLLATE "C" NOT NULL REFERENCES tenants (id),
    name TEXT COLLATE "C" NOT NULL,
    version TEXT COLLATE "C" NOT NULL,
    sha256 TEXT NOT NULL,
    world TEXT NOT NULL,
    size BIGINT NOT NULL,
    wasm BYTEA NOT NULL,
    created_ms BIGINT NOT NULL,
    UNIQUE (tenant_id, name, version)
);

CREATE TABLE policies (
    id TEXT COLLATE "C" PRIMARY KEY,
    tenant_id TEXT COLLATE "C" NOT NULL REFERENCES tenants (id),
    current_version BIGINT NOT NULL,
    created_ms BIGINT NOT NULL
);
CREATE INDEX policies_by_tenant ON policies (tenant_id, id);

CREATE TABLE policy_versions (
    policy_id TEXT COLLATE "C" NOT NULL REFERENCES policies (id),
    version BIGINT NOT NULL,
    name TEXT NOT NULL,
    body TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    PRIMARY KEY (policy_id, version)
);

-- Which plugins each policy version uses, so that a plugin in use cannot
-- be deleted.
CREATE TABLE policy_version_plugins (
    policy_id TEXT COLLATE "C" NOT NULL,
    version BIGINT NOT NULL,
    plugin_id TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (policy_id, version, plugin_id)
);
CREATE INDEX policy_version_plugins_by_plugin ON policy_version_plugins (plugin_id);

CREATE TABLE agents (
    id TEXT COLLATE "C" PRIMARY KEY,
    tenant_id TEXT COLLATE "C" NOT NULL REFERENCES tenants (id),
    name TEXT NOT NULL,
    policy_id TEXT COLLATE "C" NOT NULL REFERENCES policies (id),
    status TEXT NOT NULL,
    agent_type TEXT NOT NULL,
    profile TEXT NOT NULL,
    tags TEXT NOT NULL,
    metadata TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    updated_ms BIGINT NOT NULL,
    -- The agent's current version (every change makes one) and its
    -- baseline for anomaly detection (JSON, none until set).
    version BIGINT NOT NULL DEFAULT 1,
    baseline TEXT
);
CREATE INDEX agents_by_tenant ON agents (tenant_id, id);

CREATE TABLE agent_tokens (
    id TEXT COLLATE "C" PRIMARY KEY,
    tenant_id TEXT COLLATE "C" NOT NULL REFERENCES tenants (id),
    agent_id TEXT COLLATE "C" NOT NULL REFERENCES agents (id),
    token_sha256 TEXT NOT NULL UNIQUE,
    permissions TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    revoked_ms BIGINT
);
CREATE INDEX agent_tokens_by_agent ON agent_tokens (agent_id, id);

CREATE TABLE intents (
    id TEXT COLLATE "C" PRIMARY KEY,
    tenant_id TEXT COLLATE "C" NOT NULL REFERENCES tenants (id),
    agent_id TEXT COLLATE "C" NOT NULL REFERENCES agents (id),
    status TEXT COLLATE "C" NOT NULL,
    intent TEXT NOT NULL,
    decision TEXT NOT NULL,
    policy_id TEXT COLLATE "C" NOT NULL,
    policy_version BIGINT NOT NULL,
    currency TEXT COLLATE "C" NOT NULL,
    amount_minor BIGINT,
    actual_minor BIGINT,
    merchant_key TEXT COLLATE "C",
    client_intent_id TEXT COLLATE "C",
    status_reason TEXT,
    settlement TEXT,
    created_ms BIGINT NOT NULL,
    updated_ms BIGINT NOT NULL,
    expires_ms BIGINT NOT NULL,
    -- What the intent adds to its agent's spend now, and whether it
    -- authorizes a series of charges.
    spend_minor BIGINT NOT NULL DEFAULT 0,
    recurring BIGINT NOT NULL DEFAULT 0,
    UNIQUE (agent_id, client_intent_id)
);
CREATE INDEX intents_by_tenant ON intents (tenant_id, id);
CREATE INDEX intents_by_agent ON intents (agent_id, created_ms);
CREATE INDEX intents_by_expiry ON intents (status, expires_ms);

CREATE TABLE intent_events (
    id TEXT COLLATE "C" PRIMARY KEY,
    intent_id TEXT COLLATE "C" NOT NULL REFERENCES intents (id),
    from_status TEXT,
    to_status TEXT NOT NULL,
    actor TEXT NOT NULL,
    reason TEXT,
    at_ms BIGINT NOT NULL
);
CREATE INDEX intent_events_by_intent ON intent_events (intent_id, at_ms);

CREATE TABLE idempotency (
    scope TEXT COLLATE "C" NOT NULL,
    key TEXT COLLATE "C" NOT NULL,
    request_sha256 TEXT NOT NULL,
    status BIGINT NOT NULL,
    body TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    PRIMARY KEY (scope, key)
);
CREATE INDEX idempotency_by_age ON idempotency (created_ms);

-- Every version of every agent's configuration, as it was made.
CREATE TABLE agent_versions (
    agent_id TEXT COLLATE "C" NOT NULL REFERENCES agents (id),
    version BIGINT NOT NULL,
    name TEXT NOT NULL,
    policy_id TEXT COLLATE "C" NOT NULL,
    agent_type TEXT NOT NULL,
    profile TEXT NOT NULL,
    tags TEXT NOT NULL,
    metadata TEXT NOT NULL,
    actor TEXT NOT NULL,
    reason TEXT,
    created_ms BIGINT NOT NULL,
    PRIMARY KEY (agent_id, version)
);

-- What happened to an agent besides its intents: suspensions,
-- activations, alerts, baselines, rollbacks. Who did it and why.
CREATE TABLE agent_events (
    id TEXT COLLATE "C" PRIMARY KEY,
    tenant_id TEXT COLLATE "C" NOT NULL REFERENCES tenants (id),
    agent_id TEXT COLLATE "C" NOT NULL REFERENCES agents (id),
    kind TEXT NOT NULL,
    actor TEXT NOT NULL,
    message TEXT NOT NULL,
    intent_id TEXT,
    at_ms BIGINT NOT NULL
);
CREATE INDEX agent_events_by_agent ON agent_events (agent_id, at_ms);

-- Per-agent counters: intents declared and their spend, per bucket of
-- one second (level 0), minute (1), hour (2) or day (3, UTC), per
-- currency; `scope` is '' for all of the agent's intents or a lower-case
-- merchant for that merchant's.
CREATE TABLE usage_buckets (
    agent_id TEXT COLLATE "C" NOT NULL,
    scope TEXT COLLATE "C" NOT NULL,
    level BIGINT NOT NULL,
    start_s BIGINT NOT NULL,
    currency TEXT COLLATE "C" NOT NULL,
    count BIGINT NOT NULL,
    spend BIGINT NOT NULL,
    PRIMARY KEY (agent_id, scope, level, start_s, currency)
);

-- Charges reported against a recurring intent, each accepted or flagged
-- by the policy's charge rules.
CREATE TABLE charges (
    id TEXT COLLATE "C" PRIMARY KEY,
    tenant_id TEXT COLLATE "C" NOT NULL REFERENCES tenants (id),
    intent_id TEXT COLLATE "C" NOT NULL REFERENCES intents (id),
    amount_minor BIGINT NOT NULL,
    currency TEXT NOT NULL,
    merchant TEXT NOT NULL,
    at_ms BIGINT NOT NULL,
    status TEXT NOT NULL,
    decision TEXT NOT NULL,
    created_ms BIGINT NOT NULL
);
CREATE INDEX charges_by_intent ON charges (intent_id, at_ms);
