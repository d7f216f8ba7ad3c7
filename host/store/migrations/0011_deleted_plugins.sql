-- A plugin deleted while a policy version uses it is hidden, not removed:
-- it decides for those versions, its bytes stay for their decisions'
-- replays, and no new policy or version can name it. SQLite's schema.
ALTER TABLE plugins ADD COLUMN deleted_ms BIGINT;
