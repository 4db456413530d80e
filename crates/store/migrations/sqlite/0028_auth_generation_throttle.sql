-- A user name's password logins suspended (or suspended for longer) also moves the auth
-- generation: a remembered password then goes through its check again, and waits like any
-- other. Only a new or later wait of a user name: a network's wait, and every other change to
-- the counts, decide nothing a remembered answer holds. Forward-only; numbered as its twin.

CREATE TRIGGER login_failures_insert_auth AFTER INSERT ON login_failures
    WHEN NEW.subject LIKE 'user:%' AND NEW.blocked_until IS NOT NULL
BEGIN UPDATE auth_generation SET generation = generation + 1 WHERE id = 1; END;
CREATE TRIGGER login_failures_update_auth AFTER UPDATE OF blocked_until ON login_failures
    WHEN NEW.subject LIKE 'user:%' AND NEW.blocked_until IS NOT NULL
        AND (OLD.blocked_until IS NULL OR NEW.blocked_until > OLD.blocked_until)
BEGIN UPDATE auth_generation SET generation = generation + 1 WHERE id = 1; END;
