#!/usr/bin/env python3
"""A stand-in identity provider for the external-JWT benchmark (bench/identity.sh).

Serves an OpenID Connect discovery document and a key set (one fresh RSA-2048 key, `kid`
`bench`) on a loopback port, prints its issuer on the first line of standard output, then,
for each user name given, a JWT for that user (RS256, audience `tessera`, valid for an hour)
on a line of its own, and keeps serving until killed.

Usage: jwt_provider.py USER...
Needs cryptography and PyJWT (scripts/test's .venv-test has both).
"""

import base64
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


def b64(number):
    raw = number.to_bytes((number.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


class Handler(BaseHTTPRequestHandler):
    issuer = ""

    def do_GET(self):
        numbers = KEY.public_key().public_numbers()
        if self.path == "/.well-known/openid-configuration":
            body = {"issuer": self.issuer, "jwks_uri": f"{self.issuer}/jwks"}
        elif self.path == "/jwks":
            body = {"keys": [{"kty": "RSA", "kid": "bench", "use": "sig", "alg": "RS256",
                              "n": b64(numbers.n), "e": b64(numbers.e)}]}
        else:
            self.send_error(404)
            return
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


def main():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    Handler.issuer = f"http://127.0.0.1:{server.server_address[1]}"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print(Handler.issuer)
    now = int(time.time())
    for user in sys.argv[1:]:
        claims = {"iss": Handler.issuer, "aud": "tessera", "sub": user, "preferred_username": user,
                  "iat": now, "exp": now + 3600}
        print(jwt.encode(claims, KEY, algorithm="RS256", headers={"kid": "bench"}))
    sys.stdout.flush()
    threading.Event().wait()


if __name__ == "__main__":
    main()
