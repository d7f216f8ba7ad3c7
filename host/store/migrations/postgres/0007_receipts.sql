-- Signed receipts, chained per tenant, and the evaluation inputs that
-- decisions saw. PostgreSQL's schema.

-- A tenant's Ed25519 signing keys: the public half in the clear, the
-- secret half sealed under the server's key-encryption key (which is
-- never in the database). `kid` is the public key's RFC 7638 thumbprint.
CREATE TABLE signing_keys (
    kid TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    public_key TEXT NOT NULL,
    sealed_secret TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    retired_ms BIGINT
);
CREATE INDEX signing_keys_by_tenant ON signing_keys (tenant_id, created_ms);

-- The head of a tenant's chain: the key that signs its next receipt, the
-- sequence of its last receipt and that receipt's sha256. A write that
-- adds receipts locks it.
CREATE TABLE receipt_chains (
    tenant_id TEXT PRIMARY KEY REFERENCES tenants (id),
    kid TEXT NOT NULL REFERENCES signing_keys (kid),
    sequence BIGINT NOT NULL,
    last_sha256 TEXT
);

-- Every receipt, as its compact JWS, never updated or deleted.
CREATE TABLE receipts (
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    sequence BIGINT NOT NULL,
    intent_id TEXT NOT NULL,
    event_id TEXT NOT NULL,
    jws TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, sequence)
);
CREATE INDEX receipts_by_intent ON receipts (intent_id, sequence);

-- What a decision's plugins saw, by the sha256 of its text; the
-- configurations it names, each once, by the sha256 of theirs.
CREATE TABLE evaluation_inputs (
    sha256 TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    body TEXT NOT NULL,
    created_ms BIGINT NOT NULL
);
CREATE TABLE evaluation_configs (
    sha256 TEXT PRIMARY KEY,
    config TEXT NOT NULL
);

ALTER TABLE intents ADD COLUMN input_sha256 TEXT;
