-- Webhooks: the URL token (an identifier), the secrets (only keyed hashes,
-- several live during a rotation's overlap), the IP allow-list.
-- Keep in step with sqlite/0003.

CREATE TABLE webhooks (
    id           TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    description  TEXT NOT NULL DEFAULT '',
    token        TEXT NOT NULL UNIQUE,
    active       INTEGER NOT NULL DEFAULT 1,
    allowed_ips  TEXT NOT NULL DEFAULT '',
    created_at   BIGINT NOT NULL
);
CREATE INDEX webhooks_user ON webhooks(user_id);

CREATE TABLE webhook_secrets (
    digest      TEXT PRIMARY KEY,
    webhook_id  TEXT NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT
);
CREATE INDEX webhook_secrets_webhook ON webhook_secrets(webhook_id);
