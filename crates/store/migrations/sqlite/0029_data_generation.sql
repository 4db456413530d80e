-- A generation of the work data (projects, roles, issues and everything shown with them,
-- filters, avatars, application properties): every change to one of these tables moves it,
-- and every instance on this file reads it a few times a second to drop the responses it
-- remembered. What decides credentials moves `auth_generation` (0027), which a remembered
-- response also checks. The audit, usage, throttle and nonce tables are left out: they
-- change with every request and are shown by no remembered response. Forward-only; numbered
-- as its twin.

CREATE TABLE data_generation (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    generation BIGINT  NOT NULL
);
INSERT INTO data_generation (id, generation) VALUES (1, 1);

CREATE TRIGGER projects_insert_data AFTER INSERT ON projects
BEGIN UPDATE data_generation SET generation = generation + 1 WHERE id = 1; END;
CREATE TRIGGER projects_update_data AFTER UPDATE ON projects
BEGIN UPDATE data_generation SET generation = generation + 1 WHERE id = 1; END;
CREATE TRIGGER projects_delete_data AFTER DELETE ON projects
BEGIN UPDATE data_generation SET generation = generation + 1 WHERE id = 1; END;
CREATE TRIGGER issues_insert_data AFTER INSERT ON issues
BEGIN UPDATE data_generation SET generation = generation + 1 WHERE id = 1; END;
CREATE TRIGGER issues_update_data AFTER UPDATE ON issues
BEGIN UPDATE data_generation SET generation = generation + 1 WHERE id = 1; END;
CREATE TRIGGER issues_delete_data AFTER DELETE ON issues
BEGIN UPDATE data_generation SET generation = generation + 1 WHERE id = 1; END;
CREATE TRIGGER issue_labels_insert_data AFTER INSERT ON issue_labels
BEGIN UPDATE data_generation SET generation = generation + 1 WHERE id = 1; END;
CREATE TRIGGER issue_labels_update_data AFTER UPDATE ON issue_labels
BEGIN UPDATE data_generation SET generation = generation + 1 WHERE id = 1; END;
CREATE TRIGGER issue_labels_delete_data AFTER DELETE ON issue_labels
BEGIN UPDATE data_generation SET generation = generation + 1 WHERE id = 1; END;
CREATE TRIGGER issue_versions_insert_data AFTER INSERT ON issue_versions
BEGIN UPDATE data_generation SET generation = generation + 1 WHERE id = 1; END;
CREATE TRIGGER issue_versions_update_data AFTER UPDATE ON issue_versions
BEGIN UPDATE data_generation SET generation = generation + 1 WHERE id = 1; END;
CREATE TRIGGER issue_versions_delete_data AFTER DELETE ON issue_versions
BEGIN UPDATE data_generation SET generation = generation + 1 WHERE id = 1; END;
CREATE TRIGGER issue_components_insert_data AFTER INSERT ON issue_components
BEGIN UPDATE data_generation SET generation = generation + 1 WHERE id = 1; END;
CREATE TRIGGER issue_components_update_data AFTER UPDATE ON issue_components
BEGIN UPDATE data_generation SET generation = generation + 1 WHERE id = 1; END;
CREATE TRIGGER issue_components_delete_data AFTER DELETE ON issue_components
BEGIN UPDATE data_generation SET generation = generation + 1 WHERE id = 1; END;
CREATE TRIGGER versions_insert_data AFTER INSERT ON versions
BEGIN UPDATE data_generation SET generation = generation + 1 WHERE id = 1; END;
CREATE TRIGGER versions_update_data AFTER UPDATE ON versions
BEGIN UPDATE data_generation SET generation = generation + 1 WHERE id = 1; END;
CREATE TRIGGER versions_delete_data AFTER DELETE ON versions
BEGIN UPDATE data_generation SET generation = generation + 1 WHERE id = 1; END;
CREATE TRIGGER components_insert_data AFTER INSERT ON components
BEGIN UPDATE data_generation SET generation = generation + 1 WHERE id = 1; END;
CREATE TRIGGER components_update_data AFTER UPDATE ON components
BEGIN UPDATE data_generation SET generation = generation + 1 WHERE id = 1; END;
CREATE TRIGGER components_delete_data AFTER DELETE ON components
BEGIN UPDATE data_generation SET generation = generation + 1 WHERE id = 1; END;
CREATE TRIGGER project_role_users_insert_data AFTER INSERT ON project_role_users
BEGIN UPDATE data_generation SET generation = generation + 1 WHERE id = 1; END;
CREATE TRIGGER project_role_users_update_data AFTER UPDATE ON project_role_users
BEGIN UPDATE data_generation SET generation = generation + 1 WHERE id = 1; END;
CREATE TRIGGER project_role_users_delete_data AFTER DELETE ON project_role_users
BEGIN UPDATE data_generation SET generation = generation + 1 WHERE id = 1; END;
CREATE TRIGGER project_role_groups_insert_data AFTER INSERT ON project_role_groups
BEGIN UPDATE data_generation SET generation = generation + 1 WHERE id = 1; END;
CREATE TRIGGER project_role_groups_update_data AFTER UPDATE ON project_role_groups
BEGIN UPDATE data_generation SET generation = generation + 1 WHERE id = 1; END;
CREATE TRIGGER project_role_groups_delete_data AFTER DELETE ON project_role_groups
BEGIN UPDATE data_generation SET generation = generation + 1 WHERE id = 1; END;
CREATE TRIGGER comments_insert_data AFTER INSERT ON comments
BEGIN UPDATE data_generation SET generation = generation + 1 WHERE id = 1; END;
CREATE TRIGGER comments_update_data AFTER UPDATE ON comments
BEGIN UPDATE data_generation SET generation = generation + 1 WHERE id = 1; END;
CREATE TRIGGER comments_delete_data AFTER DELETE ON comments
BEGIN UPDATE data_generation SET generation = generation + 1 WHERE id = 1; END;
CREATE TRIGGER worklogs_insert_data AFTER INSERT ON worklogs
BEGIN UPDATE data_generation SET generation = generation + 1 WHERE id = 1; END;
CREATE TRIGGER worklogs_update_data AFTER UPDATE ON worklogs
BEGIN UPDATE data_generation SET generation = generation + 1 WHERE id = 1; END;
CREATE TRIGGER worklogs_delete_data AFTER DELETE ON worklogs
BEGIN UPDATE data_generation SET generation = generation + 1 WHERE id = 1; END;
CREATE TRIGGER worklog_deletions_insert_data AFTER INSERT ON worklog_deletions
BEGIN UPDATE data_generation SET generation = generation + 1 WHERE id = 1; END;
CREATE TRIGGER worklog_deletions_update_data AFTER UPDATE ON worklog_deletions
BEGIN UPDATE data_generation SET generation = generation + 1 WHERE id = 1; END;
CREATE TRIGGER worklog_deletions_delete_data AFTER DELETE ON worklog_deletions
BEGIN UPDATE data_generation SET generation = generation + 1 WHERE id = 1; END;
CREATE TRIGGER issue_watchers_insert_data AFTER INSERT ON issue_watchers
BEGIN UPDATE data_generation SET generation = generation + 1 WHERE id = 1; END;
CREATE TRIGGER issue_watchers_update_data AFTER UPDATE ON issue_watchers
BEGIN UPDATE data_generation SET generation = generation + 1 WHERE id = 1; END;
CREATE TRIGGER issue_watchers_delete_data AFTER DELETE ON issue_watchers
BEGIN UPDATE data_generation SET generation = generation + 1 WHERE id = 1; END;
CREATE TRIGGER issue_votes_insert_data AFTER INSERT ON issue_votes
BEGIN UPDATE data_generation SET generation = generation + 1 WHERE id = 1; END;
CREATE TRIGGER issue_votes_update_data AFTER UPDATE ON issue_votes
BEGIN UPDATE data_generation SET generation = generation + 1 WHERE id = 1; END;
CREATE TRIGGER issue_votes_delete_data AFTER DELETE ON issue_votes
BEGIN UPDATE data_generation SET generation = generation + 1 WHERE id = 1; END;
CREATE TRIGGER attachments_insert_data AFTER INSERT ON attachments
BEGIN UPDATE data_generation SET generation = generation + 1 WHERE id = 1; END;
CREATE TRIGGER attachments_update_data AFTER UPDATE ON attachments
BEGIN UPDATE data_generation SET generation = generation + 1 WHERE id = 1; END;
CREATE TRIGGER attachments_delete_data AFTER DELETE ON attachments
BEGIN UPDATE data_generation SET generation = generation + 1 WHERE id = 1; END;
CREATE TRIGGER issue_links_insert_data AFTER INSERT ON issue_links
BEGIN UPDATE data_generation SET generation = generation + 1 WHERE id = 1; END;
CREATE TRIGGER issue_links_update_data AFTER UPDATE ON issue_links
BEGIN UPDATE data_generation SET generation = generation + 1 WHERE id = 1; END;
CREATE TRIGGER issue_links_delete_data AFTER DELETE ON issue_links
BEGIN UPDATE data_generation SET generation = generation + 1 WHERE id = 1; END;
CREATE TRIGGER issue_link_types_insert_data AFTER INSERT ON issue_link_types
BEGIN UPDATE data_generation SET generation = generation + 1 WHERE id = 1; END;
CREATE TRIGGER issue_link_types_update_data AFTER UPDATE ON issue_link_types
BEGIN UPDATE data_generation SET generation = generation + 1 WHERE id = 1; END;
CREATE TRIGGER issue_link_types_delete_data AFTER DELETE ON issue_link_types
BEGIN UPDATE data_generation SET generation = generation + 1 WHERE id = 1; END;
CREATE TRIGGER remote_links_insert_data AFTER INSERT ON remote_links
BEGIN UPDATE data_generation SET generation = generation + 1 WHERE id = 1; END;
CREATE TRIGGER remote_links_update_data AFTER UPDATE ON remote_links
BEGIN UPDATE data_generation SET generation = generation + 1 WHERE id = 1; END;
CREATE TRIGGER remote_links_delete_data AFTER DELETE ON remote_links
BEGIN UPDATE data_generation SET generation = generation + 1 WHERE id = 1; END;
CREATE TRIGGER changelog_groups_insert_data AFTER INSERT ON changelog_groups
BEGIN UPDATE data_generation SET generation = generation + 1 WHERE id = 1; END;
CREATE TRIGGER changelog_groups_update_data AFTER UPDATE ON changelog_groups
BEGIN UPDATE data_generation SET generation = generation + 1 WHERE id = 1; END;
CREATE TRIGGER changelog_groups_delete_data AFTER DELETE ON changelog_groups
BEGIN UPDATE data_generation SET generation = generation + 1 WHERE id = 1; END;
CREATE TRIGGER changelog_items_insert_data AFTER INSERT ON changelog_items
BEGIN UPDATE data_generation SET generation = generation + 1 WHERE id = 1; END;
CREATE TRIGGER changelog_items_update_data AFTER UPDATE ON changelog_items
BEGIN UPDATE data_generation SET generation = generation + 1 WHERE id = 1; END;
CREATE TRIGGER changelog_items_delete_data AFTER DELETE ON changelog_items
BEGIN UPDATE data_generation SET generation = generation + 1 WHERE id = 1; END;
CREATE TRIGGER issue_properties_insert_data AFTER INSERT ON issue_properties
BEGIN UPDATE data_generation SET generation = generation + 1 WHERE id = 1; END;
CREATE TRIGGER issue_properties_update_data AFTER UPDATE ON issue_properties
BEGIN UPDATE data_generation SET generation = generation + 1 WHERE id = 1; END;
CREATE TRIGGER issue_properties_delete_data AFTER DELETE ON issue_properties
BEGIN UPDATE data_generation SET generation = generation + 1 WHERE id = 1; END;
CREATE TRIGGER application_properties_insert_data AFTER INSERT ON application_properties
BEGIN UPDATE data_generation SET generation = generation + 1 WHERE id = 1; END;
CREATE TRIGGER application_properties_update_data AFTER UPDATE ON application_properties
BEGIN UPDATE data_generation SET generation = generation + 1 WHERE id = 1; END;
CREATE TRIGGER application_properties_delete_data AFTER DELETE ON application_properties
BEGIN UPDATE data_generation SET generation = generation + 1 WHERE id = 1; END;
CREATE TRIGGER user_avatar_choices_insert_data AFTER INSERT ON user_avatar_choices
BEGIN UPDATE data_generation SET generation = generation + 1 WHERE id = 1; END;
CREATE TRIGGER user_avatar_choices_update_data AFTER UPDATE ON user_avatar_choices
BEGIN UPDATE data_generation SET generation = generation + 1 WHERE id = 1; END;
CREATE TRIGGER user_avatar_choices_delete_data AFTER DELETE ON user_avatar_choices
BEGIN UPDATE data_generation SET generation = generation + 1 WHERE id = 1; END;
CREATE TRIGGER user_avatar_images_insert_data AFTER INSERT ON user_avatar_images
BEGIN UPDATE data_generation SET generation = generation + 1 WHERE id = 1; END;
CREATE TRIGGER user_avatar_images_update_data AFTER UPDATE ON user_avatar_images
BEGIN UPDATE data_generation SET generation = generation + 1 WHERE id = 1; END;
CREATE TRIGGER user_avatar_images_delete_data AFTER DELETE ON user_avatar_images
BEGIN UPDATE data_generation SET generation = generation + 1 WHERE id = 1; END;
CREATE TRIGGER filters_insert_data AFTER INSERT ON filters
BEGIN UPDATE data_generation SET generation = generation + 1 WHERE id = 1; END;
CREATE TRIGGER filters_update_data AFTER UPDATE ON filters
BEGIN UPDATE data_generation SET generation = generation + 1 WHERE id = 1; END;
CREATE TRIGGER filters_delete_data AFTER DELETE ON filters
BEGIN UPDATE data_generation SET generation = generation + 1 WHERE id = 1; END;
CREATE TRIGGER filter_shares_insert_data AFTER INSERT ON filter_shares
BEGIN UPDATE data_generation SET generation = generation + 1 WHERE id = 1; END;
CREATE TRIGGER filter_shares_update_data AFTER UPDATE ON filter_shares
BEGIN UPDATE data_generation SET generation = generation + 1 WHERE id = 1; END;
CREATE TRIGGER filter_shares_delete_data AFTER DELETE ON filter_shares
BEGIN UPDATE data_generation SET generation = generation + 1 WHERE id = 1; END;
CREATE TRIGGER filter_favourites_insert_data AFTER INSERT ON filter_favourites
BEGIN UPDATE data_generation SET generation = generation + 1 WHERE id = 1; END;
CREATE TRIGGER filter_favourites_update_data AFTER UPDATE ON filter_favourites
BEGIN UPDATE data_generation SET generation = generation + 1 WHERE id = 1; END;
CREATE TRIGGER filter_favourites_delete_data AFTER DELETE ON filter_favourites
BEGIN UPDATE data_generation SET generation = generation + 1 WHERE id = 1; END;
