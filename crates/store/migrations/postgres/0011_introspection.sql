-- Introspection of identity providers' opaque tokens (PostgreSQL). Numbered as its SQLite twin;
-- forward-only. The endpoint an administrator named (else the discovered one is used) and the
-- client tessera introspects as, its secret sealed by the server, never in the clear.

ALTER TABLE identity_providers ADD COLUMN introspection_url TEXT;
ALTER TABLE identity_providers ADD COLUMN introspection_client_id TEXT;
ALTER TABLE identity_providers ADD COLUMN introspection_client_secret TEXT;
