-- Who a saved filter is shared with, besides its owner: everyone, a group's members, whoever
-- may browse a project, or a project role's members. Forward-only; numbered as its twin.
-- `target` names the share ("global", "group:<name>", "project:<id>", "role:<project>:<role>")
-- so that sharing twice with the same audience keeps one share. A share goes with its filter,
-- its group and its project.

CREATE TABLE filter_shares (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    filter_id  BIGINT NOT NULL REFERENCES filters (id) ON DELETE CASCADE,
    kind       TEXT   NOT NULL,  -- global, group, project, role
    group_name TEXT   REFERENCES user_groups (name) ON DELETE CASCADE,
    project_id BIGINT REFERENCES projects (id) ON DELETE CASCADE,
    role_id    BIGINT,
    target     TEXT   NOT NULL,
    UNIQUE (filter_id, target)
);
INSERT INTO sqlite_sequence (name, seq) VALUES ('filter_shares', 9999);
CREATE INDEX filter_shares_by_group ON filter_shares (group_name);
CREATE INDEX filter_shares_by_project ON filter_shares (project_id);
