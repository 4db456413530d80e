//! Numeric identifiers as distinct types, so a user id can never be passed where an issue id
//! is expected. Jira renders ids as strings; the numbers start at 10000 as Jira's do.

use std::fmt;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(pub i64);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl $name {
            /// Parses the decimal form used in URLs; anything else is `None`.
            pub fn parse(text: &str) -> Option<Self> {
                if text.is_empty() || text.len() > 18 || !text.bytes().all(|b| b.is_ascii_digit()) {
                    return None;
                }
                text.parse().ok().map(Self)
            }
        }
    };
}

id_type!(
    /// A user: a person or a service account.
    UserId
);
id_type!(
    /// A project.
    ProjectId
);
id_type!(
    /// An issue.
    IssueId
);
id_type!(
    /// A comment on an issue.
    CommentId
);
id_type!(
    /// A personal access token or service-account API key.
    TokenId
);
id_type!(
    /// Work logged on an issue.
    WorklogId
);
id_type!(
    /// A project's version (release).
    VersionId
);
id_type!(
    /// A project's component.
    ComponentId
);
id_type!(
    /// A kind of link between issues (Blocks, Duplicate, ...).
    LinkTypeId
);
id_type!(
    /// A link between two issues.
    IssueLinkId
);
id_type!(
    /// A link from an issue to something elsewhere.
    RemoteLinkId
);
id_type!(
    /// A file attached to an issue.
    AttachmentId
);
id_type!(
    /// A saved filter.
    FilterId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_only_plain_decimal_numbers() {
        assert_eq!(IssueId::parse("10001"), Some(IssueId(10001)));
        assert_eq!(IssueId::parse(""), None);
        assert_eq!(IssueId::parse("+1"), None);
        assert_eq!(IssueId::parse("-1"), None);
        assert_eq!(IssueId::parse("1e3"), None);
        assert_eq!(IssueId::parse("99999999999999999999"), None);
        assert_eq!(IssueId::parse("ABC-1"), None);
    }
}
