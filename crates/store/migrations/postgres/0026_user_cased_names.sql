-- User names keep the case they were created with, for display (Jira's `name`), while `name`
-- (lower-case) stays the key every lookup, comparison, throttle and audit record uses. NULL:
-- the key is the name as shown (users made before this). Forward-only; numbered as its twin.

ALTER TABLE users ADD COLUMN cased_name TEXT;
