#!/usr/bin/env bash
# tessera OAuth 1.0a benchmark: builds release, starts a server, goes through the dance with a
# real client library and signs COUNT requests for GET myself before the load starts (each
# signature carries its own nonce, so each can be sent once), then drives with wrk from a
# second process, each as a ratio to the baseline (anonymous serverInfo) of the same run:
#
#   serverInfo, anonymous (baseline)
#   myself, Bearer personal access token       (a token read from the store per request)
#   myself, OAuth 1.0a signed request          (RSA-SHA1 verification, the nonce spent in the
#                                               store, the token read, per request)
#
#   bench/oauth1.sh                   # SQLite in a temporary data directory
#   BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/tessera_oauth1_bench bench/oauth1.sh
#   DURATION=10s COUNT=150000 bench/oauth1.sh
#
# COUNT must exceed what the server can answer in DURATION: a signature sent twice is refused
# (nonce_used) and shows in the non-2xx column. PYTHON names an interpreter with
# requests-oauthlib and cryptography (default: scripts/test's .venv-test).
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-32}
COUNT=${COUNT:-100000}
PYTHON=${PYTHON:-.venv-test/bin/python}
source bench/lib.sh
start_server

token=$(curl -fsS -H "$basic" -H "$json" -d '{"name":"bench","expirationDuration":1}' \
  "$base/rest/pat/latest/tokens" | sed -E 's/.*"rawToken":"([^"]+)".*/\1/')
started=$(date +%s)
"$PYTHON" bench/oauth1_headers.py --url "$base" --user admin --password "$PASSWORD" \
  --count "$COUNT" --path /rest/api/2/myself > "$work/headers.txt"
echo "signed $COUNT requests in $(( $(date +%s) - started )) s (they stay valid for the 5-minute timestamp window)"
cat > "$work/oauth1.lua" <<LUA
local headers = {}
for line in io.lines("$work/headers.txt") do headers[#headers + 1] = line end
local i = 0
request = function()
  -- Past the last, signatures are sent again and refused (nonce_used): non-2xx.
  i = i % #headers + 1
  return wrk.format("GET", "/rest/api/2/myself", {["Authorization"] = headers[i]})
end
LUA

# scenario name | extra wrk arguments | path
scenarios=(
  "serverInfo (anonymous, baseline)||/rest/api/2/serverInfo"
  "myself, Bearer token|-H|Authorization: Bearer $token|/rest/api/2/myself"
  "myself, OAuth 1.0a signed request|-s|$work/oauth1.lua|/rest/api/2/myself"
)

echo
echo "tessera $(git rev-parse --short HEAD 2>/dev/null || echo '?'), $backend, $(nproc) cores, wrk -t$THREADS -c$CONNECTIONS -d$DURATION, $(date -u +%Y-%m-%d)"
echo
measure_scenarios baseline
