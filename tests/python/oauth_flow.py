#!/usr/bin/env python3
"""A real OAuth 2.0 client library (Authlib) against a running tessera.

The client discovers the endpoints from the server's metadata (RFC 8414), starts the
authorization-code flow with PKCE S256, a "browser" (a requests session) logs in through the
login form and submits the consent form as a browser would, the client exchanges the code,
calls the REST API with the access token, refreshes, and is refused when it reuses the old
refresh token, after which the new refresh token and access token are dead too.

Usage: oauth_flow.py --url BASE --client-id ID --redirect-uri URI --user U --password PW
Prints "oauth: ok" on success; any failure exits non-zero saying which step failed.
"""

import argparse
import sys
import urllib.parse
from html.parser import HTMLParser

import requests
from authlib.common.security import generate_token
from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.requests_client import OAuth2Session


class Failure(Exception):
    pass


def check(condition, message):
    if not condition:
        raise Failure(message)


class FormFields(HTMLParser):
    """The inputs of the consent page's form (hidden fields and the form token)."""

    def __init__(self):
        super().__init__()
        self.fields = {}

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "input" and "name" in attrs and "value" in attrs:
            self.fields[attrs["name"]] = attrs["value"]


def main():
    parser = argparse.ArgumentParser()
    for name in ("--url", "--client-id", "--redirect-uri", "--user", "--password"):
        parser.add_argument(name, required=True)
    args = parser.parse_args()
    base = args.url.rstrip("/")

    metadata = requests.get(f"{base}/.well-known/oauth-authorization-server", timeout=10).json()
    check(metadata["issuer"] == base, f"issuer {metadata['issuer']!r}")
    check("S256" in metadata["code_challenge_methods_supported"], "no S256")

    client = OAuth2Session(
        args.client_id,
        redirect_uri=args.redirect_uri,
        scope="READ",
        code_challenge_method="S256",
        token_endpoint_auth_method="none",
    )
    verifier = generate_token(64)
    uri, state = client.create_authorization_url(metadata["authorization_endpoint"], code_verifier=verifier)

    # The browser: logs in through the form, then opens the authorization URL.
    browser = requests.Session()
    login = browser.post(
        f"{base}/login",
        data={"username": args.user, "password": args.password, "next": "/secure/tokens"},
        allow_redirects=False,
        timeout=10,
    )
    check(login.status_code == 303 and "JSESSIONID" in browser.cookies, f"login answered {login.status_code}")
    page = browser.get(uri, allow_redirects=False, timeout=10)
    check(page.status_code == 200, f"the authorization URL answered {page.status_code}, not the consent page")
    check("Authorize an application" in page.text, "not a consent page")
    form = FormFields()
    form.feed(page.text)
    fields = dict(form.fields)
    fields["decision"] = "approve"
    answer = browser.post(metadata["authorization_endpoint"], data=fields, allow_redirects=False, timeout=10)
    check(answer.status_code == 303, f"the consent form answered {answer.status_code}")
    location = answer.headers["Location"]
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlparse(location).query))
    check(location.startswith(args.redirect_uri), f"sent to {location}")
    check(query.get("state") == state, "the state did not come back")
    check(query.get("iss") == metadata["issuer"], "no iss (RFC 9207)")
    print("- consent given, code received", flush=True)

    token = client.fetch_token(
        metadata["token_endpoint"], authorization_response=location, code_verifier=verifier, state=state
    )
    check(token["token_type"].lower() == "bearer", f"token type {token['token_type']}")
    me = client.get(f"{base}/rest/api/2/myself", timeout=10)
    check(me.status_code == 200 and me.json()["name"] == args.user, f"myself answered {me.status_code}")
    print("- the access token calls the API", flush=True)

    first_refresh = token["refresh_token"]
    renewed = client.refresh_token(metadata["token_endpoint"], refresh_token=first_refresh)
    check(renewed["refresh_token"] != first_refresh, "the refresh token did not rotate")
    check(client.get(f"{base}/rest/api/2/myself", timeout=10).status_code == 200, "the new access token fails")
    print("- refreshed, and the refresh token rotated", flush=True)

    try:
        client.refresh_token(metadata["token_endpoint"], refresh_token=first_refresh)
        raise Failure("reusing the old refresh token was accepted")
    except OAuthError as error:
        check(error.error == "invalid_grant", f"reuse refused with {error.error}")
    try:
        client.refresh_token(metadata["token_endpoint"], refresh_token=renewed["refresh_token"])
        raise Failure("the new refresh token still works after the reuse")
    except OAuthError as error:
        check(error.error == "invalid_grant", f"the new refresh token refused with {error.error}")
    dead = requests.get(
        f"{base}/rest/api/2/myself", headers={"Authorization": f"Bearer {renewed['access_token']}"}, timeout=10
    )
    check(dead.status_code == 401, f"the access token after the reuse answered {dead.status_code}")
    print("- the reused refresh token killed the grant", flush=True)
    print("oauth: ok")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Failure as failure:
        print(f"FAIL: {failure}", file=sys.stderr)
        sys.exit(1)
