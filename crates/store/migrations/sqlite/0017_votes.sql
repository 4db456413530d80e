-- Votes for issues: one per user and issue. Forward-only; the same in both databases.
-- Deleting the issue or the user takes the vote.

CREATE TABLE issue_votes (
    issue_id   BIGINT NOT NULL REFERENCES issues (id) ON DELETE CASCADE,
    user_id    BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (issue_id, user_id)
);
CREATE INDEX issue_votes_by_user ON issue_votes (user_id);
