-- Signals received by webhooks and every delivery attempt (the Logs tab).
-- Keep in step with sqlite/0004.

CREATE TABLE signals (
    id            TEXT PRIMARY KEY,
    webhook_id    TEXT NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,
    user_id       TEXT NOT NULL,
    payload_hash  TEXT NOT NULL,
    sender_id     TEXT,
    action        TEXT NOT NULL,
    comment       TEXT,
    quantity      TEXT,
    ticker        TEXT,
    price         TEXT,
    received_at   BIGINT NOT NULL
);
CREATE INDEX signals_by_payload ON signals(webhook_id, payload_hash, received_at);
CREATE INDEX signals_by_sender ON signals(webhook_id, sender_id, received_at);

CREATE TABLE webhook_deliveries (
    id             TEXT PRIMARY KEY,
    webhook_id     TEXT NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,
    received_at    BIGINT NOT NULL,
    source_ip      TEXT,
    status         BIGINT NOT NULL,
    payload        TEXT NOT NULL,
    reason         TEXT NOT NULL,
    signal_id      TEXT,
    duplicate      INTEGER NOT NULL DEFAULT 0,
    processing_us  BIGINT NOT NULL
);
CREATE INDEX webhook_deliveries_by_webhook ON webhook_deliveries(webhook_id, received_at);
