"""The everyday Jira flow, driven by the Python `jira` package against a running tessera.

Run by the Rust test suite (crates/server/tests/python_client.rs), which starts the server,
seeds a project and a read-only user, and passes their names. Exits non-zero on any failure.
"""

import argparse
import sys
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

    # JQL search as the client pages it (maxResults=False reads every page, trusting `total`).
    jql = f"project = {args.project} AND labels = python ORDER BY key"
    hits = client.search_issues(jql, maxResults=False)
    check(issue.key in [hit.key for hit in hits], "search finds the issue")
    check(hits.total == len(hits), (hits.total, len(hits)))
    one = client.search_issues(f"key = {issue.key}", fields="summary,labels")
    check(len(one) == 1 and one[0].fields.labels == ["python"], "search by key with fields")
    check(one[0].fields.summary == f"Created with {method} auth", "search shows the summary")
    expect_status(400, lambda: client.search_issues(f"project = {args.project} AND"))

    comment = client.add_comment(issue, "a comment from python")
    check(comment.body == "a comment from python", "comment body")
    check([c.body for c in client.comments(issue)] == ["a comment from python"], "comments listed")
    comment.update(body="an edited comment")
    check(client.comment(issue.key, comment.id).body == "an edited comment", "comment edited")

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

    issue.update(summary="Updated by python", labels=["python", "updated"])
    updated = client.issue(issue.key)
    check(updated.fields.summary == "Updated by python", "summary updated")
    check(sorted(updated.fields.labels) == ["python", "updated"], updated.fields.labels)
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
    check([hit.key for hit in reader.search_issues(f"key = {issue.key}")] == [issue.key], "reader searches")
    expect_status(403, lambda: reader.issue(issue.key).update(summary="not allowed"))
    expect_status(403, lambda: reader.transition_issue(issue.key, "21"))

    issue.delete()
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
    for method in args.auth:
        flow(args, method)
        print(f"{method}: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
