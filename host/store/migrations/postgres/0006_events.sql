-- The tenant's audit log: one row per event, written in the transaction
-- of the change it records, never updated or deleted. `seq` orders it;
-- `kind`, `message` and `intent_id` are set on the events of an agent
-- that `GET /agents/:id/events` shows (the agent events before this log
-- moved into it, keeping their ids). PostgreSQL's schema.
CREATE TABLE events (
    seq BIGSERIAL PRIMARY KEY,
    id TEXT COLLATE "C" NOT NULL UNIQUE,
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    type TEXT NOT NULL,
    actor TEXT NOT NULL,
    actor_name TEXT,
    object_type TEXT NOT NULL,
    object_id TEXT NOT NULL,
    agent_id TEXT,
    kind TEXT,
    message TEXT,
    intent_id TEXT,
    data TEXT NOT NULL,
    request_id TEXT,
    created_ms BIGINT NOT NULL
);
CREATE INDEX events_by_tenant ON events (tenant_id, seq);
CREATE INDEX events_by_object ON events (object_id, seq);
CREATE INDEX events_by_agent ON events (agent_id, seq);

INSERT INTO events (id, tenant_id, type, actor, actor_name, object_type, object_id, agent_id,
                    kind, message, intent_id, data, created_ms)
SELECT id, tenant_id,
       CASE kind
           WHEN 'frozen' THEN 'agent.frozen'
           WHEN 'unfrozen' THEN 'agent.unfrozen'
           WHEN 'suspended' THEN 'agent.suspended'
           WHEN 'emergency-suspend' THEN 'agent.suspended'
           WHEN 'archived' THEN 'agent.archived'
           WHEN 'activated' THEN 'agent.activated'
           WHEN 'rollback' THEN 'agent.rolled_back'
           WHEN 'token-issued' THEN 'token.created'
           WHEN 'token-revoked' THEN 'token.revoked'
           WHEN 'baseline-set' THEN 'agent.baseline_set'
           WHEN 'dry-run' THEN 'agent.dry_run'
           WHEN 'alert' THEN CASE WHEN actor = 'policy:budget' THEN 'budget.alert' ELSE 'alert' END
           ELSE 'agent.' || kind END,
       actor, actor_name, 'agent', agent_id, agent_id, kind, message, intent_id,
       '{"id":"' || agent_id || '"}', at_ms
FROM agent_events ORDER BY at_ms, id;
DROP TABLE agent_events;

-- Where a tenant's events are sent. `secret` signs deliveries; after a
-- rotation `previous_secret` signs beside it until `previous_until_ms`.
CREATE TABLE webhook_endpoints (
    id TEXT COLLATE "C" PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    url TEXT NOT NULL,
    events TEXT NOT NULL,
    description TEXT,
    secret TEXT NOT NULL,
    previous_secret TEXT,
    previous_until_ms BIGINT,
    disabled_ms BIGINT,
    disabled_reason TEXT,
    created_ms BIGINT NOT NULL,
    updated_ms BIGINT NOT NULL
);
CREATE INDEX webhook_endpoints_by_tenant ON webhook_endpoints (tenant_id, id);

-- The outbox: one row per (event, endpoint), written with the event. A
-- worker claims a due row until `claimed_until_ms`, so a server that dies
-- mid-delivery leaves it to be claimed again.
CREATE TABLE webhook_deliveries (
    id TEXT COLLATE "C" PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    endpoint_id TEXT NOT NULL REFERENCES webhook_endpoints (id),
    event_id TEXT NOT NULL,
    status TEXT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    next_attempt_ms BIGINT,
    claimed_until_ms BIGINT,
    created_ms BIGINT NOT NULL,
    updated_ms BIGINT NOT NULL
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_ms)
    WHERE status = 'pending';
CREATE INDEX webhook_deliveries_by_endpoint ON webhook_deliveries (endpoint_id, id);

-- Each attempt of a delivery, as `GET /webhook-endpoints/:id/deliveries`
-- shows it.
CREATE TABLE webhook_attempts (
    delivery_id TEXT NOT NULL REFERENCES webhook_deliveries (id),
    n BIGINT NOT NULL,
    at_ms BIGINT NOT NULL,
    duration_ms BIGINT NOT NULL,
    response_status BIGINT,
    error TEXT,
    PRIMARY KEY (delivery_id, n)
);
