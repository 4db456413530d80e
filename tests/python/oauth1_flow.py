#!/usr/bin/env python3
"""A real OAuth 1.0a client library (requests-oauthlib, on oauthlib) against a running tessera.

An administrator registers a consumer with a freshly generated RSA key; the client gets a
request token with RSA-SHA1 and with RSA-SHA256, as Jira's application links do. Then every
refusal the first leg can meet, each with its `oauth_problem`: a wrong key, a replayed nonce,
a tampered query, an old timestamp, an unknown consumer, HMAC-SHA1, a missing callback, a
callback off the consumer's origin. Then the whole dance: a "browser" (a requests session)
logs in and approves on the authorization page (the verifier shown for an `oob` consumer,
sent to the callback of another), the client exchanges the request token once for an
access token; a second exchange, a wrong verifier and a denied request are refused. The
access tokens then sign API requests, through requests-oauthlib and through the Python Jira
client's `oauth=` (creating an issue, commenting, searching).

Usage: oauth1_flow.py --url BASE --user ADMIN --password PW
Prints "oauth1: ok" on success; any failure exits non-zero saying which step failed.
"""

import argparse
import re
import sys
import time
import urllib.parse
from html.parser import HTMLParser

import requests
from jira import JIRA
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from oauthlib.oauth1 import SIGNATURE_HMAC, SIGNATURE_RSA, SIGNATURE_RSA_SHA256, Client
from requests_oauthlib import OAuth1, OAuth1Session

REQUEST_TOKEN = "/plugins/servlet/oauth/request-token"
AUTHORIZE = "/plugins/servlet/oauth/authorize"
ACCESS_TOKEN = "/plugins/servlet/oauth/access-token"
NEW_ISSUE = {"fields": {"project": {"key": "PYO"}, "issuetype": {"name": "Task"}, "summary": "signed"}}


class FormFields(HTMLParser):
    """The hidden inputs of the approval form (the form token and the request token)."""

    def __init__(self):
        super().__init__()
        self.fields = {}

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "input" and attrs.get("type") == "hidden":
            self.fields[attrs["name"]] = attrs["value"]


class Failure(Exception):
    pass


def check(condition, message):
    if not condition:
        raise Failure(message)


def new_key():
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()
    return private, public


def problem(response):
    """The oauth_problem of a refusal, checking Jira's form of it."""
    check(response.status_code in (400, 401), f"expected a refusal, got {response.status_code}")
    challenge = response.headers.get("WWW-Authenticate", "")
    check(challenge.startswith("OAuth realm="), f"no OAuth challenge: {challenge!r}")
    body = dict(urllib.parse.parse_qsl(response.text))
    check(f'oauth_problem="{body.get("oauth_problem")}"' in challenge, f"{challenge} / {body}")
    return body["oauth_problem"]


