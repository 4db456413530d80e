-- Files attached to issues (SQLite). Numbered as its PostgreSQL twin; forward-only. The
-- content is kept in the database with its metadata, written in the transaction that answers
-- the upload, so an attachment answered 201 survives a crash; deleting an issue takes its
-- attachments.

CREATE TABLE attachments (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    issue_id   BIGINT NOT NULL REFERENCES issues (id) ON DELETE CASCADE,
    author_id  BIGINT REFERENCES users (id) ON DELETE SET NULL,
    filename   TEXT   NOT NULL,
    mime_type  TEXT   NOT NULL,
    size       BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    content    BLOB   NOT NULL
);
CREATE INDEX attachments_by_issue ON attachments (issue_id, id);
INSERT INTO sqlite_sequence (name, seq) VALUES ('attachments', 9999);
