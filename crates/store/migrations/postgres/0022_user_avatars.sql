-- The avatar each user chose (one of the system avatars, ids 10100 to 10123); a user without
-- a row shows the default (10122). Forward-only; numbered as its twin.

CREATE TABLE user_avatar_choices (
    user_id   BIGINT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    avatar_id BIGINT NOT NULL
);
