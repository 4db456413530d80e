-- External identity providers (SQLite). Numbered as its PostgreSQL twin; forward-only.
-- An issuer whose signed JWTs tessera accepts as bearer tokens; its endpoints are what its
-- discovery document said when it was registered or last changed.

CREATE TABLE identity_providers (
    id                     INTEGER PRIMARY KEY AUTOINCREMENT,
    name                   TEXT NOT NULL UNIQUE,
    issuer                 TEXT NOT NULL UNIQUE,  -- exactly as tokens' iss carry it
    audiences              TEXT   NOT NULL,   -- JSON array of strings
    user_claim             TEXT   NOT NULL,   -- preferred_username, sub or email
    groups_claim           TEXT,
    group_mapping          TEXT   NOT NULL,   -- JSON object: provider group -> tessera group
    provisioning           TEXT   NOT NULL,   -- create, link or off
    default_scopes         TEXT   NOT NULL,
    enabled                BOOLEAN NOT NULL DEFAULT TRUE,
    jwks_uri               TEXT   NOT NULL,
    authorization_endpoint TEXT,
    token_endpoint         TEXT,
    introspection_endpoint TEXT,
    created_at             BIGINT NOT NULL,
    created_by             BIGINT
);
