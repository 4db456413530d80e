-- JQL search (PostgreSQL). Numbered as its SQLite twin; forward-only.

-- Text is searched in lower-case copies that tessera writes with Rust's Unicode lower-casing,
-- never SQL's (PostgreSQL's depends on the collation, SQLite's covers only ASCII), so both
-- stores match alike. Existing rows are filled here with LOWER(), exact for ASCII;
-- SqlStore::migrate re-lowers the rest in Rust right after applying this migration.
ALTER TABLE issues ADD COLUMN summary_lower TEXT COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE issues ADD COLUMN description_lower TEXT COLLATE "C";
ALTER TABLE comments ADD COLUMN body_lower TEXT COLLATE "C" NOT NULL DEFAULT '';
UPDATE issues SET summary_lower = LOWER(summary), description_lower = LOWER(description);
UPDATE comments SET body_lower = LOWER(body);

-- Searches sort by these names: code-point order, as SQLite's BINARY, so both stores list
-- issues alike whatever the server's locale.
ALTER TABLE users ALTER COLUMN display_name_lower TYPE TEXT COLLATE "C";
ALTER TABLE projects ALTER COLUMN lower_name TYPE TEXT COLLATE "C";

-- Searches are confined to the caller's projects and sorted newest first unless told
-- otherwise: a project (and status) followed by the creation time serves the common pages in
-- index order, stopping after one page. Issue id last: the tiebreak of every sort.
CREATE INDEX issues_by_project_status ON issues (project_id, status_id, created_at, id);
CREATE INDEX issues_by_project_created ON issues (project_id, created_at, id);
-- Across projects, newest first, and the `created`/`updated`/`resolved` ranges integrations
-- poll with.
CREATE INDEX issues_by_created ON issues (created_at, id);
CREATE INDEX issues_by_updated ON issues (updated_at, id);
CREATE INDEX issues_by_resolved ON issues (resolved_at);
-- `assignee = currentUser()` and friends.
CREATE INDEX issues_by_assignee ON issues (assignee_id, status_id);
CREATE INDEX issues_by_reporter ON issues (reporter_id);
-- `labels = x` from the label's side.
CREATE INDEX issue_labels_by_label ON issue_labels (label, issue_id);
