-- Copy-group followers are dispatched when their leader's order is final:
-- found by the leader's intent.
CREATE INDEX order_intents_by_leader ON order_intents(leader_intent_id);
