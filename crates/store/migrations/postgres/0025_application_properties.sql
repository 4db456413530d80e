-- Application properties an administrator changed (Jira's look and feel and title); a
-- property without a row has its default. Forward-only; numbered as its twin.

CREATE TABLE application_properties (
    prop_key   TEXT   PRIMARY KEY,
    value      TEXT   NOT NULL,
    updated_at BIGINT NOT NULL
);
