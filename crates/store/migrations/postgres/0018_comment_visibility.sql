-- Comments restricted to a project role or a group (Jira's comment visibility). Forward-only;
-- the same in both databases. At most one of the two is set; a comment with neither is seen by
-- everyone who can browse its issue.

ALTER TABLE comments ADD COLUMN visibility_role BIGINT;
ALTER TABLE comments ADD COLUMN visibility_group TEXT;