def signed(url, consumer, private, **client):
    """A POST signed as requests-oauthlib signs it."""
    auth = OAuth1(consumer, signature_method=SIGNATURE_RSA, rsa_key=private, **client)
    return requests.post(url, auth=auth, timeout=30)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--user", required=True)
    parser.add_argument("--password", required=True)
    args = parser.parse_args()
    base = args.url.rstrip("/")
    admin = requests.Session()
    admin.auth = (args.user, args.password)
    private, public = new_key()
    other_private, _ = new_key()
    for key, callback in [("py-app", "oob"), ("py-web", "https://app.example/done")]:
        made = admin.post(
            f"{base}/rest/tessera/1/oauth1/consumers",
            json={"consumerKey": key, "name": key, "publicKey": public, "callback": callback},
            timeout=30,
        )
        check(made.status_code == 201, f"register {key}: {made.status_code} {made.text}")
    project = admin.post(f"{base}/rest/api/2/project", json={"key": "PYO", "name": "Python OAuth",
                                                             "projectTypeKey": "software"}, timeout=30)
    check(project.status_code == 201, f"project: {project.status_code} {project.text}")
    url = base + REQUEST_TOKEN

    # The first leg, with both RSA methods.
    for method in (SIGNATURE_RSA, "RSA-SHA256"):
        session = OAuth1Session(
            "py-app", signature_method=method, rsa_key=private, callback_uri="oob"
        )
        token = session.fetch_request_token(url)
        check(token["oauth_token"].startswith("ts1rt_"), f"{method}: {token}")
        check(token.get("oauth_token_secret"), f"{method}: no secret: {token}")
    web = signed(url, "py-web", private, callback_uri="https://app.example/done?step=2")
    check(web.status_code == 200, f"a callback on the consumer's origin: {web.text}")

    # Each refusal, with its problem.
    refusals = {
        "wrong key": (signed(url, "py-app", other_private, callback_uri="oob"), "signature_invalid"),
        "unknown consumer": (signed(url, "nobody", private, callback_uri="oob"), "consumer_key_unknown"),
        "no callback": (signed(url, "py-app", private), "parameter_absent"),
        "foreign callback": (
            signed(url, "py-web", private, callback_uri="https://evil.example/done"),
            "permission_denied",
        ),
        "old timestamp": (
            signed(url, "py-app", private, callback_uri="oob", timestamp=str(int(time.time()) - 3600)),
            "timestamp_refused",
        ),
        "HMAC-SHA1": (
            requests.post(
                url,
                auth=OAuth1("py-app", client_secret="x", signature_method=SIGNATURE_HMAC, callback_uri="oob"),
                timeout=30,
            ),
            "signature_method_rejected",
        ),
    }
    for name, (response, expected) in refusals.items():
        got = problem(response)
        check(got == expected, f"{name}: expected {expected}, got {got}")

    # A replayed request (the same nonce and signature) and a tampered one.
    client = Client("py-app", signature_method=SIGNATURE_RSA, rsa_key=private, callback_uri="oob")
    uri, headers, _ = client.sign(url + "?expand=x", http_method="POST")
    first = requests.post(uri, headers=headers, timeout=30)
    check(first.status_code == 200, f"signed by oauthlib: {first.status_code} {first.text}")
    replay = requests.post(uri, headers=headers, timeout=30)
    check(problem(replay) == "nonce_used", "a replay")
    uri, headers, _ = client.sign(url + "?expand=x", http_method="POST")
    tampered = requests.post(url + "?expand=y", headers=headers, timeout=30)
    check(problem(tampered) == "signature_invalid", "a tampered query")
    as_get = requests.get(uri, headers=headers, timeout=30)
    check(as_get.status_code == 405, f"the first leg is a POST: {as_get.status_code}")
    dance(base, args, private)
    print("oauth1: ok")


def approve(base, browser, token, decision="approve", access="write"):
    page = browser.get(f"{base}{AUTHORIZE}", params={"oauth_token": token}, allow_redirects=False, timeout=30)
    check(page.status_code == 200, f"the authorization page answered {page.status_code}")
    check("py-" in page.text and "asks to use tessera" in page.text, "not an approval page")
    form = FormFields()
    form.feed(page.text)
    fields = dict(form.fields, decision=decision, access=access)
    return browser.post(f"{base}{AUTHORIZE}", data=fields, allow_redirects=False, timeout=30)


def jira_client(base, args, private, access):
    """The Python Jira client with `oauth=`, as its users configure it: it tries HMAC-SHA1
    first (refused: application links sign with RSA), falls back to RSA-SHA1, and then works
    as the approving user."""
    client = JIRA(base, oauth={
        "access_token": access["oauth_token"],
        "access_token_secret": access["oauth_token_secret"],
        "consumer_key": "py-app",
        "key_cert": private,
    }, max_retries=0, get_server_info=True)
    check(client.current_user() == args.user, f"the Jira client is {client.current_user()}")
    issue = client.create_issue(project="PYO", summary="from an application link", issuetype={"name": "Task"})
    comment = client.add_comment(issue, "signed comment")
    check(client.comment(issue.key, comment.id).body == "signed comment", "the comment reads back")
    found = client.search_issues(f"key = {issue.key}")
    check([i.key for i in found] == [issue.key], f"search found {found}")
    history = client.issue(issue.key, expand="changelog")
    check(history.fields.summary == "from an application link", "the issue reads back")


