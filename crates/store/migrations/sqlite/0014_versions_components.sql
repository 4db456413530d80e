-- Projects' versions and components, and the issues that name them (SQLite). Numbered as
-- its PostgreSQL twin; forward-only. Names are unique in their project regardless of case;
-- versions keep the project's order in `sequence`; an issue names versions as fix or
-- affected versions (`kind`). Deleting a project takes its versions and components.

CREATE TABLE versions (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    project_id   BIGINT  NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    name         TEXT    NOT NULL,
    name_lower   TEXT    NOT NULL,
    description  TEXT,
    released     BOOLEAN NOT NULL DEFAULT FALSE,
    archived     BOOLEAN NOT NULL DEFAULT FALSE,
    release_date TEXT,    -- YYYY-MM-DD
    start_date   TEXT,
    sequence     BIGINT  NOT NULL,
    UNIQUE (project_id, name_lower)
);

CREATE TABLE components (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    project_id    BIGINT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    name          TEXT   NOT NULL,
    name_lower    TEXT   NOT NULL,
    description   TEXT,
    lead_id       BIGINT REFERENCES users (id) ON DELETE SET NULL,
    assignee_type TEXT   NOT NULL,
    UNIQUE (project_id, name_lower)
);

CREATE TABLE issue_versions (
    issue_id   BIGINT NOT NULL REFERENCES issues (id) ON DELETE CASCADE,
    version_id BIGINT NOT NULL REFERENCES versions (id) ON DELETE CASCADE,
    kind       TEXT   NOT NULL,  -- fix or affects
    PRIMARY KEY (issue_id, version_id, kind)
);
CREATE INDEX issue_versions_by_version ON issue_versions (version_id, kind);

CREATE TABLE issue_components (
    issue_id     BIGINT NOT NULL REFERENCES issues (id) ON DELETE CASCADE,
    component_id BIGINT NOT NULL REFERENCES components (id) ON DELETE CASCADE,
    PRIMARY KEY (issue_id, component_id)
);
CREATE INDEX issue_components_by_component ON issue_components (component_id);
INSERT INTO sqlite_sequence (name, seq) VALUES ('versions', 9999);
INSERT INTO sqlite_sequence (name, seq) VALUES ('components', 9999);
