-- Group names keep the case they were created with, for display, while `name` (lower-case)
-- stays the key every lookup and membership uses. NULL: the key is the display name (the
-- built-in groups, and groups made before this). Forward-only; numbered as its twin.

ALTER TABLE user_groups ADD COLUMN display_name TEXT;
