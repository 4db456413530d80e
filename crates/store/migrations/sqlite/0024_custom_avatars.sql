-- Avatars users upload: an image is held unconfirmed (one per user) until its owner confirms
-- it, then it is one of their avatars. Ids from 20000, apart from the system avatars' (10100 to
-- 10123). Forward-only; numbered as its twin. They go with their user.

CREATE TABLE user_avatar_images (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id    BIGINT  NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    mime_type  TEXT    NOT NULL,
    content    BLOB    NOT NULL,
    confirmed  BOOLEAN NOT NULL,
    created_at BIGINT  NOT NULL
);
INSERT INTO sqlite_sequence (name, seq) VALUES ('user_avatar_images', 19999);
CREATE INDEX user_avatar_images_by_user ON user_avatar_images (user_id);