def dance(base, args, private):
    browser = requests.Session()
    login = browser.post(
        f"{base}/login",
        data={"username": args.user, "password": args.password, "next": "/secure/tokens"},
        allow_redirects=False,
        timeout=30,
    )
    check(login.status_code == 303 and "JSESSIONID" in browser.cookies, f"login answered {login.status_code}")

    # An oob consumer: the verifier is shown to the user, who gives it to the application.
    app = OAuth1Session("py-app", signature_method=SIGNATURE_RSA, rsa_key=private, callback_uri="oob")
    request_token = app.fetch_request_token(base + REQUEST_TOKEN)["oauth_token"]
    answer = approve(base, browser, request_token)
    check(answer.status_code == 200, f"approval answered {answer.status_code}")
    found = re.search(r'id="oauth-verifier">([0-9a-f]+)<', answer.text)
    check(found, "no verifier shown")
    verifier = found.group(1)
    wrong = OAuth1Session("py-app", signature_method=SIGNATURE_RSA, rsa_key=private,
                          resource_owner_key=request_token, verifier="0" * len(verifier))
    refused = wrong.post(base + ACCESS_TOKEN, timeout=30)
    check(problem(refused) == "token_rejected", "a wrong verifier")
    access = app.fetch_access_token(base + ACCESS_TOKEN, verifier=verifier)
    check(access["oauth_token"].startswith("ts1at_"), f"access token: {access}")
    # It lives the policy's longest token lifetime (365 days by default), as Jira says.
    check(access.get("oauth_expires_in") == str(365 * 24 * 60 * 60), f"access token lifetime: {access}")
    again = OAuth1Session("py-app", signature_method=SIGNATURE_RSA, rsa_key=private,
                          resource_owner_key=request_token, verifier=verifier)
    check(problem(again.post(base + ACCESS_TOKEN, timeout=30)) == "token_rejected", "a second exchange")
    # Signed API requests act as the user: a plain one, one with a query, one with a body.
    me = app.get(base + "/rest/api/2/myself", timeout=30)
    check(me.status_code == 200 and me.json()["name"] == args.user, f"myself: {me.status_code} {me.text}")
    search = app.get(base + "/rest/api/2/search", params={"jql": "order by key", "fields": "summary,status"}, timeout=30)
    check(search.status_code == 200 and "issues" in search.json(), f"search: {search.status_code} {search.text}")
    created = app.post(base + "/rest/api/2/issue", json=NEW_ISSUE, timeout=30)
    check(created.status_code == 201, f"POST issue: {created.status_code} {created.text}")
    jira_client(base, args, private, access)
    approved_twice = browser.get(f"{base}{AUTHORIZE}", params={"oauth_token": request_token}, timeout=30)
    check(approved_twice.status_code == 400, f"an approved token's page: {approved_twice.status_code}")

    # A consumer with a callback, signing with RSA-SHA256 throughout: the user is sent there
    # with the token and the verifier.
    web = OAuth1Session("py-web", signature_method=SIGNATURE_RSA_SHA256, rsa_key=private,
                        callback_uri="https://app.example/done?step=2")
    request_token = web.fetch_request_token(base + REQUEST_TOKEN)["oauth_token"]
    answer = approve(base, browser, request_token, access="read")
    check(answer.status_code == 303, f"approval with a callback answered {answer.status_code}")
    location = answer.headers["Location"]
    check(location.startswith("https://app.example/done?"), f"sent to {location}")
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlparse(location).query))
    check(query.get("step") == "2" and query.get("oauth_token") == request_token, f"{query}")
    web_access = web.fetch_access_token(base + ACCESS_TOKEN, verifier=query["oauth_verifier"])
    check(web_access["oauth_token"].startswith("ts1at_"), f"access token: {web_access}")
    # Approved for reading only: it reads, and may not write.
    check(web.get(base + "/rest/api/2/myself", timeout=30).status_code == 200, "a read-only link reads")
    write = web.post(base + "/rest/api/2/issue", json=NEW_ISSUE, timeout=30)
    check(write.status_code == 403, f"a read-only link wrote: {write.status_code} {write.text}")

    # Denied: the request token is dead.
    fresh = OAuth1Session("py-app", signature_method=SIGNATURE_RSA, rsa_key=private, callback_uri="oob")
    request_token = fresh.fetch_request_token(base + REQUEST_TOKEN)["oauth_token"]
    denied = approve(base, browser, request_token, decision="deny")
    check(denied.status_code == 200 and "was not given access" in denied.text, "the denial page")
    after = OAuth1Session("py-app", signature_method=SIGNATURE_RSA, rsa_key=private,
                          resource_owner_key=request_token, verifier="x")
    check(problem(after.post(base + ACCESS_TOKEN, timeout=30)) == "token_rejected", "a denied token")


if __name__ == "__main__":
    try:
        main()
    except Failure as failure:
        print(f"oauth1: FAILED: {failure}", file=sys.stderr)
        sys.exit(1)
