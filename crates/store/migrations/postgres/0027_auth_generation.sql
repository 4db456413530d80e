-- A generation of what verified credentials depend on: every change to a credential, a user's
-- standing, a group, a global grant, the access policy, an OAuth client or consumer, or an
-- identity provider takes a new value and notifies channel `tessera_auth` (delivered at
-- commit), so that every instance drops the answers it cached. Usage columns (last used,
-- counters, session last-seen) are left out: they change on every request and decide nothing.
-- A sequence, not a row: no lock is held, so no two transactions can deadlock on it; an
-- instance drops its cache on every notification, whatever the value. Forward-only;
-- numbered as its twin.

CREATE SEQUENCE auth_generation;

CREATE FUNCTION tessera_auth_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('tessera_auth', nextval('auth_generation')::text);
    RETURN NULL;
END
$$;

CREATE TRIGGER users_auth AFTER UPDATE OF name, cased_name, display_name, email, active,
    password_hash, service_owner_group OR DELETE ON users
    FOR EACH STATEMENT EXECUTE FUNCTION tessera_auth_changed();
CREATE TRIGGER user_groups_auth AFTER UPDATE OR DELETE ON user_groups
    FOR EACH STATEMENT EXECUTE FUNCTION tessera_auth_changed();
CREATE TRIGGER group_members_auth AFTER INSERT OR UPDATE OR DELETE ON group_members
    FOR EACH STATEMENT EXECUTE FUNCTION tessera_auth_changed();
CREATE TRIGGER global_permission_grants_auth AFTER INSERT OR UPDATE OR DELETE
    ON global_permission_grants FOR EACH STATEMENT EXECUTE FUNCTION tessera_auth_changed();
CREATE TRIGGER access_policy_auth AFTER INSERT OR UPDATE OR DELETE ON access_policy
    FOR EACH STATEMENT EXECUTE FUNCTION tessera_auth_changed();
CREATE TRIGGER api_tokens_auth AFTER UPDATE OF user_id, kind, digest, previous_digest,
    previous_valid_until, scopes, project_ids, allowed_ips, expires_at, revoked_at OR DELETE
    ON api_tokens FOR EACH STATEMENT EXECUTE FUNCTION tessera_auth_changed();
CREATE TRIGGER sessions_auth AFTER UPDATE OF id_digest, user_id, created_at, websudo_until
    OR DELETE ON sessions FOR EACH STATEMENT EXECUTE FUNCTION tessera_auth_changed();
CREATE TRIGGER oauth_clients_auth AFTER UPDATE OR DELETE ON oauth_clients
    FOR EACH STATEMENT EXECUTE FUNCTION tessera_auth_changed();
CREATE TRIGGER oauth_grants_auth AFTER UPDATE OR DELETE ON oauth_grants
    FOR EACH STATEMENT EXECUTE FUNCTION tessera_auth_changed();
CREATE TRIGGER oauth_tokens_auth AFTER UPDATE OF user_id, grant_id, client_id, scopes,
    expires_at, revoked_at OR DELETE ON oauth_tokens
    FOR EACH STATEMENT EXECUTE FUNCTION tessera_auth_changed();
CREATE TRIGGER oauth1_consumers_auth AFTER UPDATE OR DELETE ON oauth1_consumers
    FOR EACH STATEMENT EXECUTE FUNCTION tessera_auth_changed();
CREATE TRIGGER oauth1_tokens_auth AFTER UPDATE OF user_id, consumer_id, scopes, expires_at,
    revoked_at OR DELETE ON oauth1_tokens
    FOR EACH STATEMENT EXECUTE FUNCTION tessera_auth_changed();
CREATE TRIGGER identity_providers_auth AFTER UPDATE OF name, issuer, audiences, user_claim,
    groups_claim, group_mapping, provisioning, default_scopes, enabled, jwks_uri,
    authorization_endpoint, token_endpoint, introspection_endpoint, login_client_id,
    login_client_secret, introspection_url, introspection_client_id,
    introspection_client_secret, group_sync OR DELETE ON identity_providers
    FOR EACH STATEMENT EXECUTE FUNCTION tessera_auth_changed();
