-- Governance: tenant plans, agent versions and events, baselines, usage
-- counters, recurring charges. SQLite's schema; times are Unix
-- milliseconds, bucket starts Unix seconds.

-- free, starter, business or enterprise.
ALTER TABLE tenants ADD COLUMN plan TEXT NOT NULL DEFAULT 'enterprise';

-- The agent's current version (every change makes one) and its baseline
-- for anomaly detection (JSON, none until set).
ALTER TABLE agents ADD COLUMN version BIGINT NOT NULL DEFAULT 1;
ALTER TABLE agents ADD COLUMN baseline TEXT;

-- Every version of every agent's configuration, as it was made.
CREATE TABLE agent_versions (
    agent_id TEXT NOT NULL REFERENCES agents (id),
    version BIGINT NOT NULL,
    name TEXT NOT NULL,
    policy_id TEXT NOT NULL,
    agent_type TEXT NOT NULL,
    profile TEXT NOT NULL,
    tags TEXT NOT NULL,
    metadata TEXT NOT NULL,
    actor TEXT NOT NULL,
    reason TEXT,
    created_ms BIGINT NOT NULL,
    PRIMARY KEY (agent_id, version)
);
INSERT INTO agent_versions (agent_id, version, name, policy_id, agent_type, profile, tags,
                            metadata, actor, reason, created_ms)
    SELECT id, 1, name, policy_id, agent_type, profile, tags, metadata, 'tenant', NULL,
           updated_ms
    FROM agents;

-- What happened to an agent besides its intents: suspensions,
-- activations, alerts, baselines, rollbacks. Who did it and why.
CREATE TABLE agent_events (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    agent_id TEXT NOT NULL REFERENCES agents (id),
    kind TEXT NOT NULL,
    actor TEXT NOT NULL,
    message TEXT NOT NULL,
    intent_id TEXT,
    at_ms BIGINT NOT NULL
);
CREATE INDEX agent_events_by_agent ON agent_events (agent_id, at_ms);

-- What each intent adds to its agent's spend now (see the store's
-- documentation), so that a change of status moves the counters by the
-- difference; and whether it authorizes a series of charges.
ALTER TABLE intents ADD COLUMN spend_minor BIGINT NOT NULL DEFAULT 0;
ALTER TABLE intents ADD COLUMN recurring BIGINT NOT NULL DEFAULT 0;
UPDATE intents SET
    spend_minor = CASE
        WHEN status IN ('pending_approval', 'approved') THEN COALESCE(amount_minor, 0)
        WHEN status = 'completed' THEN COALESCE(actual_minor, amount_minor, 0)
        ELSE 0 END,
    recurring = CASE WHEN json_extract(intent, '$.recurring') IS NULL THEN 0 ELSE 1 END;

-- Per-agent counters: intents declared and their spend, per bucket of
-- one second (level 0), minute (1), hour (2) or day (3, UTC), per
-- currency; `scope` is '' for all of the agent's intents or a lower-case
-- merchant for that merchant's.
CREATE TABLE usage_buckets (
    agent_id TEXT NOT NULL,
    scope TEXT NOT NULL,
    level BIGINT NOT NULL,
    start_s BIGINT NOT NULL,
    currency TEXT NOT NULL,
    count BIGINT NOT NULL,
    spend BIGINT NOT NULL,
    PRIMARY KEY (agent_id, scope, level, start_s, currency)
) WITHOUT ROWID;
INSERT INTO usage_buckets (agent_id, scope, level, start_s, currency, count, spend)
    SELECT agent_id, scope, level, start_s, currency, COUNT(*), SUM(spend_minor)
    FROM (
        SELECT i.agent_id, s.scope, l.level,
               (i.created_ms / 1000 / l.size) * l.size AS start_s,
               i.currency, i.spend_minor
        FROM (SELECT id, '' AS scope FROM intents
              UNION ALL
              SELECT id, merchant_key FROM intents WHERE merchant_key IS NOT NULL) s
        JOIN intents i ON i.id = s.id
        CROSS JOIN (SELECT 0 AS level, 1 AS size UNION ALL SELECT 1, 60
                    UNION ALL SELECT 2, 3600 UNION ALL SELECT 3, 86400) l
    ) AS counted
    GROUP BY agent_id, scope, level, start_s, currency;

-- Charges reported against a recurring intent, each accepted or flagged
-- by the policy's charge rules.
CREATE TABLE charges (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    intent_id TEXT NOT NULL REFERENCES intents (id),
    amount_minor BIGINT NOT NULL,
    currency TEXT NOT NULL,
    merchant TEXT NOT NULL,
    at_ms BIGINT NOT NULL,
    status TEXT NOT NULL,
    decision TEXT NOT NULL,
    created_ms BIGINT NOT NULL
);
CREATE INDEX charges_by_intent ON charges (intent_id, at_ms);
