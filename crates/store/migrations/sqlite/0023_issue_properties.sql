-- Issue properties: JSON values that apps and integrations keep on an issue under their own
-- keys (Jira's entity properties). Forward-only; numbered as its twin. They go with the issue.

CREATE TABLE issue_properties (
    issue_id   BIGINT NOT NULL REFERENCES issues (id) ON DELETE CASCADE,
    prop_key   TEXT   NOT NULL,
    value      TEXT   NOT NULL,  -- JSON, as given
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (issue_id, prop_key)
);
