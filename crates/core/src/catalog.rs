//! Jira's fixed catalogues as tessera keeps them: issue types, priorities, statuses and their
//! categories, resolutions, the one workflow, and the system fields. Ids are Jira's defaults,
//! which clients and scripts sometimes hard-code.

/// An issue type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum IssueType {
    Bug,
    Task,
    Story,
}

impl IssueType {
    pub const ALL: [Self; 3] = [Self::Task, Self::Bug, Self::Story];
    pub const DEFAULT: Self = Self::Task;

    pub fn id(self) -> i64 {
        match self {
            Self::Bug => 1,
            Self::Task => 3,
            Self::Story => 10001,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Bug => "Bug",
            Self::Task => "Task",
            Self::Story => "Story",
        }
    }

    pub fn description(self) -> &'static str {
        match self {
            Self::Bug => "A problem which impairs or prevents the functions of the product.",
            Self::Task => "A task that needs to be done.",
            Self::Story => "A user story: a feature told from its user's point of view.",
        }
    }

    pub fn from_id(id: i64) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.id() == id)
    }

    /// Jira matches issue type names without regard to case.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|t| t.name().eq_ignore_ascii_case(name))
    }
}

/// An issue priority.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Priority {
    Highest,
    High,
    Medium,
    Low,
    Lowest,
}

impl Priority {
    pub const ALL: [Self; 5] = [
        Self::Highest,
        Self::High,
        Self::Medium,
        Self::Low,
        Self::Lowest,
    ];
    pub const DEFAULT: Self = Self::Medium;

    pub fn id(self) -> i64 {
        match self {
            Self::Highest => 1,
            Self::High => 2,
            Self::Medium => 3,
            Self::Low => 4,
            Self::Lowest => 5,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Highest => "Highest",
            Self::High => "High",
            Self::Medium => "Medium",
            Self::Low => "Low",
            Self::Lowest => "Lowest",
        }
    }

    pub fn description(self) -> &'static str {
        match self {
            Self::Highest => "This problem will block progress.",
            Self::High => "Serious problem that could block progress.",
            Self::Medium => "Has the potential to affect progress.",
            Self::Low => "Minor problem or easily worked around.",
            Self::Lowest => "Trivial problem with little or no impact on progress.",
        }
    }

    pub fn color(self) -> &'static str {
        match self {
            Self::Highest => "#d04437",
            Self::High => "#f15C75",
            Self::Medium => "#f79232",
            Self::Low => "#707070",
            Self::Lowest => "#999999",
        }
    }

    pub fn from_id(id: i64) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.id() == id)
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|p| p.name().eq_ignore_ascii_case(name))
    }
}

/// The category a status belongs to; clients colour statuses by it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum StatusCategory {
    /// Jira's "No Category" (id 1): no status of tessera's is in it, but clients list it.
    Undefined,
    New,
    InProgress,
    Done,
}

impl StatusCategory {
    pub const ALL: [Self; 4] = [Self::Undefined, Self::New, Self::Done, Self::InProgress];

    pub fn id(self) -> i64 {
        match self {
            Self::Undefined => 1,
            Self::New => 2,
            Self::Done => 3,
            Self::InProgress => 4,
        }
    }

    pub fn key(self) -> &'static str {
        match self {
            Self::Undefined => "undefined",
            Self::New => "new",
            Self::InProgress => "indeterminate",
            Self::Done => "done",
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Undefined => "No Category",
            Self::New => "To Do",
            Self::InProgress => "In Progress",
            Self::Done => "Done",
        }
    }

    pub fn color_name(self) -> &'static str {
        match self {
            Self::Undefined => "medium-gray",
            Self::New => "blue-gray",
            Self::InProgress => "yellow",
            Self::Done => "green",
        }
    }
}

/// A workflow status.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Status {
    ToDo,
    InProgress,
    Done,
}

impl Status {
    pub const ALL: [Self; 3] = [Self::ToDo, Self::InProgress, Self::Done];
    pub const INITIAL: Self = Self::ToDo;

    pub fn id(self) -> i64 {
        match self {
            Self::ToDo => 10000,
            Self::InProgress => 3,
            Self::Done => 10001,
        }
    }

