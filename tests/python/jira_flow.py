"""The everyday Jira flow, driven by the Python `jira` package against a running tessera.

Run by the Rust test suite (crates/server/tests/it/python_client.rs), which starts the server,
seeds a project and a read-only user, and passes their names. Exits non-zero on any failure.
"""

import argparse
import datetime
import io
import sys
import time
import warnings

import jira
from jira.exceptions import JIRAError

warnings.simplefilter("ignore", DeprecationWarning)


def check(condition, message):
    if not condition:
        raise AssertionError(message)


def expect_status(status, call):
    try:
        call()
    except JIRAError as error:
        check(error.status_code == status, f"expected HTTP {status}, got {error.status_code}: {error.text}")
        return
    raise AssertionError(f"expected HTTP {status}, the call succeeded")


def connect(url, user, secret, method):
    if method in ("basic", "basic-token"):
        return jira.JIRA(url, basic_auth=(user, secret), max_retries=0)
    if method == "cookie":
        return jira.JIRA(url, auth=(user, secret), max_retries=0)
    if method == "token":
        return jira.JIRA(url, token_auth=secret, max_retries=0)
    raise ValueError(method)


def is_token(method):
    return method in ("token", "basic-token")


# The credential kind tessera records in the changelog for each way of authenticating.
CREDENTIAL_KIND = {
    "basic": "basic_password",
    "cookie": "session",
    "token": "bearer_token",
    "basic-token": "basic_token",
}

# Issues made for the paging check, and the page size: three pages, the last one short.
PAGED_ISSUES = 7
PAGE_SIZE = 3


def page_through(client, jql):
    """Every issue the query finds, read a page at a time as a client pages: by startAt,
    trusting `total`. Returns the keys in the order read and the totals each page gave."""
    keys, totals, start = [], [], 0
    while True:
        page = client.search_issues(jql, startAt=start, maxResults=PAGE_SIZE, fields="summary")
        totals.append(page.total)
        keys.extend(issue.key for issue in page)
        start += len(page)
        if len(page) == 0 or start >= page.total:
            return keys, totals


