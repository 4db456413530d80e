-- OAuth 1.0a application links (SQLite). Numbered as its PostgreSQL twin; forward-only.
-- Tokens and their secrets are kept only as SHA-256 digests.

CREATE TABLE oauth1_consumers (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    consumer_key TEXT NOT NULL UNIQUE,   -- oauth_consumer_key, exactly as registered
    name         TEXT   NOT NULL,
    public_key   TEXT   NOT NULL,         -- RSA, PEM (BEGIN PUBLIC KEY)
    callback     TEXT   NOT NULL,         -- an absolute URL, or 'oob'
    created_at   BIGINT NOT NULL,
    created_by   BIGINT
);

-- Request tokens (until exchanged) and access tokens; deleting a consumer deletes its tokens.
CREATE TABLE oauth1_tokens (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    digest          BLOB  NOT NULL UNIQUE,  -- SHA-256 of oauth_token
    kind            TEXT   NOT NULL,         -- 'request' or 'access'
    consumer_id     BIGINT NOT NULL REFERENCES oauth1_consumers (id) ON DELETE CASCADE,
    user_id         BIGINT REFERENCES users (id) ON DELETE CASCADE,  -- set once approved
    scopes          TEXT   NOT NULL,
    callback        TEXT,                    -- a request token's oauth_callback
    verifier_digest BLOB,                   -- a request token's verifier, once approved
    created_at      BIGINT NOT NULL,
    expires_at      BIGINT,
    used_at         BIGINT,                  -- a request token is exchanged once
    revoked_at      BIGINT
);
CREATE INDEX oauth1_tokens_by_user ON oauth1_tokens (user_id);
CREATE INDEX oauth1_tokens_by_consumer ON oauth1_tokens (consumer_id);

-- Nonces of signed requests, per consumer, token and timestamp (RFC 5849 §3.3); pruned once
-- older than the timestamp window.
CREATE TABLE oauth1_nonces (
    consumer_key TEXT NOT NULL,
    token        TEXT NOT NULL,   -- '' for a request without a token
    ts           BIGINT NOT NULL,   -- oauth_timestamp, seconds
    nonce        TEXT NOT NULL,
    PRIMARY KEY (consumer_key, token, ts, nonce)
);
CREATE INDEX oauth1_nonces_by_time ON oauth1_nonces (ts);
