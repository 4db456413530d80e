-- A generation of what verified credentials depend on: every change to a credential, a user's
-- standing, a group, a global grant, the access policy, an OAuth client or consumer, or an
-- identity provider moves it, and every instance on this file reads it a few times a second
-- to drop the answers it cached. Usage columns (last used, counters, session last-seen) are
-- left out: they change on every request and decide nothing. A row: SQLite has one writer at
-- a time, so no two transactions wait on each other for it. Forward-only; numbered as its
-- twin.

CREATE TABLE auth_generation (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    generation BIGINT  NOT NULL
);
INSERT INTO auth_generation (id, generation) VALUES (1, 1);

CREATE TRIGGER users_update_auth AFTER UPDATE OF name, cased_name, display_name, email, active, password_hash, service_owner_group ON users
BEGIN UPDATE auth_generation SET generation = generation + 1 WHERE id = 1; END;
CREATE TRIGGER users_delete_auth AFTER DELETE ON users
BEGIN UPDATE auth_generation SET generation = generation + 1 WHERE id = 1; END;
CREATE TRIGGER user_groups_update_auth AFTER UPDATE ON user_groups
BEGIN UPDATE auth_generation SET generation = generation + 1 WHERE id = 1; END;
CREATE TRIGGER user_groups_delete_auth AFTER DELETE ON user_groups
BEGIN UPDATE auth_generation SET generation = generation + 1 WHERE id = 1; END;
CREATE TRIGGER group_members_insert_auth AFTER INSERT ON group_members
BEGIN UPDATE auth_generation SET generation = generation + 1 WHERE id = 1; END;
CREATE TRIGGER group_members_update_auth AFTER UPDATE ON group_members
BEGIN UPDATE auth_generation SET generation = generation + 1 WHERE id = 1; END;
CREATE TRIGGER group_members_delete_auth AFTER DELETE ON group_members
BEGIN UPDATE auth_generation SET generation = generation + 1 WHERE id = 1; END;
CREATE TRIGGER global_permission_grants_insert_auth AFTER INSERT ON global_permission_grants
BEGIN UPDATE auth_generation SET generation = generation + 1 WHERE id = 1; END;
CREATE TRIGGER global_permission_grants_update_auth AFTER UPDATE ON global_permission_grants
BEGIN UPDATE auth_generation SET generation = generation + 1 WHERE id = 1; END;
CREATE TRIGGER global_permission_grants_delete_auth AFTER DELETE ON global_permission_grants
BEGIN UPDATE auth_generation SET generation = generation + 1 WHERE id = 1; END;
CREATE TRIGGER access_policy_insert_auth AFTER INSERT ON access_policy
BEGIN UPDATE auth_generation SET generation = generation + 1 WHERE id = 1; END;
CREATE TRIGGER access_policy_update_auth AFTER UPDATE ON access_policy
BEGIN UPDATE auth_generation SET generation = generation + 1 WHERE id = 1; END;
CREATE TRIGGER access_policy_delete_auth AFTER DELETE ON access_policy
BEGIN UPDATE auth_generation SET generation = generation + 1 WHERE id = 1; END;
CREATE TRIGGER api_tokens_update_auth AFTER UPDATE OF user_id, kind, digest, previous_digest, previous_valid_until, scopes, project_ids, allowed_ips, expires_at, revoked_at ON api_tokens
BEGIN UPDATE auth_generation SET generation = generation + 1 WHERE id = 1; END;
CREATE TRIGGER api_tokens_delete_auth AFTER DELETE ON api_tokens
BEGIN UPDATE auth_generation SET generation = generation + 1 WHERE id = 1; END;
CREATE TRIGGER sessions_update_auth AFTER UPDATE OF id_digest, user_id, created_at, websudo_until ON sessions
BEGIN UPDATE auth_generation SET generation = generation + 1 WHERE id = 1; END;
CREATE TRIGGER sessions_delete_auth AFTER DELETE ON sessions
BEGIN UPDATE auth_generation SET generation = generation + 1 WHERE id = 1; END;
CREATE TRIGGER oauth_clients_update_auth AFTER UPDATE ON oauth_clients
BEGIN UPDATE auth_generation SET generation = generation + 1 WHERE id = 1; END;
CREATE TRIGGER oauth_clients_delete_auth AFTER DELETE ON oauth_clients
BEGIN UPDATE auth_generation SET generation = generation + 1 WHERE id = 1; END;
CREATE TRIGGER oauth_grants_update_auth AFTER UPDATE ON oauth_grants
BEGIN UPDATE auth_generation SET generation = generation + 1 WHERE id = 1; END;
CREATE TRIGGER oauth_grants_delete_auth AFTER DELETE ON oauth_grants
BEGIN UPDATE auth_generation SET generation = generation + 1 WHERE id = 1; END;
CREATE TRIGGER oauth_tokens_update_auth AFTER UPDATE OF user_id, grant_id, client_id, scopes, expires_at, revoked_at ON oauth_tokens
BEGIN UPDATE auth_generation SET generation = generation + 1 WHERE id = 1; END;
CREATE TRIGGER oauth_tokens_delete_auth AFTER DELETE ON oauth_tokens
BEGIN UPDATE auth_generation SET generation = generation + 1 WHERE id = 1; END;
CREATE TRIGGER oauth1_consumers_update_auth AFTER UPDATE ON oauth1_consumers
BEGIN UPDATE auth_generation SET generation = generation + 1 WHERE id = 1; END;
CREATE TRIGGER oauth1_consumers_delete_auth AFTER DELETE ON oauth1_consumers
BEGIN UPDATE auth_generation SET generation = generation + 1 WHERE id = 1; END;
CREATE TRIGGER oauth1_tokens_update_auth AFTER UPDATE OF user_id, consumer_id, scopes, expires_at, revoked_at ON oauth1_tokens
BEGIN UPDATE auth_generation SET generation = generation + 1 WHERE id = 1; END;
CREATE TRIGGER oauth1_tokens_delete_auth AFTER DELETE ON oauth1_tokens
BEGIN UPDATE auth_generation SET generation = generation + 1 WHERE id = 1; END;
CREATE TRIGGER identity_providers_update_auth AFTER UPDATE OF name, issuer, audiences, user_claim, groups_claim, group_mapping, provisioning, default_scopes, enabled, jwks_uri, authorization_endpoint, token_endpoint, introspection_endpoint, login_client_id, login_client_secret, introspection_url, introspection_client_id, introspection_client_secret, group_sync ON identity_providers
BEGIN UPDATE auth_generation SET generation = generation + 1 WHERE id = 1; END;
CREATE TRIGGER identity_providers_delete_auth AFTER DELETE ON identity_providers
BEGIN UPDATE auth_generation SET generation = generation + 1 WHERE id = 1; END;
