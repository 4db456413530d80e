-- A generation of the work data (projects, roles, issues and everything shown with them,
-- filters, avatars, application properties): every statement that changes one of these
-- tables takes a new value and notifies channel `tessera_data` (delivered at commit; one
-- notification per transaction, as its payload is empty), so that every instance drops the
-- responses it remembered. What decides credentials moves `auth_generation` (0027), which a
-- remembered response also checks. The audit, usage, throttle and nonce tables are left out:
-- they change with every request and are shown by no remembered response.
-- Each sequence is advanced once here, so that its `last_value` (what an instance's backstop
-- reads) moves from the first change on. Forward-only; numbered as its twin.

CREATE SEQUENCE data_generation;
SELECT nextval('data_generation');
SELECT nextval('auth_generation');

CREATE FUNCTION tessera_data_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM nextval('data_generation');
    PERFORM pg_notify('tessera_data', '');
    RETURN NULL;
END
$$;

CREATE TRIGGER projects_data AFTER INSERT OR UPDATE OR DELETE ON projects
    FOR EACH STATEMENT EXECUTE FUNCTION tessera_data_changed();
CREATE TRIGGER issues_data AFTER INSERT OR UPDATE OR DELETE ON issues
    FOR EACH STATEMENT EXECUTE FUNCTION tessera_data_changed();
CREATE TRIGGER issue_labels_data AFTER INSERT OR UPDATE OR DELETE ON issue_labels
    FOR EACH STATEMENT EXECUTE FUNCTION tessera_data_changed();
CREATE TRIGGER issue_versions_data AFTER INSERT OR UPDATE OR DELETE ON issue_versions
    FOR EACH STATEMENT EXECUTE FUNCTION tessera_data_changed();
CREATE TRIGGER issue_components_data AFTER INSERT OR UPDATE OR DELETE ON issue_components
    FOR EACH STATEMENT EXECUTE FUNCTION tessera_data_changed();
CREATE TRIGGER versions_data AFTER INSERT OR UPDATE OR DELETE ON versions
    FOR EACH STATEMENT EXECUTE FUNCTION tessera_data_changed();
CREATE TRIGGER components_data AFTER INSERT OR UPDATE OR DELETE ON components
    FOR EACH STATEMENT EXECUTE FUNCTION tessera_data_changed();
CREATE TRIGGER project_role_users_data AFTER INSERT OR UPDATE OR DELETE ON project_role_users
    FOR EACH STATEMENT EXECUTE FUNCTION tessera_data_changed();
CREATE TRIGGER project_role_groups_data AFTER INSERT OR UPDATE OR DELETE ON project_role_groups
    FOR EACH STATEMENT EXECUTE FUNCTION tessera_data_changed();
CREATE TRIGGER comments_data AFTER INSERT OR UPDATE OR DELETE ON comments
    FOR EACH STATEMENT EXECUTE FUNCTION tessera_data_changed();
CREATE TRIGGER worklogs_data AFTER INSERT OR UPDATE OR DELETE ON worklogs
    FOR EACH STATEMENT EXECUTE FUNCTION tessera_data_changed();
CREATE TRIGGER worklog_deletions_data AFTER INSERT OR UPDATE OR DELETE ON worklog_deletions
    FOR EACH STATEMENT EXECUTE FUNCTION tessera_data_changed();
CREATE TRIGGER issue_watchers_data AFTER INSERT OR UPDATE OR DELETE ON issue_watchers
    FOR EACH STATEMENT EXECUTE FUNCTION tessera_data_changed();
CREATE TRIGGER issue_votes_data AFTER INSERT OR UPDATE OR DELETE ON issue_votes
    FOR EACH STATEMENT EXECUTE FUNCTION tessera_data_changed();
CREATE TRIGGER attachments_data AFTER INSERT OR UPDATE OR DELETE ON attachments
    FOR EACH STATEMENT EXECUTE FUNCTION tessera_data_changed();
CREATE TRIGGER issue_links_data AFTER INSERT OR UPDATE OR DELETE ON issue_links
    FOR EACH STATEMENT EXECUTE FUNCTION tessera_data_changed();
CREATE TRIGGER issue_link_types_data AFTER INSERT OR UPDATE OR DELETE ON issue_link_types
    FOR EACH STATEMENT EXECUTE FUNCTION tessera_data_changed();
CREATE TRIGGER remote_links_data AFTER INSERT OR UPDATE OR DELETE ON remote_links
    FOR EACH STATEMENT EXECUTE FUNCTION tessera_data_changed();
CREATE TRIGGER changelog_groups_data AFTER INSERT OR UPDATE OR DELETE ON changelog_groups
    FOR EACH STATEMENT EXECUTE FUNCTION tessera_data_changed();
CREATE TRIGGER changelog_items_data AFTER INSERT OR UPDATE OR DELETE ON changelog_items
    FOR EACH STATEMENT EXECUTE FUNCTION tessera_data_changed();
CREATE TRIGGER issue_properties_data AFTER INSERT OR UPDATE OR DELETE ON issue_properties
    FOR EACH STATEMENT EXECUTE FUNCTION tessera_data_changed();
CREATE TRIGGER application_properties_data AFTER INSERT OR UPDATE OR DELETE ON application_properties
    FOR EACH STATEMENT EXECUTE FUNCTION tessera_data_changed();
CREATE TRIGGER user_avatar_choices_data AFTER INSERT OR UPDATE OR DELETE ON user_avatar_choices
    FOR EACH STATEMENT EXECUTE FUNCTION tessera_data_changed();
CREATE TRIGGER user_avatar_images_data AFTER INSERT OR UPDATE OR DELETE ON user_avatar_images
    FOR EACH STATEMENT EXECUTE FUNCTION tessera_data_changed();
CREATE TRIGGER filters_data AFTER INSERT OR UPDATE OR DELETE ON filters
    FOR EACH STATEMENT EXECUTE FUNCTION tessera_data_changed();
CREATE TRIGGER filter_shares_data AFTER INSERT OR UPDATE OR DELETE ON filter_shares
    FOR EACH STATEMENT EXECUTE FUNCTION tessera_data_changed();
CREATE TRIGGER filter_favourites_data AFTER INSERT OR UPDATE OR DELETE ON filter_favourites
    FOR EACH STATEMENT EXECUTE FUNCTION tessera_data_changed();
