//! Reads Jira's issue request bodies: `fields` (set values) and `update` (operations such as
//! `{"labels":[{"add":"x"}]}` or `{"comment":[{"add":{"body":"..."}}]}`), reporting every
//! problem at once in Jira's field-error shape. Unknown top-level keys (`notifyUsers`,
//! `properties`, ...) are ignored; `null` envelope members count as absent.

use serde_json::{Map, Value};
use tessera_core::authz::{IssueRef, ProjectRef};
use tessera_core::error::FieldErrors;
use tessera_core::model::Planned;
use tessera_core::services::NamedRef;
use tessera_core::services::issues::{
    Assignee, IssueInput, PlannedInput, TimeTrackingInput, TransitionRef,
};

use crate::error::ApiError;

/// Which request the body belongs to; it decides which fields may appear.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Create,
    Edit,
    Transition,
}

fn cannot_set(errors: &mut FieldErrors, field: &str) {
    errors.add_field(
        field,
        format!("Field '{field}' cannot be set. It is not on the appropriate screen, or unknown."),
    );
}

/// A catalogue entry given as `{"id": "3"}`, `{"id": 3}` or `{"name": "Task"}`.
fn named_ref(value: &Value) -> Option<NamedRef> {
    let object = value.as_object()?;
    match (object.get("id"), object.get("name")) {
        (Some(Value::String(id)), _) => id.trim().parse().ok().map(NamedRef::Id),
        (Some(Value::Number(id)), _) => id.as_i64().map(NamedRef::Id),
        (_, Some(Value::String(name))) => Some(NamedRef::Name(name.clone())),
        _ => None,
    }
}

fn text(value: &Value) -> Option<String> {
    value.as_str().map(String::from)
}

/// `{"name": "alice"}`, `{"name": null}`, `null`, or `{"name": "-1"}` (automatic).
pub fn assignee(value: &Value) -> Option<Assignee> {
    match value {
        Value::Null => Some(Assignee::Nobody),
        Value::Object(object) => match object.get("name") {
            Some(Value::Null) => Some(Assignee::Nobody),
            Some(Value::String(name)) if name == "-1" => Some(Assignee::Automatic),
            Some(Value::String(name)) if name.trim().is_empty() => Some(Assignee::Nobody),
            Some(Value::String(name)) => Some(Assignee::User(name.clone())),
            _ => None,
        },
        _ => None,
    }
}

fn reporter(value: &Value) -> Option<Option<String>> {
    match value {
        Value::Null => Some(None),
        Value::Object(object) => match object.get("name") {
            Some(Value::String(name)) => Some(Some(name.clone())),
            Some(Value::Null) => Some(None),
            _ => None,
        },
        _ => None,
    }
}

/// `[{"id": "10000"}, {"name": "1.0"}]`.
fn named_list(value: &Value) -> Option<Vec<NamedRef>> {
    value.as_array()?.iter().map(named_ref).collect()
}

/// The operations on the version or component list `field`, made on first use.
fn planned_input<'a>(input: &'a mut IssueInput, field: &str) -> &'a mut PlannedInput {
    let list = match field {
        "fixVersions" => Planned::FixVersions,
        "versions" => Planned::Versions,
        _ => Planned::Components,
    };
    let at = match input.planned.iter().position(|p| p.list == list) {
        Some(at) => at,
        None => {
            input.planned.push(PlannedInput::new(list));
            input.planned.len() - 1
        }
    };
    &mut input.planned[at]
}

/// `{"originalEstimate": "1d", "remainingEstimate": "4h"}` (either, or both).
fn time_tracking(value: &Value) -> Option<TimeTrackingInput> {
    let object = value.as_object()?;
    let duration = |name: &str| match object.get(name) {
        None | Some(Value::Null) => Some(None),
        Some(Value::String(text)) => Some(Some(text.clone())),
        // A bare number is minutes, as in Jira's duration syntax.
        Some(Value::Number(n)) => n.as_u64().map(|m| Some(m.to_string())),
        Some(_) => None,
    };
    Some(TimeTrackingInput {
        original: duration("originalEstimate")?,
        remaining: duration("remainingEstimate")?,
    })
}

fn string_list(value: &Value) -> Option<Vec<String>> {
    value
        .as_array()?
        .iter()
        .map(|v| v.as_str().map(String::from))
        .collect()
}

