//! `/rest/api/2`: Jira's REST API. Each handler's doc comment states the permission it needs,
//! which the route table repeats and the access-control matrix test checks.

pub mod attachments;
pub mod avatars;
pub mod changelog;
pub mod comments;
pub mod filters;
pub mod groups;
pub mod issue_input;
pub mod issue_meta;
pub mod issue_properties;
pub mod issues;
pub mod links;
pub mod meta;
pub mod myself;
pub mod permissions;
pub mod pickers;
pub mod planning;
pub mod projects;
pub mod schemes;
pub mod search;
pub mod server_info;
pub mod users;
pub mod votes;
pub mod watchers;
pub mod worklogs;
