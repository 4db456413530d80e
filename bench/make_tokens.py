"""Creates COUNT personal access tokens for a user through tessera's REST API and prints each
raw token on its own line (for bench/tokens.sh). Standard library only.

    python3 bench/make_tokens.py BASE_URL USER PASSWORD COUNT [THREADS]
"""

import base64
import http.client
import json
import sys
import threading
import urllib.parse


def create(base, auth, count, out, lock):
    url = urllib.parse.urlsplit(base)
    connection = http.client.HTTPConnection(url.hostname, url.port)
    headers = {"Authorization": auth, "Content-Type": "application/json"}
    made = []
    for n in range(count):
        body = json.dumps({"name": f"bench {threading.get_ident()} {n}", "expirationDuration": 1})
        connection.request("POST", url.path + "/rest/pat/latest/tokens", body, headers)
        response = connection.getresponse()
        answer = response.read()
        if response.status != 201:
            sys.exit(f"token creation answered {response.status}: {answer[:200]!r}")
        made.append(json.loads(answer)["rawToken"])
    with lock:
        out.extend(made)


def main():
    base, user, password, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    threads = int(sys.argv[5]) if len(sys.argv) > 5 else 4
    auth = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
    out, lock = [], threading.Lock()
    shares = [count // threads + (1 if i < count % threads else 0) for i in range(threads)]
    workers = [threading.Thread(target=create, args=(base, auth, n, out, lock)) for n in shares]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    if len(out) != count:
        sys.exit(f"made {len(out)} tokens of {count}")
    sys.stdout.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
