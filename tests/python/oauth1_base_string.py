#!/usr/bin/env python3
"""oauthlib's signature base strings (RFC 5849 §3.4.1) for the requests in a JSON file.

Usage: oauth1_base_string.py CASES.json. The file holds a JSON list of {"method", "uri" (absolute, query included), "body" (an urlencoded body,
or ""), "authorization" (the `Authorization: OAuth ...` header)}. Output: a JSON list of the
base strings oauthlib makes of them, in order (or {"error": ...} where oauthlib refuses one).
tessera's own base strings of the same requests are compared with these by the property test
in crates/server/tests/it/oauth1_base_string.rs.
"""

import json
import sys

from oauthlib.oauth1.rfc5849 import signature


def base_string(case):
    uri = case["uri"]
    query = uri.split("?", 1)[1] if "?" in uri else ""
    params = signature.collect_parameters(
        uri_query=query,
        body=case["body"] or None,
        headers={"Authorization": case["authorization"]},
        exclude_oauth_signature=True,
        with_realm=False,
    )
    normalized = signature.normalize_parameters(params)
    return signature.signature_base_string(case["method"], signature.base_string_uri(uri), normalized)


def main():
    out = []
    with open(sys.argv[1], encoding="utf-8") as cases:
        cases = json.load(cases)
    for case in cases:
        try:
            out.append(base_string(case))
        except Exception as error:  # reported per case, compared as a mismatch
            out.append({"error": f"{type(error).__name__}: {error}"})
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