/// Sets one field from a value (`fields.x`, or `update.x` with `set`).
fn set_field(
    input: &mut IssueInput,
    errors: &mut FieldErrors,
    mode: Mode,
    field: &str,
    value: &Value,
) {
    // `null` means absent (JIRA-COMPAT), except where Jira gives it a meaning of its own:
    // no description, nobody assigned.
    if value.is_null() && !matches!(field, "description" | "assignee") {
        return;
    }
    let invalid = |errors: &mut FieldErrors, what: &str| {
        errors.add_field(
            field,
            format!("The value given for '{field}' is invalid: expected {what}."),
        );
    };
    match field {
        "summary" => match text(value) {
            Some(summary) => input.summary = Some(summary),
            None => invalid(errors, "a string"),
        },
        "description" => match value {
            Value::Null => input.description = Some(None),
            Value::String(text) => input.description = Some(Some(text.clone())),
            _ => invalid(errors, "a string or null"),
        },
        "issuetype" => match named_ref(value) {
            Some(choice) => input.issue_type = Some(choice),
            None => invalid(errors, "an object with an id or a name"),
        },
        "priority" => match named_ref(value) {
            Some(choice) => input.priority = Some(choice),
            None => invalid(errors, "an object with an id or a name"),
        },
        "resolution" => match named_ref(value) {
            Some(choice) => input.resolution = Some(choice),
            None => invalid(errors, "an object with an id or a name"),
        },
        "assignee" => match assignee(value) {
            Some(choice) => input.assignee = Some(choice),
            None => invalid(errors, "an object with a name, or null"),
        },
        "reporter" if mode != Mode::Transition => match reporter(value) {
            Some(choice) => input.reporter = Some(choice),
            None => invalid(errors, "an object with a name"),
        },
        "labels" => match string_list(value) {
            Some(labels) => input.labels.set = Some(labels),
            None => invalid(errors, "an array of strings"),
        },
        "fixVersions" | "versions" | "components" => match named_list(value) {
            Some(refs) => planned_input(input, field).set = Some(refs),
            None => invalid(errors, "an array of objects with an id or a name"),
        },
        "timetracking" => match time_tracking(value) {
            Some(tracking) => input.time_tracking = Some(tracking),
            None => invalid(
                errors,
                "an object with originalEstimate and remainingEstimate as durations such as 1d 4h",
            ),
        },
        "project" if mode == Mode::Create => {}
        _ => cannot_set(errors, field),
    }
}

/// Applies `update.field` operations.
fn update_field(
    input: &mut IssueInput,
    errors: &mut FieldErrors,
    mode: Mode,
    field: &str,
    ops: &Value,
) {
    let Some(ops) = ops.as_array() else {
        errors.add_field(
            field,
            format!("The operations for '{field}' must be an array."),
        );
        return;
    };
    // Bare values (`{"labels": ["a", "b"]}`, as the Python client sends for list keyword
    // arguments) mean "set to these".
    let bare: Vec<&Value> = ops.iter().filter(|op| !op.is_object()).collect();
    if !bare.is_empty() {
        if field == "labels" {
            set_field(
                input,
                errors,
                mode,
                field,
                &Value::Array(bare.into_iter().cloned().collect()),
            );
        } else if let [value] = bare.as_slice() {
            set_field(input, errors, mode, field, value);
        } else {
            errors.add_field(field, format!("Field '{field}' takes one value."));
        }
    }
    for op in ops.iter().filter(|op| op.is_object()) {
        let Some((verb, value)) = op.as_object().and_then(|o| o.iter().next()) else {
            errors.add_field(field, format!("An operation for '{field}' is malformed."));
            continue;
        };
        match (field, verb.as_str()) {
            ("fixVersions" | "versions" | "components", "add" | "remove" | "set") => {
                let refs = if verb == "set" {
                    named_list(value)
                } else {
                    named_ref(value).map(|r| vec![r])
                };
                match refs {
                    Some(refs) => {
                        let ops = planned_input(input, field);
                        match verb.as_str() {
                            "add" => ops.add.extend(refs),
                            "remove" => ops.remove.extend(refs),
                            _ => ops.set = Some(refs),
                        }
                    }
                    None => errors.add_field(
                        field,
                        format!("A value of '{field}' is an object with an id or a name."),
                    ),
                }
            }
            ("labels", "add") | ("labels", "remove") => match value.as_str() {
                Some(label) if verb == "add" => input.labels.add.push(label.to_string()),
                Some(label) => input.labels.remove.push(label.to_string()),
                None => errors.add_field(field, "A label must be a string."),
            },
            ("comment", "add") => match value.get("body").and_then(Value::as_str) {
                Some(body) if value.get("visibility").is_none_or(Value::is_null) => {
                    input.comments.push(body.to_string())
                }
                Some(_) => {
                    errors.add_field(field, "Comment visibility restrictions are not supported.")
                }
                None => errors.add_field(field, "A comment to add needs a body."),
            },
            (_, "set") if field != "comment" => set_field(input, errors, mode, field, value),
            _ => errors.add_field(
                field,
                format!("The operation '{verb}' is not supported for field '{field}'."),
            ),
        }
    }
}

