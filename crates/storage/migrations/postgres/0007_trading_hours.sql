-- A strategy's optional trading-hours window (HH:MM-HH:MM, UTC).
ALTER TABLE strategies ADD COLUMN trading_hours TEXT;
