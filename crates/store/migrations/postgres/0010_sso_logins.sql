-- Sign-in through an identity provider (PostgreSQL). Numbered as its SQLite twin; forward-only.
-- The client tessera is at the provider (its secret sealed by the server, never in the
-- clear), and the sign-ins under way: each kept from the redirect to the provider until its
-- answer comes back, keyed by a digest of its state, used once.

ALTER TABLE identity_providers ADD COLUMN login_client_id TEXT;
ALTER TABLE identity_providers ADD COLUMN login_client_secret TEXT;

CREATE TABLE sso_logins (
    state_digest  TEXT PRIMARY KEY,
    provider_id   BIGINT NOT NULL REFERENCES identity_providers (id) ON DELETE CASCADE,
    nonce         TEXT   NOT NULL,
    code_verifier TEXT   NOT NULL,
    next          TEXT   NOT NULL,
    created_at    BIGINT NOT NULL,
    expires_at    BIGINT NOT NULL
);
CREATE INDEX sso_logins_expires ON sso_logins (expires_at);