    pub fn name(self) -> &'static str {
        self.category().name()
    }

    pub fn description(self) -> &'static str {
        match self {
            Self::ToDo => "The issue is open and waiting to be worked on.",
            Self::InProgress => "Someone is working on this issue.",
            Self::Done => "Work on this issue is complete.",
        }
    }

    pub fn category(self) -> StatusCategory {
        match self {
            Self::ToDo => StatusCategory::New,
            Self::InProgress => StatusCategory::InProgress,
            Self::Done => StatusCategory::Done,
        }
    }

    pub fn from_id(id: i64) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.id() == id)
    }

    /// The transitions the workflow offers from this status.
    pub fn transitions(self) -> impl Iterator<Item = Transition> {
        Transition::ALL
            .into_iter()
            .filter(move |t| t.from().contains(&self))
    }
}

/// An issue resolution, set when an issue reaches Done and cleared when it leaves.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Resolution {
    Done,
    WontDo,
    Duplicate,
    CannotReproduce,
}

impl Resolution {
    pub const ALL: [Self; 4] = [
        Self::Done,
        Self::WontDo,
        Self::Duplicate,
        Self::CannotReproduce,
    ];
    pub const DEFAULT: Self = Self::Done;

    pub fn id(self) -> i64 {
        match self {
            Self::Done => 10000,
            Self::WontDo => 10001,
            Self::Duplicate => 10002,
            Self::CannotReproduce => 10003,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Done => "Done",
            Self::WontDo => "Won't Do",
            Self::Duplicate => "Duplicate",
            Self::CannotReproduce => "Cannot Reproduce",
        }
    }

    pub fn description(self) -> &'static str {
        match self {
            Self::Done => "Work has been completed on this issue.",
            Self::WontDo => "This issue won't be actioned.",
            Self::Duplicate => "The problem is a duplicate of an existing issue.",
            Self::CannotReproduce => "This issue could not be reproduced at this time.",
        }
    }

    pub fn from_id(id: i64) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.id() == id)
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|r| r.name().eq_ignore_ascii_case(name))
    }
}

/// A workflow transition: To Do → In Progress → Done, and back one step at a time.
/// Transitions are named after their target status, as in Jira's simplified workflows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Transition {
    ToDo,
    StartProgress,
    Done,
}

impl Transition {
    pub const ALL: [Self; 3] = [Self::ToDo, Self::StartProgress, Self::Done];

    pub fn id(self) -> i64 {
        match self {
            Self::ToDo => 11,
            Self::StartProgress => 21,
            Self::Done => 31,
        }
    }

    pub fn name(self) -> &'static str {
        self.to().name()
    }

    pub fn to(self) -> Status {
        match self {
            Self::ToDo => Status::ToDo,
            Self::StartProgress => Status::InProgress,
            Self::Done => Status::Done,
        }
    }

    pub fn from(self) -> &'static [Status] {
        match self {
            Self::ToDo => &[Status::InProgress],
            Self::StartProgress => &[Status::ToDo, Status::Done],
            Self::Done => &[Status::InProgress],
        }
    }

    pub fn from_id(id: i64) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.id() == id)
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|t| t.name().eq_ignore_ascii_case(name))
    }
}

/// A system field, as `GET field` describes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Field {
    pub id: &'static str,
    pub name: &'static str,
    /// JSON schema type: `string`, `user`, `array`, `datetime`, ...
    pub schema_type: &'static str,
    /// Item type for arrays.
    pub schema_items: Option<&'static str>,
    pub orderable: bool,
    pub navigable: bool,
    pub searchable: bool,
    /// Whether `PUT issue` may set it through `fields` or `update`.
    pub editable: bool,
    pub clause_names: &'static [&'static str],
}

const fn field(
    id: &'static str,
    name: &'static str,
    schema_type: &'static str,
    editable: bool,
    clause_names: &'static [&'static str],
) -> Field {
    Field {
        id,
        name,
        schema_type,
        schema_items: None,
        orderable: true,
        navigable: true,
        searchable: true,
        editable,
        clause_names,
    }
}

