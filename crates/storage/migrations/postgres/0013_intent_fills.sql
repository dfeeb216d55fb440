-- What the broker reported filled when it took the order, where it did
-- (quantity and average price, decimal text): shown in the Logs tab.
-- Identical on both backends.

ALTER TABLE order_intents ADD COLUMN fill_quantity TEXT;
ALTER TABLE order_intents ADD COLUMN fill_price TEXT;
