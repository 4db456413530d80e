-- Personal access tokens, service accounts and the audit log (SQLite). Numbered as its
-- PostgreSQL twin; forward-only.

-- A service account is a user with an owning group; people have none.
ALTER TABLE users ADD COLUMN service_owner_group TEXT;

CREATE TABLE api_tokens (
    id                   INTEGER PRIMARY KEY AUTOINCREMENT,
    kind                 TEXT    NOT NULL,            -- personal | service
    user_id              BIGINT  NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name                 TEXT    NOT NULL,
    digest               BLOB    NOT NULL UNIQUE,     -- SHA-256 of the raw token, never the token
    previous_digest      BLOB    UNIQUE,              -- the secret before the last rotation
    previous_valid_until BIGINT,                      -- ... accepted until then (overlap window)
    scopes               TEXT    NOT NULL,            -- space-separated fine scope names
    project_ids          TEXT,                        -- space-separated ids; NULL: every project
    allowed_ips          TEXT,                        -- space-separated CIDRs; NULL: anywhere
    created_at           BIGINT  NOT NULL,
    created_by           BIGINT,                      -- the user who issued it
    expires_at           BIGINT,                      -- NULL: never (only if policy allows)
    revoked_at           BIGINT,
    revoked_reason       TEXT,
    last_used_at         BIGINT,
    last_used_ip         TEXT,
    use_count            BIGINT  NOT NULL DEFAULT 0
);
CREATE INDEX api_tokens_by_user ON api_tokens (user_id);

CREATE TABLE audit_events (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    at              BIGINT NOT NULL,
    actor_id        BIGINT,
    actor_name      TEXT,
    credential_kind TEXT,
    credential_id   TEXT,
    client_ip       TEXT,
    action          TEXT   NOT NULL,
    target          TEXT,
    outcome         TEXT   NOT NULL,
    reason          TEXT
);
CREATE INDEX audit_events_by_time ON audit_events (at);

-- Failed password attempts per subject (`user:<name>` or `ip:<address>`), shared by every
-- instance: past a threshold, password logins for the subject wait until `blocked_until`.
CREATE TABLE login_failures (
    subject         TEXT   PRIMARY KEY,
    failures        BIGINT NOT NULL,
    last_failure_at BIGINT NOT NULL,
    blocked_until   BIGINT
);
