-- Issue history and watchers (SQLite). Numbered as its PostgreSQL twin; forward-only.

-- One row per change of an issue (Jira's changelog "history"): who made it, when, and with
-- which credential, so an administrator can tell a script's change from a person's. The
-- credential is named as the audit trail names it (its kind and id, never a secret); an
-- OAuth 2.0 client by its public id and its name at the time of the change.
CREATE TABLE changelog_groups (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    issue_id          BIGINT NOT NULL REFERENCES issues (id) ON DELETE CASCADE,
    author_id         BIGINT REFERENCES users (id),
    created_at        BIGINT NOT NULL,
    credential_kind   TEXT   NOT NULL,
    credential_id     TEXT,
    oauth_client_id   TEXT,
    oauth_client_name TEXT
);
INSERT INTO sqlite_sequence (name, seq) VALUES ('changelog_groups', 9999);
-- An issue's history is read oldest first, a page at a time.
CREATE INDEX changelog_groups_by_issue ON changelog_groups (issue_id, id);

-- The fields one change touched, as Jira's changelog items: ids (or user keys) in from/to,
-- what a person reads in the *_string columns.
CREATE TABLE changelog_items (
    group_id    BIGINT NOT NULL REFERENCES changelog_groups (id) ON DELETE CASCADE,
    position    BIGINT NOT NULL,
    field       TEXT   NOT NULL,
    field_type  TEXT   NOT NULL,
    from_value  TEXT,
    from_string TEXT,
    to_value    TEXT,
    to_string   TEXT,
    PRIMARY KEY (group_id, position)
);

CREATE TABLE issue_watchers (
    issue_id   BIGINT NOT NULL REFERENCES issues (id) ON DELETE CASCADE,
    user_id    BIGINT NOT NULL REFERENCES users (id),
    created_at BIGINT NOT NULL,
    PRIMARY KEY (issue_id, user_id)
);

-- Reporters and creators watch their issues, as Jira's default autowatch has them do from now
-- on; issues made before this migration start out the same way.
INSERT INTO issue_watchers (issue_id, user_id, created_at)
SELECT id, reporter_id, created_at FROM issues WHERE reporter_id IS NOT NULL
UNION
SELECT id, creator_id, created_at FROM issues WHERE creator_id IS NOT NULL;
