-- Settlement history: each completion and verification keeps the
-- settlement it recorded in the intent's history; the intent's own
-- `settlement` column is the latest. SQLite's schema.
ALTER TABLE intent_events ADD COLUMN settlement TEXT;
