#!/usr/bin/env bash
# tessera benchmark: builds release, starts a server on seeded data, drives load from a second
# process with wrk, and prints requests/s and p99 latency per scenario, each as a ratio to the
# baseline (anonymous serverInfo) measured in the same run.
#
#   bench/run.sh                      # SQLite in a temporary data directory
#   BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench bench/run.sh
#   DURATION=20s CONNECTIONS=64 bench/run.sh
#
# BENCH_DATABASE_URL names a database the script creates if missing and empties first (its
# public schema is dropped).
# The machine's cores are shared by server and load generator; wrk uses one thread.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-32}
source bench/lib.sh
start_server

seed_issue_and_token
session=$(curl -fsS -H "$json" -d "{\"username\":\"admin\",\"password\":\"$PASSWORD\"}" \
  "$base/rest/auth/1/session" | sed -E 's/.*"value":"([^"]+)".*/\1/')
make_oauth_client
oauth=$(curl -fsS -u "$client_id:$client_secret" -d grant_type=client_credentials \
  "$base/rest/oauth2/latest/token" | sed -E 's/.*"access_token":"([^"]+)".*/\1/')

# scenario name | extra wrk arguments | path
scenarios=(
  "serverInfo (anonymous, baseline)||/rest/api/2/serverInfo"
  "myself, Basic password|-H|$basic|/rest/api/2/myself"
  "myself, session cookie|-H|Cookie: JSESSIONID=$session|/rest/api/2/myself"
  "myself, Bearer token|-H|Authorization: Bearer $token|/rest/api/2/myself"
  "myself, Basic with token|-H|Authorization: Basic $(printf 'admin:%s' "$token" | base64 -w0)|/rest/api/2/myself"
  "myself, OAuth 2.0 access token|-H|Authorization: Bearer $oauth|/rest/api/2/myself"
  "GET issue/{key}, Basic|-H|$basic|/rest/api/2/issue/$issue"
  "GET issue/{key}, Bearer token|-H|Authorization: Bearer $token|/rest/api/2/issue/$issue"
  "GET issue/{key}, Bearer token, not remembered|-H|Authorization: Bearer $token|-s|$work/fresh.lua|/rest/api/2/issue/$issue"
  "POST issue, Basic|-H|$basic|-s|$work/post.lua|/rest/api/2/issue"
)

echo
echo "tessera $(git rev-parse --short HEAD 2>/dev/null || echo '?'), $backend, $(nproc) cores, wrk -t$THREADS -c$CONNECTIONS -d$DURATION, $(date -u +%Y-%m-%d)"
rss() { awk '/^VmRSS/ { printf "%.1f MB", $2 / 1024 }' "/proc/$server_pid/status"; }
# Idle: past the 2 s after which a hashing thread gives Argon2's memory back.
sleep 3
idle_rss=$(rss)
echo
measure_scenarios baseline
echo
echo "server RSS: $idle_rss idle after setup, $(rss) after the load"