/// Every field tessera knows, in `GET field` order.
pub const FIELDS: &[Field] = &[
    field("summary", "Summary", "string", true, &["summary"]),
    field(
        "description",
        "Description",
        "string",
        true,
        &["description"],
    ),
    field(
        "issuetype",
        "Issue Type",
        "issuetype",
        true,
        &["issuetype", "type"],
    ),
    field("project", "Project", "project", false, &["project"]),
    field("status", "Status", "status", false, &["status"]),
    field("priority", "Priority", "priority", true, &["priority"]),
    field(
        "resolution",
        "Resolution",
        "resolution",
        false,
        &["resolution"],
    ),
    field(
        "resolutiondate",
        "Resolved",
        "datetime",
        false,
        &["resolutiondate", "resolved"],
    ),
    field("assignee", "Assignee", "user", true, &["assignee"]),
    field("reporter", "Reporter", "user", true, &["reporter"]),
    field("creator", "Creator", "user", false, &["creator"]),
    Field {
        schema_items: Some("string"),
        ..field("labels", "Labels", "array", true, &["labels"])
    },
    field(
        "created",
        "Created",
        "datetime",
        false,
        &["created", "createdDate"],
    ),
    field(
        "updated",
        "Updated",
        "datetime",
        false,
        &["updated", "updatedDate"],
    ),
    Field {
        schema_items: Some("comment"),
        navigable: false,
        orderable: true,
        ..field("comment", "Comment", "comments-page", true, &["comment"])
    },
    Field {
        schema_items: Some("version"),
        orderable: false,
        ..field(
            "fixVersions",
            "Fix Version/s",
            "array",
            true,
            &["fixVersion"],
        )
    },
    Field {
        schema_items: Some("version"),
        orderable: false,
        ..field(
            "versions",
            "Affects Version/s",
            "array",
            true,
            &["affectedVersion"],
        )
    },
    Field {
        schema_items: Some("component"),
        orderable: false,
        ..field("components", "Component/s", "array", true, &["component"])
    },
    Field {
        schema_items: Some("attachment"),
        orderable: false,
        searchable: false,
        ..field("attachment", "Attachment", "array", false, &[])
    },
    Field {
        schema_items: Some("issuelinks"),
        orderable: false,
        searchable: false,
        ..field("issuelinks", "Linked Issues", "array", false, &[])
    },
    // Time tracking, in seconds (null until set or logged), and as Jira's durations; not
    // searchable in JQL yet.
    Field {
        orderable: false,
        searchable: false,
        ..field("timespent", "Time Spent", "number", false, &[])
    },
    Field {
        orderable: false,
        searchable: false,
        ..field("timeestimate", "Remaining Estimate", "number", false, &[])
    },
    Field {
        orderable: false,
        searchable: false,
        ..field(
            "timeoriginalestimate",
            "Original Estimate",
            "number",
            false,
            &[],
        )
    },
    Field {
        navigable: false,
        orderable: false,
        searchable: false,
        ..field("timetracking", "Time tracking", "timetracking", true, &[])
    },
    // Not navigable (as comments): an issue's worklogs are a read of their own.
    Field {
        schema_items: Some("worklog"),
        navigable: false,
        orderable: false,
        searchable: false,
        ..field("worklog", "Log Work", "array", false, &[])
    },
    // Not navigable in tessera (Jira's is): counting an issue's watchers is a read of its own,
    // so a search shows them only when `fields` asks.
    Field {
        navigable: false,
        orderable: false,
        searchable: false,
        ..field("watches", "Watchers", "watches", false, &[])
    },
    // As `watches`: only when `fields` asks.
    Field {
        navigable: false,
        orderable: false,
        searchable: false,
        ..field("votes", "Votes", "votes", false, &[])
    },
    Field {
        navigable: true,
        orderable: false,
        ..field(
            "issuekey",
            "Key",
            "string",
            false,
            &["id", "issue", "issuekey", "key"],
        )
    },
];

pub fn find_field(id: &str) -> Option<&'static Field> {
    FIELDS.iter().find(|f| f.id == id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workflow_is_a_chain_with_back_steps() {
        let from = |s: Status| s.transitions().map(|t| t.to()).collect::<Vec<_>>();
        assert_eq!(from(Status::ToDo), vec![Status::InProgress]);
        assert_eq!(from(Status::InProgress), vec![Status::ToDo, Status::Done]);
        assert_eq!(from(Status::Done), vec![Status::InProgress]);
    }

    #[test]
    fn ids_are_unique_and_round_trip() {
        for t in IssueType::ALL {
            assert_eq!(IssueType::from_id(t.id()), Some(t));
            assert_eq!(IssueType::from_name(&t.name().to_lowercase()), Some(t));
        }
        for p in Priority::ALL {
            assert_eq!(Priority::from_id(p.id()), Some(p));
        }
        for s in Status::ALL {
            assert_eq!(Status::from_id(s.id()), Some(s));
        }
        for r in Resolution::ALL {
            assert_eq!(Resolution::from_id(r.id()), Some(r));
        }
        for t in Transition::ALL {
            assert_eq!(Transition::from_id(t.id()), Some(t));
            assert_eq!(Transition::from_name(t.name()), Some(t));
        }
        let mut ids: Vec<_> = FIELDS.iter().map(|f| f.id).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), FIELDS.len());
    }
}
