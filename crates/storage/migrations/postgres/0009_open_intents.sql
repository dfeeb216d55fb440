-- The executor looks for open intents on every wake-up: find them without
-- scanning every intent ever recorded.
CREATE INDEX order_intents_open ON order_intents(status, not_before);