def flow(args, method):
    secret = args.token if is_token(method) else args.password
    client = connect(args.url, args.user, secret, method)
    info = client.server_info()
    check(info["deploymentType"] == "Server", info)
    check(client.myself()["name"] == args.user, "myself")
    check(args.project in [p.key for p in client.projects()], "projects lists the project")
    project = client.project(args.project)
    check(any(t.name == "Task" for t in project.issueTypes), "issue types of the project")
    check(any(f["id"] == "summary" for f in client.fields()), "fields")
    # What a form needs to create an issue (Jira 8.4+ endpoints, which the client uses
    # against the Jira 9 that tessera reports).
    check(sorted(t.name for t in client.project_issue_types(args.project)) == ["Bug", "Story", "Task"],
          "issue types to create")
    create_fields = {f.fieldId: f for f in client.project_issue_fields(args.project, "3")}
    check(create_fields["summary"].required and "priority" in create_fields, "fields to create")

    issue = client.create_issue(
        project=args.project,
        summary=f"Created with {method} auth",
        description="made by the python jira package",
        issuetype={"name": "Task"},
        labels=["python"],
    )
    check(issue.key.startswith(args.project + "-"), issue.key)
    again = client.issue(issue.key)
    check(again.fields.summary == f"Created with {method} auth", "read back")
    check(again.fields.status.name == "To Do", again.fields.status.name)
    check(again.fields.labels == ["python"], again.fields.labels)

    # JQL search paging through several pages: each issue exactly once, `total` exact.
    label = f"paged-{method}"
    paged = [issue.key] + [
        client.create_issue(project=args.project, summary=f"paged {n}", issuetype={"name": "Task"},
                            labels=["python", label]).key
        for n in range(PAGED_ISSUES - 1)
    ]
    client.issue(issue.key).update(update={"labels": [{"add": label}]})
    keys, totals = page_through(client, f"project = {args.project} AND labels = {label} ORDER BY key")
    check(totals == [PAGED_ISSUES] * 3, totals)
    check(len(keys) == len(set(keys)) and sorted(keys) == sorted(paged), (keys, paged))
    keys, _ = page_through(client, f"labels = {label} ORDER BY created DESC")
    check(sorted(keys) == sorted(paged), "newest first pages alike")
    # maxResults=False has the client read every page itself, trusting `total`.
    jql = f"project = {args.project} AND labels = python ORDER BY key"
    hits = client.search_issues(jql, maxResults=False)
    check(issue.key in [hit.key for hit in hits], "search finds the issue")
    check(hits.total == len(hits), (hits.total, len(hits)))
    one = client.search_issues(f"key = {issue.key}", fields="summary,labels")
    check(len(one) == 1 and one[0].fields.labels == ["paged-" + method, "python"], "search by key with fields")
    check(one[0].fields.summary == f"Created with {method} auth", "search shows the summary")
    expect_status(400, lambda: client.search_issues(f"project = {args.project} AND"))

    comment = client.add_comment(issue, "a comment from python")
    check(comment.body == "a comment from python", "comment body")
    check([c.body for c in client.comments(issue)] == ["a comment from python"], "comments listed")
    comment.update(body="an edited comment")
    check(client.comment(issue.key, comment.id).body == "an edited comment", "comment edited")

    # An administrator makes a project the client's way (it reads the permission, issue
    # security and category schemes first) and deletes it with its issues.
    if method == "basic":
        key = "PYMADE"
        check(client.create_project(key, name="Made by python"), "project created")
        made = client.create_issue(project=key, summary="goes with it", issuetype={"name": "Task"})
        # Versions and components, as release reporting reads and writes them.
        version = client.create_version("1.0", key, description="first", releaseDate="2026-03-01")
        later = client.create_version("2.0", key)
        check([v.name for v in client.project_versions(key)] == ["1.0", "2.0"], "versions listed")
        client.move_version(later.id, position="First")
        check([v.name for v in client.project_versions(key)] == ["2.0", "1.0"], "version moved")
        version.update(released=True)
        check(client.version(version.id).released is True, "version released")
        component = client.create_component("API", key, description="the REST API", leadUserName=args.user)
        check(client.component(component.id).lead.name == args.user, "component lead")
        check([c.name for c in client.project_components(key)] == ["API"], "components listed")
        component.delete()
        version.delete()
        check([v.name for v in client.project_versions(key)] == ["2.0"], "version deleted")
        # The pickers a form fills its fields from.
        check(args.user in [u.name for u in client.search_assignable_users_for_issues(username=args.user, project=key)],
              "assignable users")
        check("jira-users" in client.groups(query="jira"), "groups picker")
        check(client.delete_project(key), "project deleted")
        expect_status(404, lambda: client.issue(made.key))

    # Worklogs, as time-tracking and payroll integrations log and read them.
    started = datetime.datetime(2026, 1, 15, 9, 0, tzinfo=datetime.timezone.utc)
    worklog = client.add_worklog(issue, timeSpent="1h 30m", comment="logged from python", started=started,
                                 adjustEstimate="new", newEstimate="1d")
    check(worklog.timeSpentSeconds == 5400 and worklog.timeSpent == "1h 30m", worklog.raw)
    check(worklog.started == "2026-01-15T09:00:00.000+0000", worklog.started)
    check([w.id for w in client.worklogs(issue.key)] == [worklog.id], "worklogs listed")
    check(client.worklog(issue.key, worklog.id).comment == "logged from python", "worklog read")
    tracked = client.issue(issue.key, fields="timetracking").fields.timetracking
    check(tracked.timeSpentSeconds == 5400 and tracked.remainingEstimateSeconds == 28800, tracked.raw)
    worklog.update(timeSpent="2h")
    check(client.worklog(issue.key, worklog.id).timeSpentSeconds == 7200, "worklog changed")
    worklog.delete(adjustEstimate="leave")
    check(client.worklogs(issue.key) == [], "worklog deleted")
    check(client.issue(issue.key, fields="timespent").fields.timespent is None, "no time spent left")

    # Links, remote links, attachments and bulk creation, the client's way.
    other = client.create_issue(project=args.project, summary="linked from python", issuetype={"name": "Task"})
    paged.append(other.key)
    check("Blocks" in [t.name for t in client.issue_link_types()], "link types")
    # The client turns the outward words ("blocks") into the type's name.
    client.create_issue_link("blocks", issue.key, other.key)
    links = client.issue(issue.key).fields.issuelinks
    check(len(links) == 1 and links[0].type.name == "Blocks" and links[0].outwardIssue.key == other.key,
          "issue linked")
    check(client.issue(other.key).fields.issuelinks[0].inwardIssue.key == issue.key, "linked both ways")
    client.delete_issue_link(links[0].id)
    check(client.issue(issue.key).fields.issuelinks == [], "link deleted")
    client.add_simple_link(issue.key, {"url": "https://example.com/doc", "title": "The doc"})
    check([link.object.title for link in client.remote_links(issue.key)] == ["The doc"], "remote link")
    attachment = client.add_attachment(issue.key, io.BytesIO(b"bytes from python"), filename="notes.txt")
    check(attachment.filename == "notes.txt" and attachment.size == 17, attachment.raw)
    check(client.attachment(attachment.id).get() == b"bytes from python", "attachment downloaded")
    check([a.filename for a in client.issue(issue.key).fields.attachment] == ["notes.txt"], "attachment field")
    client.delete_attachment(attachment.id)
    check(client.issue(issue.key).fields.attachment == [], "attachment deleted")
    made = client.create_issues([
        {"project": args.project, "summary": f"bulk {n}", "issuetype": {"name": "Task"}} for n in range(2)
    ])
    check([m["status"] for m in made] == ["Success", "Success"], made)
    paged.extend(m["issue"].key for m in made)

    names = [t["name"] for t in client.transitions(issue)]
    check(names == ["In Progress"], names)
    client.transition_issue(issue, "In Progress")
    client.transition_issue(issue, "31", comment="done, says python")
    done = client.issue(issue.key)
    check(done.fields.status.name == "Done", done.fields.status.name)
    check(done.fields.resolution.name == "Done", "resolution set")
    check(any(c.body == "done, says python" for c in client.comments(issue)), "transition comment")

    client.assign_issue(issue, args.user)
    check(client.issue(issue.key).fields.assignee.name == args.user, "assigned")
    client.assign_issue(issue, None)
    check(client.issue(issue.key).fields.assignee is None, "unassigned")

    editable = client.editmeta(issue.key)["fields"]
    check({"summary", "labels", "priority", "resolution"} <= set(editable), sorted(editable))
    issue.update(summary="Updated by python", labels=["python", "updated"], priority={"name": "High"})
    updated = client.issue(issue.key, expand="changelog")
    check(updated.fields.summary == "Updated by python", "summary updated")
    check(sorted(updated.fields.labels) == ["python", "updated"], updated.fields.labels)
    check(updated.fields.priority.name == "High", updated.fields.priority.name)
    # The change is in the changelog, with the credential that made it.
    last = updated.changelog.histories[-1]
    changed = {item.field: item for item in last.items}
    check({"summary", "labels", "priority"} <= set(changed), sorted(changed))
    check(changed["priority"].fromString == "Medium" and changed["priority"].toString == "High", "priority item")
    check(changed["summary"].toString == "Updated by python", "summary item")
    check(last.author.name == args.user, last.author.name)
    kind = last.tessera.credential.kind
    check(kind == CREDENTIAL_KIND[method], (kind, method))
    statuses = [item.toString for h in updated.changelog.histories for item in h.items if item.field == "status"]
    check(statuses == ["In Progress", "Done"], statuses)
    # A resolved issue's resolution can be corrected.
    issue.update(fields={"resolution": {"name": "Won't Do"}})
    check(client.issue(issue.key).fields.resolution.name == "Won't Do", "resolution changed")
    issue.update(fields={"description": None}, update={"labels": [{"remove": "python"}]})
    updated = client.issue(issue.key)
    check(updated.fields.description is None and updated.fields.labels == ["updated"], "update operations")

    # A user who may browse but not edit (or, with tokens, a READ-scoped token of a user who
    # could): reads work, edits are refused with 403.
    if is_token(method):
        reader = connect(args.url, args.user, args.read_token, method)
        expect_status(403, lambda: reader.create_issue(
            project=args.project, summary="refused", issuetype={"name": "Task"}))
        # A token restricted to one project: the other does not exist for it.
        restricted = connect(args.url, args.user, args.restricted_token, method)
        check(restricted.project(args.project).key == args.project, "restricted token sees its project")
        expect_status(404, lambda: restricted.project(args.other_project))
        check([p.key for p in restricted.projects()] == [args.project], "restricted token lists one project")
        check(all(hit.key.startswith(args.project + "-") for hit in restricted.search_issues("", maxResults=False)),
              "a restricted token finds only its project's issues")
        expect_status(400, lambda: restricted.search_issues(f"project = {args.other_project}"))
        restricted.close()
    else:
        reader = connect(args.url, args.reader, args.reader_password, method)
    check(reader.issue(issue.key).fields.summary == "Updated by python", "reader reads")

    # Watchers: the reporter watches; project administrators add and remove others; a
    # reader watches only themselves, and a READ token not at all.
    watchers = client.watchers(issue.key)
    check([w.name for w in watchers.watchers] == [args.user] and watchers.watchCount == 1, "reporter watches")
    client.add_watcher(issue.key, args.reader)
    check(sorted(w.name for w in client.watchers(issue.key).watchers) == sorted([args.user, args.reader]),
          "watcher added")
    client.remove_watcher(issue.key, args.reader)
    check([w.name for w in client.watchers(issue.key).watchers] == [args.user], "watcher removed")
    check(reader.watchers(issue.key).watchCount == 1, "reader sees the watchers")
    expect_status(403, lambda: reader.add_watcher(issue.key, args.user))
    if not is_token(method):
        reader.add_watcher(issue.key, args.reader)
        check(reader.watchers(issue.key).isWatching, "reader watches")
        reader.remove_watcher(issue.key, args.reader)
        check(not reader.watchers(issue.key).isWatching, "reader stopped watching")
    check([hit.key for hit in reader.search_issues(f"key = {issue.key}")] == [issue.key], "reader searches")
    # Votes: not for one's own issue; a READ token may not vote.
    expect_status(404, lambda: client.add_vote(other.key))
    if is_token(method):
        expect_status(403, lambda: reader.add_vote(other.key))
    else:
        reader.add_vote(other.key)
        votes = client.votes(other.key)
        check(votes.votes == 1 and not votes.hasVoted, votes.raw)
        reader.remove_vote(other.key)
        check(client.votes(other.key).votes == 0, "vote taken back")
    expect_status(403, lambda: reader.issue(issue.key).update(summary="not allowed"))
    expect_status(403, lambda: reader.transition_issue(issue.key, "21"))

    for key in paged:
        client.issue(key).delete()
    expect_status(404, lambda: client.issue(issue.key))
    expect_status(404, lambda: client.issue(f"{args.project}-999999"))
    client.close()
    reader.close()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--user", required=True)
    parser.add_argument("--password", required=True)
    parser.add_argument("--reader", required=True)
    parser.add_argument("--reader-password", required=True)
    parser.add_argument("--project", required=True)
    parser.add_argument("--token", help="a token of --user with every scope")
    parser.add_argument("--read-token", help="a READ-scoped token of --user")
    parser.add_argument("--restricted-token", help="a token of --user limited to --project")
    parser.add_argument("--other-project", help="a project --user sees, outside the restriction")
    parser.add_argument("--auth", action="append", choices=["basic", "cookie", "token", "basic-token"], required=True)
    args = parser.parse_args()
    started = time.monotonic()
    for method in args.auth:
        flow(args, method)
        print(f"{method}: ok")
    print(f"python flow: {time.monotonic() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
