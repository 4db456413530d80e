-- The OAuth 2.0 authorization server (SQLite). Numbered as its PostgreSQL twin; forward-only.
-- Codes, tokens and client secrets are kept only as SHA-256 digests.

CREATE TABLE oauth_clients (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    client_id       TEXT    NOT NULL UNIQUE,   -- public identifier
    name            TEXT      NOT NULL,
    redirect_uris   TEXT      NOT NULL,          -- newline-separated, matched exactly
    confidential    BOOLEAN   NOT NULL,
    secret_digest   BLOB,                      -- confidential clients: SHA-256 of the secret
    scopes          TEXT      NOT NULL,          -- the fine scopes it may ask for
    service_user_id BIGINT    REFERENCES users (id) ON DELETE SET NULL,  -- client_credentials
    enabled         BOOLEAN   NOT NULL DEFAULT TRUE,
    created_at      BIGINT    NOT NULL,
    created_by      BIGINT
);

-- A user's consent to a client; at most one live grant per pair.
CREATE TABLE oauth_grants (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    client_id      BIGINT NOT NULL REFERENCES oauth_clients (id) ON DELETE CASCADE,
    user_id        BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    scopes         TEXT   NOT NULL,
    created_at     BIGINT NOT NULL,
    revoked_at     BIGINT,
    revoked_reason TEXT
);
CREATE UNIQUE INDEX oauth_grants_live ON oauth_grants (client_id, user_id) WHERE revoked_at IS NULL;
CREATE INDEX oauth_grants_by_user ON oauth_grants (user_id);

CREATE TABLE oauth_codes (
    digest         BLOB PRIMARY KEY,
    grant_id       BIGINT NOT NULL REFERENCES oauth_grants (id) ON DELETE CASCADE,
    redirect_uri   TEXT   NOT NULL,
    redirect_uri_given BOOLEAN NOT NULL,  -- whether the request named it (then the token request must)
    scopes         TEXT   NOT NULL,
    code_challenge TEXT,                 -- PKCE S256 challenge
    expires_at     BIGINT NOT NULL,
    used_at        BIGINT               -- single use: set at redemption
);

CREATE TABLE oauth_tokens (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    digest      BLOB NOT NULL UNIQUE,
    kind        TEXT   NOT NULL,          -- access | refresh
    grant_id    BIGINT REFERENCES oauth_grants (id) ON DELETE CASCADE,  -- NULL: client_credentials
    client_id   BIGINT NOT NULL REFERENCES oauth_clients (id) ON DELETE CASCADE,
    user_id     BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    scopes      TEXT   NOT NULL,
    code_digest BLOB,                   -- the code it came from (a replay revokes it)
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT,
    used_at     BIGINT,                   -- refresh tokens: when exchanged (rotation)
    revoked_at  BIGINT
);
CREATE INDEX oauth_tokens_by_grant ON oauth_tokens (grant_id);
CREATE INDEX oauth_tokens_by_code ON oauth_tokens (code_digest);
