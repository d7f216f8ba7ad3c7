-- The publishers whose Ed25519 keys a tenant trusts to sign its plugins
-- (`kid` the public key's RFC 7638 thumbprint), and which of them signed
-- each plugin. SQLite's schema.
CREATE TABLE publisher_keys (
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    kid TEXT NOT NULL,
    name TEXT NOT NULL,
    public_key TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, kid)
);

ALTER TABLE plugins ADD COLUMN signed_by TEXT;
