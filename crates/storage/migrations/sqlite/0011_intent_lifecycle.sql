-- The intent lifecycle is a type (atomik_domain::lifecycle): the status and
-- side columns hold its spellings and nothing else. A CHECK constraint
-- needs a rebuilt table on SQLite, so both backends rebuild it the same way.
-- sent_at: when the order left for the broker (signal-to-order delay).
-- Keep in step with postgres/0011.

CREATE TABLE order_intents_v2 (
    id               TEXT PRIMARY KEY,
    signal_id        TEXT NOT NULL REFERENCES signals(id) ON DELETE CASCADE,
    strategy_id      TEXT NOT NULL,
    account_id       TEXT NOT NULL REFERENCES broker_accounts(id) ON DELETE CASCADE,
    user_id          TEXT NOT NULL,
    client_order_id  TEXT NOT NULL UNIQUE,
    status           TEXT NOT NULL CHECK (status IN ('pending', 'sending', 'ambiguous', 'accepted', 'rejected', 'skipped', 'failed')),
    instrument       TEXT,
    side             TEXT CHECK (side IN ('buy', 'sell')),
    quantity         TEXT,
    broker_order_id  TEXT,
    reason           TEXT,
    attempts         BIGINT NOT NULL DEFAULT 0,
    not_before       BIGINT NOT NULL DEFAULT 0,
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL,
    latency_us       BIGINT,
    leader_intent_id TEXT,
    multiplier       TEXT,
    sent_at          BIGINT
);
INSERT INTO order_intents_v2 (id, signal_id, strategy_id, account_id, user_id, client_order_id, status,
    instrument, side, quantity, broker_order_id, reason, attempts, not_before, created_at, updated_at,
    latency_us, leader_intent_id, multiplier)
SELECT id, signal_id, strategy_id, account_id, user_id, client_order_id, status,
    instrument, side, quantity, broker_order_id, reason, attempts, not_before, created_at, updated_at,
    latency_us, leader_intent_id, multiplier
FROM order_intents;
DROP TABLE order_intents;
ALTER TABLE order_intents_v2 RENAME TO order_intents;
CREATE INDEX order_intents_by_account ON order_intents(account_id, status, created_at);
CREATE INDEX order_intents_by_signal ON order_intents(signal_id);
CREATE INDEX order_intents_open ON order_intents(status, not_before);
CREATE INDEX order_intents_by_leader ON order_intents(leader_intent_id);

-- A strategy's maximum signal age: an intent not sent by then is skipped.
ALTER TABLE strategies ADD COLUMN max_signal_age_secs BIGINT;
