-- Broker accounts, their sealed credentials, OAuth flows in progress, the
-- vault key check, auth-call rate slots, and the strategies that link to
-- accounts (extended by the signals work). Keep in step with sqlite/0002.

CREATE TABLE broker_accounts (
    id                   TEXT PRIMARY KEY,
    user_id              TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    broker               TEXT NOT NULL,
    environment          TEXT NOT NULL,
    display_name         TEXT NOT NULL,
    broker_account_id    TEXT NOT NULL,
    broker_account_name  TEXT NOT NULL,
    status               TEXT NOT NULL,            -- connected | disconnected | error
    paused               INTEGER NOT NULL DEFAULT 0,
    status_reason        TEXT,
    last_error           TEXT,
    last_error_at        BIGINT,
    balance              TEXT,
    token_expires_at     BIGINT,
    next_refresh_at      BIGINT,
    last_refresh_at      BIGINT,
    last_refresh_result  TEXT,
    refresh_failures     BIGINT NOT NULL DEFAULT 0,
    lease_owner          TEXT,
    lease_until          BIGINT,
    created_at           BIGINT NOT NULL,
    connected_at         BIGINT NOT NULL,
    disconnected_at      BIGINT
);
CREATE INDEX broker_accounts_user ON broker_accounts(user_id);
CREATE INDEX broker_accounts_refresh ON broker_accounts(status, next_refresh_at);

-- One sealed credential per account (tokens or keys), bound by associated
-- data to (table, account id, user id).
CREATE TABLE broker_credentials (
    account_id  TEXT PRIMARY KEY REFERENCES broker_accounts(id) ON DELETE CASCADE,
    user_id     TEXT NOT NULL,
    kek_id      TEXT NOT NULL,
    sealed      BYTEA NOT NULL,
    updated_at  BIGINT NOT NULL
);

CREATE TABLE oauth_flows (
    state_hash     TEXT PRIMARY KEY,
    session_hash   TEXT NOT NULL,
    user_id        TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    broker         TEXT NOT NULL,
    environment    TEXT NOT NULL,
    kek_id         TEXT NOT NULL,
    sealed_verifier BYTEA NOT NULL,
    expires_at     BIGINT NOT NULL
);

CREATE TABLE vault_meta (
    id      TEXT PRIMARY KEY,
    kek_id  TEXT NOT NULL,
    sealed  BYTEA NOT NULL
);

-- Spacing of rate-limited broker calls across every instance: a call may go
-- out only when next_at <= now, and taking the slot moves next_at forward.
CREATE TABLE rate_slots (
    slot_key  TEXT PRIMARY KEY,
    next_at   BIGINT NOT NULL
);

CREATE TABLE strategies (
    id                 TEXT PRIMARY KEY,
    user_id            TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    broker_account_id  TEXT NOT NULL REFERENCES broker_accounts(id) ON DELETE CASCADE,
    name               TEXT NOT NULL,
    active             INTEGER NOT NULL DEFAULT 1,
    created_at         BIGINT NOT NULL
);
CREATE INDEX strategies_account ON strategies(broker_account_id);
