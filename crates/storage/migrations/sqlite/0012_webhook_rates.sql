-- Webhook rate limits: a token bucket per webhook (SPEC §3). The plan sets
-- the ceiling; a webhook may set its own rate and burst within it (NULL:
-- the server's default, 10 per second with a burst of 50).
-- Identical on both backends.

ALTER TABLE plans ADD COLUMN webhook_rate_ceiling BIGINT NOT NULL DEFAULT 50;
ALTER TABLE plans ADD COLUMN webhook_burst_ceiling BIGINT NOT NULL DEFAULT 200;
ALTER TABLE webhooks ADD COLUMN rate_per_second BIGINT;
ALTER TABLE webhooks ADD COLUMN rate_burst BIGINT;
