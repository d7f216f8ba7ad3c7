-- Who made each version of a policy: the acting key (`key:ak_…`) and its
-- name; none for versions made before keys had names. PostgreSQL's schema.
ALTER TABLE policy_versions ADD COLUMN actor TEXT;
ALTER TABLE policy_versions ADD COLUMN actor_name TEXT;
