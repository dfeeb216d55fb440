-- Activated strategies (extending the table Disconnect already uses), order
-- intents (one per signal and target account, committed with the signal),
-- tracked positions and kill switches. Keep in step with sqlite/0005.

ALTER TABLE strategies ADD COLUMN webhook_id TEXT REFERENCES webhooks(id) ON DELETE CASCADE;
ALTER TABLE strategies ADD COLUMN instrument TEXT NOT NULL DEFAULT '';
ALTER TABLE strategies ADD COLUMN quantity TEXT NOT NULL DEFAULT '1';
ALTER TABLE strategies ADD COLUMN quantity_from_alert INTEGER NOT NULL DEFAULT 0;
ALTER TABLE strategies ADD COLUMN max_per_signal TEXT NOT NULL DEFAULT '50';
ALTER TABLE strategies ADD COLUMN max_position TEXT;
CREATE INDEX strategies_webhook ON strategies(webhook_id);

ALTER TABLE broker_accounts ADD COLUMN exec_lease_owner TEXT;
ALTER TABLE broker_accounts ADD COLUMN exec_lease_until BIGINT;

CREATE TABLE order_intents (
    id               TEXT PRIMARY KEY,
    signal_id        TEXT NOT NULL REFERENCES signals(id) ON DELETE CASCADE,
    strategy_id      TEXT NOT NULL,
    account_id       TEXT NOT NULL REFERENCES broker_accounts(id) ON DELETE CASCADE,
    user_id          TEXT NOT NULL,
    client_order_id  TEXT NOT NULL UNIQUE,
    status           TEXT NOT NULL,
    instrument       TEXT,
    side             TEXT,
    quantity         TEXT,
    broker_order_id  TEXT,
    reason           TEXT,
    attempts         BIGINT NOT NULL DEFAULT 0,
    not_before       BIGINT NOT NULL DEFAULT 0,
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL,
    latency_us       BIGINT
);
CREATE INDEX order_intents_by_account ON order_intents(account_id, status, created_at);
CREATE INDEX order_intents_by_signal ON order_intents(signal_id);

CREATE TABLE positions (
    account_id  TEXT NOT NULL REFERENCES broker_accounts(id) ON DELETE CASCADE,
    instrument  TEXT NOT NULL,
    quantity    TEXT NOT NULL,
    updated_at  BIGINT NOT NULL,
    PRIMARY KEY (account_id, instrument)
);

CREATE TABLE kill_switches (
    scope       TEXT PRIMARY KEY,
    engaged_at  BIGINT NOT NULL
);
