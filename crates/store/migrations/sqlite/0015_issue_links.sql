-- Links between issues, their types, and links from issues to things elsewhere (SQLite).
-- Numbered as its PostgreSQL twin; forward-only. A link reads "source <outward> destination"
-- ("A blocks B") and, from the destination, "destination <inward> source"; one link of a
-- type joins two issues in one direction at most once. Remote links keep the client's JSON
-- (`application`, `object`) as sent, and `global_id` names one link per issue at most.
-- Deleting an issue takes its links of both kinds.

CREATE TABLE issue_link_types (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    name       TEXT NOT NULL,
    name_lower TEXT NOT NULL UNIQUE,
    inward     TEXT NOT NULL,
    outward    TEXT NOT NULL
);
INSERT INTO issue_link_types (id, name, name_lower, inward, outward) VALUES
    (10000, 'Blocks', 'blocks', 'is blocked by', 'blocks'),
    (10001, 'Cloners', 'cloners', 'is cloned by', 'clones'),
    (10002, 'Duplicate', 'duplicate', 'is duplicated by', 'duplicates'),
    (10003, 'Relates', 'relates', 'relates to', 'relates to');

CREATE TABLE issue_links (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    type_id        BIGINT NOT NULL REFERENCES issue_link_types (id) ON DELETE CASCADE,
    source_id      BIGINT NOT NULL REFERENCES issues (id) ON DELETE CASCADE,
    destination_id BIGINT NOT NULL REFERENCES issues (id) ON DELETE CASCADE,
    created_at     BIGINT NOT NULL,
    UNIQUE (source_id, destination_id, type_id)
);
CREATE INDEX issue_links_by_destination ON issue_links (destination_id);
CREATE INDEX issue_links_by_type ON issue_links (type_id);
INSERT INTO sqlite_sequence (name, seq) VALUES ('issue_links', 9999);

CREATE TABLE remote_links (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    issue_id     BIGINT NOT NULL REFERENCES issues (id) ON DELETE CASCADE,
    global_id    TEXT,
    application  TEXT,   -- JSON object as sent, or NULL
    relationship TEXT,
    object       TEXT NOT NULL,  -- JSON object as sent
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL
);
CREATE INDEX remote_links_by_issue ON remote_links (issue_id, id);
CREATE UNIQUE INDEX remote_links_by_global_id ON remote_links (issue_id, global_id)
    WHERE global_id IS NOT NULL;
INSERT INTO sqlite_sequence (name, seq) VALUES ('remote_links', 9999);
