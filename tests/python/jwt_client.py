#!/usr/bin/env python3
"""The Python Jira client with `token_auth=` set to a JWT from an identity provider tessera
trusts (the way its users pass a bearer token): it reads who it is, creates an issue,
comments and searches, as the user the JWT names.

Usage: jwt_client.py --url BASE --token JWT --user NAME --project KEY
Prints "jwt: ok" on success; any failure exits non-zero saying which step failed.
"""

import argparse
import sys

from jira import JIRA


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--user", required=True)
    parser.add_argument("--project", required=True)
    args = parser.parse_args()
    client = JIRA(args.url, token_auth=args.token, max_retries=0)
    me = client.current_user()
    if me != args.user:
        sys.exit(f"jwt: FAILED: the client is {me}, not {args.user}")
    issue = client.create_issue(project=args.project, summary="from an SSO user", issuetype={"name": "Task"})
    client.add_comment(issue, "signed in elsewhere")
    found = [i.key for i in client.search_issues(f"key = {issue.key}")]
    if found != [issue.key]:
        sys.exit(f"jwt: FAILED: search found {found}")
    if len(client.comments(issue)) != 1:
        sys.exit("jwt: FAILED: the comment is missing")
    print("jwt: ok")


if __name__ == "__main__":
    main()
