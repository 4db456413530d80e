-- The id of the request an audit event was recorded in (`X-Request-Id`: a trusted proxy's, or
-- one tessera made), so that an event is found in the logs of tessera and of its proxy. Events
-- recorded outside a request (housekeeping, the offline CLI) have none. Forward-only; numbered
-- as its twin.

ALTER TABLE audit_events ADD COLUMN request_id TEXT;
CREATE INDEX audit_events_request_id ON audit_events (request_id);
