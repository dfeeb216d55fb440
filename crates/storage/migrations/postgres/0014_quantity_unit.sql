-- What a strategy's quantity counts: 'units' (contracts, shares, coins) or
-- 'collateral' (Polymarket: the pUSD a buy spends). An intent stores the
-- unit its order was sent in (NULL: units) so that a lookup after an
-- unknown outcome settles the position right. Identical on both backends.

ALTER TABLE strategies ADD COLUMN quantity_unit TEXT NOT NULL DEFAULT 'units';
ALTER TABLE order_intents ADD COLUMN quantity_unit TEXT;
