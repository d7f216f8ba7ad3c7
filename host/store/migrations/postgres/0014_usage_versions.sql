-- How many times an agent's usage counters have moved: every statement
-- that moves them adds one, in the same transaction. A server keeps an
-- agent's usage it has read with the version it was read at, and uses it
-- again only while the agent's row still says that version. PostgreSQL's
-- schema.
ALTER TABLE agents ADD COLUMN usage_version BIGINT NOT NULL DEFAULT 0;
