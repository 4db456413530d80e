-- OAuth 1.0a two-legged requests (SQLite). Numbered as its PostgreSQL twin; forward-only.
-- A consumer's requests without a user's token act as this user, set by an administrator;
-- NULL (the default) refuses them.

ALTER TABLE oauth1_consumers
    ADD COLUMN run_as_user_id BIGINT REFERENCES users (id) ON DELETE SET NULL;
