#!/usr/bin/env bash
# tessera search benchmark: builds release, starts a server, seeds 100,000 issues over four
# projects (deterministic data, bench_seed writing straight into the tables), then drives with
# wrk from a second process the JQL search
#   project = BENCH AND status = "In Progress" ORDER BY created DESC     (maxResults=50)
# through GET /rest/api/2/search, and prints requests/s and p99 latency as ratios to an
# anonymous GET serverInfo measured in the same run (and again at the end, to show drift). A
# search asked before by the same caller is answered from memory until anything changes; the
# scenarios that add a new, ignored parameter to each request show what a search costs when
# it is not.
#
#   bench/search.sh                   # SQLite in a temporary data directory
#   BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/tessera_search_bench bench/search.sh
#   ISSUES=20000 DURATION=20s CONNECTIONS=64 bench/search.sh
#
# BENCH_DATABASE_URL names a database the script creates if missing and empties first (its
# public schema is dropped).
# The machine's cores are shared by server, database and load generator; wrk uses one thread.
set -euo pipefail
cd "$(dirname "$0")/.."

ISSUES=${ISSUES:-100000}
DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-32}
PROJECTS=(BENCH OPS WEB DATA)
JQL='project = BENCH AND status = "In Progress" ORDER BY created DESC'

source bench/lib.sh
cargo build --release --locked --quiet -p tessera-store --example bench_seed --example bench_explain
start_server

for key in "${PROJECTS[@]}"; do
  curl -fsS -H "$basic" -H "$json" -d "{\"key\":\"$key\",\"name\":\"Project $key\"}" \
    "$base/rest/api/2/project" >/dev/null
done
for n in $(seq 1 9); do
  curl -fsS -H "$basic" -H "$json" \
    -d "{\"name\":\"user$n\",\"password\":\"bench-user-password-$n\",\"displayName\":\"User $n\"}" \
    "$base/rest/api/2/user" >/dev/null
done

seeded=$("$target/examples/bench_seed" "$db_url" "$ISSUES" "${PROJECTS[@]}" 2>&1)
echo "seeded: $seeded"
expected=$(sed -E 's/.*"firstInProgress":([0-9]+).*/\1/' <<< "$seeded")

encoded=$(python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1]))' "$JQL")
search="/rest/api/2/search?jql=$encoded&maxResults=50"
total=$(curl -fsS -H "$basic" "$base$search" | python3 -c 'import json, sys; r = json.load(sys.stdin); print(r["total"], len(r["issues"]))')
if [ "$total" != "$expected 50" ]; then
  echo "the search found '$total' (total, page size), expected '$expected 50'" >&2
  exit 1
fi
curl -fsS -o /dev/null -H "$basic" "$base/rest/api/2/issue/BENCH-1"
plan=$("$target/examples/bench_explain" "$db_url" admin "$JQL" 2>&1)

cat > "$work/post.lua" <<'LUA'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = [[{"jql":"project = BENCH AND status = \"In Progress\" ORDER BY created DESC","maxResults":50}]]
LUA

never_asked "$search&" > "$work/fresh.lua"
never_asked "$search&fields=key&" > "$work/fresh_keys.lua"

# scenario name | extra wrk arguments | path
scenarios=(
  "serverInfo, anonymous (baseline)||/rest/api/2/serverInfo"
  "GET issue/{key}|-H|$basic|/rest/api/2/issue/BENCH-1"
  "GET search, first page of 50 (asked before: remembered)|-H|$basic|$search"
  "GET search, first page of 50, never asked before|-H|$basic|-s|$work/fresh.lua|$search"
  "POST search, first page of 50 (not remembered)|-H|$basic|-s|$work/post.lua|/rest/api/2/search"
  "GET search, page 41 (startAt=2000)|-H|$basic|$search&startAt=2000"
  "GET search, first page, fields=key, never asked before|-H|$basic|-s|$work/fresh_keys.lua|$search"
  "serverInfo, anonymous (baseline again, for drift)||/rest/api/2/serverInfo"
)

# Warm up (connections, caches, the database's buffers) before anything is measured.
wrk -t"$THREADS" -c"$CONNECTIONS" -d3s -H "$basic" "$base/rest/api/2/issue/BENCH-1" >/dev/null
wrk -t"$THREADS" -c"$CONNECTIONS" -d3s -H "$basic" "$base$search" >/dev/null

echo
echo "tessera $(git rev-parse --short HEAD 2>/dev/null || echo '?'), $backend, $ISSUES issues ($expected in the query's result), $(nproc) cores, wrk -t$THREADS -c$CONNECTIONS -d$DURATION, $(date -u +%Y-%m-%d)"
echo
measure_scenarios "serverInfo"
echo
echo "Plan of the page, then of its count (bench_explain):"
echo
sed 's/^/    /' <<< "$plan"
