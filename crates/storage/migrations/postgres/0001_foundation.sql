-- Foundation schema (PostgreSQL). Times are Unix milliseconds (BIGINT); flags are
-- integers 0/1 (sqlx Any cannot decode SQLite BOOLEAN); ids are UUID text.
-- Keep this file and sqlite/0001_foundation.sql in step.

CREATE TABLE plans (
    id                     TEXT PRIMARY KEY,
    name                   TEXT NOT NULL,
    price_cents_per_month  BIGINT NOT NULL,
    broker_accounts        BIGINT,          -- NULL = unlimited
    active_webhooks        BIGINT,
    active_strategies      BIGINT,
    copy_groups            BIGINT,
    followers_per_group    BIGINT,
    trade_execution        INTEGER NOT NULL,
    trial_days             BIGINT NOT NULL DEFAULT 0
);

INSERT INTO plans VALUES
    ('free',      'Free',      0,     0,    0,    0,    0,    0,    0, 0),
    ('starter',   'Starter',   4900,  2,    3,    3,    1,    2,    1, 7),
    ('trader',    'Trader',    12900, 10,   10,   10,   3,    5,    1, 7),
    ('unlimited', 'Unlimited', 24900, NULL, NULL, NULL, NULL, NULL, 1, 7);

CREATE TABLE users (
    id                   TEXT PRIMARY KEY,
    email                TEXT NOT NULL UNIQUE,
    password_hash        TEXT NOT NULL,
    plan_id              TEXT NOT NULL REFERENCES plans(id),
    subscription_status  TEXT NOT NULL,
    trial_ends_at        BIGINT,
    is_admin             INTEGER NOT NULL DEFAULT 0,
    totp_secret          TEXT,
    totp_enabled         INTEGER NOT NULL DEFAULT 0,
    totp_last_step       BIGINT,
    created_at           BIGINT NOT NULL
);

-- One row per (user, limited resource): the slot counter that plan limits are
-- reserved against atomically (see storage::entitlements).
CREATE TABLE usage_counters (
    user_id   TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    resource  TEXT NOT NULL,
    used      BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (user_id, resource)
);

-- Sessions are keyed by the SHA-256 of the cookie value, so a copy of the
-- database does not yield live sessions.
CREATE TABLE sessions (
    id_hash       TEXT PRIMARY KEY,
    user_id       TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    csrf_token    TEXT NOT NULL,
    mfa_pending   INTEGER NOT NULL DEFAULT 0,
    created_at    BIGINT NOT NULL,
    expires_at    BIGINT NOT NULL
);
CREATE INDEX sessions_user ON sessions(user_id);

CREATE TABLE login_failures (
    throttle_key  TEXT PRIMARY KEY,
    failures      BIGINT NOT NULL,
    window_start  BIGINT NOT NULL
);

CREATE TABLE api_tokens (
    id            TEXT PRIMARY KEY,
    user_id       TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name          TEXT NOT NULL,
    token_hash    TEXT NOT NULL UNIQUE,
    token_prefix  TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    last_used_at  BIGINT
);
CREATE INDEX api_tokens_user ON api_tokens(user_id);

CREATE TABLE recovery_codes (
    user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    code_hash  TEXT NOT NULL,
    used_at    BIGINT,
    PRIMARY KEY (user_id, code_hash)
);
