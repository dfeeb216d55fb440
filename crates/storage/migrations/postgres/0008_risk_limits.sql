-- Per-strategy risk limits: largest single order, orders per UTC day.
ALTER TABLE strategies ADD COLUMN max_order_quantity TEXT;
ALTER TABLE strategies ADD COLUMN daily_order_cap BIGINT;