fn envelope<'a>(
    body: &'a Value,
    key: &str,
    errors: &mut FieldErrors,
) -> Option<&'a Map<String, Value>> {
    match body.get(key) {
        None | Some(Value::Null) => None,
        Some(Value::Object(map)) => Some(map),
        Some(_) => {
            errors.add_message(format!("'{key}' must be an object."));
            None
        }
    }
}

/// Reads `fields` and `update`.
pub fn parse(body: &Value, mode: Mode) -> Result<IssueInput, ApiError> {
    if !body.is_object() {
        return Err(ApiError::bad_request(
            "The request body must be a JSON object.",
        ));
    }
    let mut errors = FieldErrors::default();
    let mut input = IssueInput::default();
    let fields = envelope(body, "fields", &mut errors);
    let update = envelope(body, "update", &mut errors);
    for (field, value) in fields.into_iter().flatten() {
        set_field(&mut input, &mut errors, mode, field, value);
    }
    for (field, ops) in update.into_iter().flatten() {
        if fields.is_some_and(|f| f.contains_key(field)) {
            errors.add_field(
                field.as_str(),
                format!("Field '{field}' cannot appear in both 'fields' and 'update'."),
            );
            continue;
        }
        update_field(&mut input, &mut errors, mode, field, ops);
    }
    if errors.is_empty() {
        Ok(input)
    } else {
        Err(ApiError::BadRequest(errors))
    }
}

/// The project of a create request: `fields.project` as `{"key": ..}` or `{"id": ..}`.
pub fn project_of(body: &Value) -> Result<ProjectRef, ApiError> {
    let project = body.get("fields").and_then(|f| f.get("project"));
    let reference = match project.and_then(Value::as_object) {
        Some(object) => match (object.get("id"), object.get("key")) {
            (Some(Value::String(id)), _) => Some(ProjectRef::parse(id.trim())),
            (Some(Value::Number(id)), _) => Some(ProjectRef::parse(&id.to_string())),
            (_, Some(Value::String(key))) => Some(ProjectRef::Key(key.trim().to_ascii_uppercase())),
            _ => None,
        },
        None => None,
    };
    reference.ok_or_else(|| ApiError::field("project", "project is required"))
}

/// The transition of `POST issue/{key}/transitions`: `{"transition": {"id": "21"}}` (id as a
/// string or a number), or `{"transition": {"name": "Done"}}`.
pub fn transition_of(body: &Value) -> Result<TransitionRef, ApiError> {
    let transition = body.get("transition");
    let reference = match transition {
        Some(Value::Object(object)) => match (object.get("id"), object.get("name")) {
            (Some(Value::String(id)), _) => Some(TransitionRef::Id(id.clone())),
            (Some(Value::Number(id)), _) => Some(TransitionRef::Id(id.to_string())),
            (_, Some(Value::String(name))) => Some(TransitionRef::Name(name.clone())),
            _ => None,
        },
        Some(Value::String(id)) => Some(TransitionRef::Id(id.clone())),
        Some(Value::Number(id)) => Some(TransitionRef::Id(id.to_string())),
        _ => None,
    };
    reference.ok_or_else(|| {
        ApiError::field(
            "transition",
            "A transition is required: {\"transition\": {\"id\": \"21\"}}.",
        )
    })
}

