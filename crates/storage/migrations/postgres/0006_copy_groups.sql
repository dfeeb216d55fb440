-- Copy-trading groups: a leader account and followers, each with its own
-- multiplier. Follower intents point at the leader's intent and wait for it.
-- Keep in step with sqlite/0006.

CREATE TABLE copy_groups (
    id                 TEXT PRIMARY KEY,
    user_id            TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name               TEXT NOT NULL,
    leader_account_id  TEXT NOT NULL REFERENCES broker_accounts(id) ON DELETE CASCADE,
    created_at         BIGINT NOT NULL
);
CREATE INDEX copy_groups_leader ON copy_groups(leader_account_id);

CREATE TABLE copy_group_members (
    group_id    TEXT NOT NULL REFERENCES copy_groups(id) ON DELETE CASCADE,
    account_id  TEXT NOT NULL REFERENCES broker_accounts(id) ON DELETE CASCADE,
    multiplier  TEXT NOT NULL,
    active      INTEGER NOT NULL DEFAULT 1,
    PRIMARY KEY (group_id, account_id)
);

ALTER TABLE order_intents ADD COLUMN leader_intent_id TEXT;
ALTER TABLE order_intents ADD COLUMN multiplier TEXT;
