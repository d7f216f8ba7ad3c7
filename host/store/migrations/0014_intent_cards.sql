-- The card an intent is declared on, resolved among its agent's cards
-- when it is declared: its id and its name then. Both stay NULL on an
-- intent declared before cards were checked, whose card is the free text
-- kept in `intents.intent`. SQLite's schema.
ALTER TABLE intents ADD COLUMN card_id TEXT REFERENCES cards (id);
ALTER TABLE intents ADD COLUMN card_name TEXT;
