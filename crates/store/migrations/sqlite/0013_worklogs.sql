-- Work logged on issues (SQLite). Numbered as its PostgreSQL twin; forward-only.
-- An issue's time tracking in seconds: its estimates (none until set) and the sum of its
-- worklogs, kept in the transaction that changes them. Deleted worklogs are remembered (id,
-- project, time) for the incremental exports (worklog/deleted).

ALTER TABLE issues ADD COLUMN original_estimate BIGINT;
ALTER TABLE issues ADD COLUMN remaining_estimate BIGINT;
ALTER TABLE issues ADD COLUMN time_spent BIGINT NOT NULL DEFAULT 0;

CREATE TABLE worklogs (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    issue_id         BIGINT NOT NULL REFERENCES issues (id) ON DELETE CASCADE,
    author_id        BIGINT REFERENCES users (id),
    update_author_id BIGINT REFERENCES users (id),
    comment          TEXT   NOT NULL,
    started_at       BIGINT NOT NULL,
    time_spent       BIGINT NOT NULL,
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL
);
INSERT INTO sqlite_sequence (name, seq) VALUES ('worklogs', 9999);
CREATE INDEX worklogs_by_issue ON worklogs (issue_id, id);
CREATE INDEX worklogs_by_update ON worklogs (updated_at, id);

CREATE TABLE worklog_deletions (
    worklog_id BIGINT PRIMARY KEY,
    project_id BIGINT NOT NULL,
    deleted_at BIGINT NOT NULL
);
CREATE INDEX worklog_deletions_by_time ON worklog_deletions (deleted_at, worklog_id);
