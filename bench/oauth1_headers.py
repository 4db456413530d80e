#!/usr/bin/env python3
"""Signed requests for the OAuth 1.0a benchmark (bench/oauth1.sh).

Registers an application link with a fresh 2048-bit RSA key, goes through the three-legged
dance as the administrator (requests-oauthlib for the consumer's legs, a logged-in requests
session for the approval page), then signs COUNT requests for GET PATH with the access token
(RSA-SHA1, the header form, each with its own nonce; oauthlib's base string, signed with the
key loaded once, on every core: oauthlib's own signer parses the PEM key for every request)
and prints their `Authorization` values, one per line. Every nonce is spent once, so the load generator must send each line once; the
signatures are made before the load starts, so signing costs the measurement nothing.

Usage: oauth1_headers.py --url BASE --user ADMIN --password PW --count N --path PATH
Needs requests-oauthlib and cryptography (scripts/test's .venv-test has both).
"""

import argparse
import base64
import os
import re
import sys
from concurrent.futures import ProcessPoolExecutor
from html.parser import HTMLParser
from urllib.parse import quote

import requests
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from oauthlib.common import generate_nonce, generate_timestamp
from oauthlib.oauth1 import SIGNATURE_RSA
from oauthlib.oauth1.rfc5849 import signature
from requests_oauthlib import OAuth1Session


class FormFields(HTMLParser):
    """The hidden fields of the approval form."""

    def __init__(self):
        super().__init__()
        self.fields = {}

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "input" and attrs.get("type") == "hidden" and attrs.get("name"):
            self.fields[attrs["name"]] = attrs.get("value", "")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--user", required=True)
    parser.add_argument("--password", required=True)
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--path", required=True)
    args = parser.parse_args()
    base = args.url.rstrip("/")

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    made = requests.post(f"{base}/rest/tessera/1/oauth1/consumers", auth=(args.user, args.password),
                         json={"consumerKey": "bench", "name": "Bench", "publicKey": public}, timeout=30)
    made.raise_for_status()

    app = OAuth1Session("bench", signature_method=SIGNATURE_RSA, rsa_key=private, callback_uri="oob")
    request_token = app.fetch_request_token(f"{base}/plugins/servlet/oauth/request-token")["oauth_token"]
    browser = requests.Session()
    browser.post(f"{base}/login", data={"username": args.user, "password": args.password, "next": "/"},
                 allow_redirects=False, timeout=30).raise_for_status()
    page = browser.get(f"{base}/plugins/servlet/oauth/authorize", params={"oauth_token": request_token},
                       timeout=30)
    page.raise_for_status()
    form = FormFields()
    form.feed(page.text)
    approved = browser.post(f"{base}/plugins/servlet/oauth/authorize", timeout=30,
                            data=dict(form.fields, decision="approve", access="read"))
    approved.raise_for_status()
    verifier = re.search(r'id="oauth-verifier">([0-9a-f]+)<', approved.text).group(1)
    access = app.fetch_access_token(f"{base}/plugins/servlet/oauth/access-token", verifier=verifier)

    workers = os.cpu_count() or 1
    shares = [args.count // workers + (1 if i < args.count % workers else 0) for i in range(workers)]
    job = (private, access["oauth_token"], base + args.path)
    with ProcessPoolExecutor(workers) as pool:
        for lines in pool.map(sign_many, [job] * workers, shares):
            sys.stdout.write(lines)


def sign_many(job, count):
    """`count` signed `Authorization` values for GET `url`, one per line."""
    private, token, url = job
    key = serialization.load_pem_private_key(private.encode(), password=None)
    uri = signature.base_string_uri(url)
    lines = []
    for _ in range(count):
        params = [
            ("oauth_consumer_key", "bench"),
            ("oauth_nonce", generate_nonce()),
            ("oauth_signature_method", SIGNATURE_RSA),
            ("oauth_timestamp", generate_timestamp()),
            ("oauth_token", token),
            ("oauth_version", "1.0"),
        ]
        base = signature.signature_base_string("GET", uri, signature.normalize_parameters(params))
        signed = key.sign(base.encode(), padding.PKCS1v15(), hashes.SHA1())
        params.append(("oauth_signature", base64.b64encode(signed).decode()))
        lines.append("OAuth " + ", ".join(f'{n}="{quote(v, safe="~")}"' for n, v in params) + "\n")
    return "".join(lines)


if __name__ == "__main__":
    main()