/// The issue of a path: id or key.
pub fn issue_ref(text: &str) -> IssueRef {
    IssueRef::parse(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn fields_and_update_combine() {
        let body = json!({
            "fields": {"summary": "s", "description": null, "priority": {"id": 2}, "assignee": {"name": "bob"}},
            "update": {"labels": [{"add": "x"}, {"remove": "y"}], "comment": [{"add": {"body": "hi"}}]},
            "notifyUsers": false
        });
        let input = parse(&body, Mode::Edit).unwrap();
        assert_eq!(input.summary.as_deref(), Some("s"));
        assert_eq!(input.description, Some(None));
        assert_eq!(input.priority, Some(NamedRef::Id(2)));
        assert_eq!(input.assignee, Some(Assignee::User("bob".into())));
        assert_eq!(input.labels.add, ["x"]);
        assert_eq!(input.labels.remove, ["y"]);
        assert_eq!(input.comments, ["hi"]);
    }

    #[test]
    fn problems_are_reported_per_field() {
        let body = json!({
            "fields": {"summary": 3, "status": {"id": "3"}, "labels": "x", "project": {"key": "A"}},
            "update": {"summary": [{"set": "again"}], "labels": [{"edit": "x"}]}
        });
        let Err(ApiError::BadRequest(errors)) = parse(&body, Mode::Edit) else {
            panic!()
        };
        for field in ["summary", "status", "labels", "project"] {
            assert!(errors.fields.contains_key(field), "{field}: {errors:?}");
        }
        assert!(errors.fields["status"].contains("cannot be set"));
        assert!(parse(&json!([1]), Mode::Edit).is_err());
        assert!(parse(&json!({"fields": 1}), Mode::Edit).is_err());
        assert_eq!(
            parse(&json!({"fields": null, "update": null}), Mode::Edit).unwrap(),
            IssueInput::default()
        );
    }

    #[test]
    fn null_members_are_absent_except_where_they_clear() {
        let body = json!({"fields": {"summary": null, "priority": null, "labels": null, "reporter": null,
            "components": null, "description": null, "assignee": null}});
        let input = parse(&body, Mode::Edit).unwrap();
        assert_eq!(input.summary, None);
        assert_eq!(input.priority, None);
        assert_eq!(input.labels.set, None);
        assert_eq!(input.reporter, None);
        assert_eq!(input.description, Some(None));
        assert_eq!(input.assignee, Some(Assignee::Nobody));
    }

    #[test]
    fn bare_update_values_set_the_field() {
        let input = parse(&json!({"update": {"labels": ["a", "b"]}}), Mode::Edit).unwrap();
        assert_eq!(
            input.labels.set,
            Some(vec!["a".to_string(), "b".to_string()])
        );
        let input = parse(&json!({"update": {"summary": ["s"]}}), Mode::Edit).unwrap();
        assert_eq!(input.summary.as_deref(), Some("s"));
        assert!(parse(&json!({"update": {"labels": [1]}}), Mode::Edit).is_err());
        assert!(parse(&json!({"update": {"labels": [{}]}}), Mode::Edit).is_err());
    }

    #[test]
    fn assignee_forms() {
        assert_eq!(assignee(&json!(null)), Some(Assignee::Nobody));
        assert_eq!(assignee(&json!({"name": null})), Some(Assignee::Nobody));
        assert_eq!(assignee(&json!({"name": "-1"})), Some(Assignee::Automatic));
        assert_eq!(
            assignee(&json!({"name": "al"})),
            Some(Assignee::User("al".into()))
        );
        assert_eq!(assignee(&json!({})), None);
        assert_eq!(assignee(&json!("al")), None);
    }

    #[test]
    fn references() {
        assert_eq!(
            project_of(&json!({"fields": {"project": {"key": "abc"}}})).unwrap(),
            ProjectRef::Key("ABC".into())
        );
        assert_eq!(
            project_of(&json!({"fields": {"project": {"id": 10000}}})).unwrap(),
            ProjectRef::Id(tessera_core::ids::ProjectId(10000))
        );
        assert!(project_of(&json!({"fields": {"project": "ABC"}})).is_err());
        assert_eq!(
            transition_of(&json!({"transition": {"id": 21}})).unwrap(),
            TransitionRef::Id("21".into())
        );
        assert_eq!(
            transition_of(&json!({"transition": {"name": "Done"}})).unwrap(),
            TransitionRef::Name("Done".into())
        );
        assert!(transition_of(&json!({})).is_err());
        let visible = json!({"update": {"comment": [{"add": {"body": "x", "visibility": {"type": "role", "value": "Administrators"}}}]}});
        assert!(
            parse(&visible, Mode::Edit).is_err(),
            "restricted comments are refused, not silently made public"
        );
    }
}
