-- Access policy, websudo, a fuller audit log and API usage per credential (SQLite).
-- Numbered as its PostgreSQL twin; forward-only.

-- The administrators' access policy: one JSON document. Every change increments the version;
-- each instance compares the version it holds with this one on every authenticated request
-- (the read comes with the caller's groups), so a change applies everywhere at once.
CREATE TABLE access_policy (
    id         BIGINT PRIMARY KEY CHECK (id = 1),
    version    BIGINT NOT NULL,
    document   TEXT   NOT NULL,
    updated_at BIGINT NOT NULL,
    updated_by TEXT
);

-- Websudo: until when a session may make administrative changes (its password re-entered).
ALTER TABLE sessions ADD COLUMN websudo_until BIGINT;

ALTER TABLE audit_events ADD COLUMN user_agent TEXT;
-- The client address as 32 hex digits of its IPv6 form (IPv4 as ::ffff:a.b.c.d), so that a
-- CIDR filter is a range of keys.
ALTER TABLE audit_events ADD COLUMN client_ip_key TEXT;
-- How many identical events within one interval this row stands for (noisy failures are
-- coalesced so that a flood cannot push other events out).
ALTER TABLE audit_events ADD COLUMN repeats BIGINT NOT NULL DEFAULT 1;
CREATE INDEX audit_events_by_action ON audit_events (action, at);
CREATE INDEX audit_events_by_actor ON audit_events (actor_name, at);
CREATE INDEX audit_events_by_ip ON audit_events (client_ip_key, at);

-- API use per credential (`token:<id>`, `password:<user id>`, `session:<user id>`): requests
-- per day (UTC), and the addresses it was used from with the last user agent seen there.
CREATE TABLE credential_daily (
    credential TEXT   NOT NULL,
    day        BIGINT NOT NULL,  -- days since the Unix epoch
    user_id    BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    requests   BIGINT NOT NULL,
    PRIMARY KEY (credential, day)
);

CREATE TABLE credential_clients (
    credential TEXT   NOT NULL,
    client_ip  TEXT   NOT NULL,
    user_id    BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    user_agent TEXT,
    first_seen BIGINT NOT NULL,
    last_seen  BIGINT NOT NULL,
    requests   BIGINT NOT NULL,
    PRIMARY KEY (credential, client_ip)
);
CREATE INDEX credential_clients_by_first_seen ON credential_clients (first_seen);
CREATE INDEX credential_clients_by_last_seen ON credential_clients (last_seen);
