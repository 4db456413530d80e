-- tessera foundation schema (SQLite). Numbered as its PostgreSQL twin; forward-only.
-- Times are milliseconds since the Unix epoch. Ids start at 10000, as Jira's do.

CREATE TABLE users (
    id                   INTEGER PRIMARY KEY AUTOINCREMENT,
    name                 TEXT    NOT NULL UNIQUE,  -- lower-case login name
    display_name         TEXT    NOT NULL,
    display_name_lower   TEXT    NOT NULL,         -- for search: lower-cased by tessera, not SQL
    email                TEXT,
    email_lower          TEXT,
    active               BOOLEAN NOT NULL DEFAULT TRUE,
    password_hash        TEXT,                     -- Argon2id PHC string; NULL: no local password
    created_at           BIGINT  NOT NULL,
    login_count          BIGINT  NOT NULL DEFAULT 0,
    failed_login_count   BIGINT  NOT NULL DEFAULT 0,
    last_failed_login_at BIGINT,
    previous_login_at    BIGINT,
    last_login_at        BIGINT
);
INSERT INTO sqlite_sequence (name, seq) VALUES ('users', 9999);

CREATE TABLE user_groups (
    name TEXT PRIMARY KEY  -- lower-case
);

CREATE TABLE group_members (
    group_name TEXT   NOT NULL REFERENCES user_groups (name) ON DELETE CASCADE,
    user_id    BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    PRIMARY KEY (group_name, user_id)
);
CREATE INDEX group_members_by_user ON group_members (user_id);

CREATE TABLE global_permission_grants (
    permission TEXT NOT NULL,  -- USE, ADMINISTER, SYSTEM_ADMIN
    group_name TEXT NOT NULL REFERENCES user_groups (name) ON DELETE CASCADE,
    PRIMARY KEY (permission, group_name)
);

INSERT INTO user_groups (name) VALUES ('jira-users'), ('jira-administrators');
INSERT INTO global_permission_grants (permission, group_name) VALUES
    ('USE', 'jira-users'),
    ('USE', 'jira-administrators'),
    ('ADMINISTER', 'jira-administrators'),
    ('SYSTEM_ADMIN', 'jira-administrators');

CREATE TABLE projects (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    project_key      TEXT   NOT NULL UNIQUE,
    name             TEXT   NOT NULL,
    lower_name       TEXT   NOT NULL UNIQUE,
    description      TEXT,
    lead_id          BIGINT REFERENCES users (id),
    project_type_key TEXT   NOT NULL,
    issue_counter    BIGINT NOT NULL DEFAULT 0,  -- last issue number handed out
    created_at       BIGINT NOT NULL
);
INSERT INTO sqlite_sequence (name, seq) VALUES ('projects', 9999);

CREATE TABLE project_role_users (
    project_id BIGINT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    role_id    BIGINT NOT NULL,
    user_id    BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    PRIMARY KEY (project_id, role_id, user_id)
);
CREATE INDEX project_role_users_by_user ON project_role_users (user_id);

CREATE TABLE project_role_groups (
    project_id BIGINT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    role_id    BIGINT NOT NULL,
    group_name TEXT   NOT NULL REFERENCES user_groups (name) ON DELETE CASCADE,
    PRIMARY KEY (project_id, role_id, group_name)
);
CREATE INDEX project_role_groups_by_group ON project_role_groups (group_name);

CREATE TABLE issues (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    project_id    BIGINT NOT NULL REFERENCES projects (id),
    number        BIGINT NOT NULL,
    issue_type_id BIGINT NOT NULL,
    summary       TEXT   NOT NULL,
    description   TEXT,
    status_id     BIGINT NOT NULL,
    priority_id   BIGINT NOT NULL,
    resolution_id BIGINT,
    resolved_at   BIGINT,
    assignee_id   BIGINT REFERENCES users (id),
    reporter_id   BIGINT REFERENCES users (id),
    creator_id    BIGINT REFERENCES users (id),
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL,
    UNIQUE (project_id, number)
);
INSERT INTO sqlite_sequence (name, seq) VALUES ('issues', 9999);

CREATE TABLE issue_labels (
    issue_id BIGINT NOT NULL REFERENCES issues (id) ON DELETE CASCADE,
    label    TEXT   NOT NULL,
    PRIMARY KEY (issue_id, label)
);

CREATE TABLE comments (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    issue_id         BIGINT NOT NULL REFERENCES issues (id) ON DELETE CASCADE,
    author_id        BIGINT REFERENCES users (id),
    update_author_id BIGINT REFERENCES users (id),
    body             TEXT   NOT NULL,
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL
);
INSERT INTO sqlite_sequence (name, seq) VALUES ('comments', 9999);
CREATE INDEX comments_by_issue ON comments (issue_id, id);

CREATE TABLE sessions (
    id_digest    BLOB   PRIMARY KEY,  -- SHA-256 of the session id; the id itself is never stored
    user_id      BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at   BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL
);
CREATE INDEX sessions_by_user ON sessions (user_id);

CREATE TABLE server_keys (
    name  TEXT PRIMARY KEY,
    value BLOB NOT NULL
);
