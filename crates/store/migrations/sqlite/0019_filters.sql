-- Saved filters (a named JQL query of a user's) and the users who count them as favourites.
-- Forward-only; numbered as its twin. Names are unique per owner regardless of case;
-- deleting the owner deletes their filters.

CREATE TABLE filters (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    owner_id    BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name        TEXT   NOT NULL,
    name_lower  TEXT   NOT NULL,
    description TEXT,
    jql         TEXT   NOT NULL,
    created_at  BIGINT NOT NULL,
    UNIQUE (owner_id, name_lower)
);
INSERT INTO sqlite_sequence (name, seq) VALUES ('filters', 9999);

CREATE TABLE filter_favourites (
    filter_id BIGINT NOT NULL REFERENCES filters (id) ON DELETE CASCADE,
    user_id   BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    PRIMARY KEY (filter_id, user_id)
);
CREATE INDEX filter_favourites_by_user ON filter_favourites (user_id);
