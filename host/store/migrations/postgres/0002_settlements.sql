-- Settlements: an amount an agent reports never lowers its spend below
-- what it declared unless the tenant confirms it, and settlements that
-- were flagged and not confirmed are counted per usage window. PostgreSQL's
-- schema.

-- 1 when the settled amount was reported or confirmed by the tenant.
ALTER TABLE intents ADD COLUMN settled_confirmed BIGINT NOT NULL DEFAULT 0;
-- 1 while the intent's settlement is flagged and not confirmed; counted
-- in its buckets' flagged columns.
ALTER TABLE intents ADD COLUMN flagged BIGINT NOT NULL DEFAULT 0;
-- Settlements recorded before keep counting as they did.
UPDATE intents SET settled_confirmed = 1 WHERE actual_minor IS NOT NULL;

ALTER TABLE usage_buckets ADD COLUMN flagged_count BIGINT NOT NULL DEFAULT 0;
ALTER TABLE usage_buckets ADD COLUMN flagged_spend BIGINT NOT NULL DEFAULT 0;
