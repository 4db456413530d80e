-- Identity providers (PostgreSQL; numbered as its SQLite twin; forward-only): when a provider's
-- credentials were first accepted (set once, by the first request it authenticates, which
-- records the audit event identity.provider.first_used), and when the groups a token's
-- groups claim names are synced: on every login and token (always), or only when the user is
-- provisioned.

ALTER TABLE identity_providers ADD COLUMN first_used_at BIGINT;
ALTER TABLE identity_providers ADD COLUMN group_sync TEXT NOT NULL DEFAULT 'always';
