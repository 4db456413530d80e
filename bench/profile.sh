#!/usr/bin/env bash
# Profiles tessera's hot paths with linux-perf and draws a flame graph of each
# (bench/flamegraph.py; written to bench/flame/NAME.svg): builds release, starts a server on a
# fresh SQLite database (or BENCH_DATABASE_URL), seeds one project, one issue and a token, then
# for each path drives load with wrk and samples the server with `perf record --call-graph
# dwarf` (the release build has no frame pointers) for SAMPLE_SECONDS:
#
#   myself        GET myself with a Bearer PAT (a remembered credential)
#   issue-miss    GET issue with a Bearer PAT, a new address each request (never remembered)
#   post-issue    POST issue with Basic (a remembered password)
#
#   bench/profile.sh            # needs perf (Debian: linux-perf) and wrk
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-15s}
CONNECTIONS=${CONNECTIONS:-32}
SAMPLE_SECONDS=${SAMPLE_SECONDS:-6}
OUT=${OUT:-bench/flame}
command -v perf >/dev/null || { echo "perf is needed (Debian: apt-get install linux-perf)" >&2; exit 1; }
source bench/lib.sh
start_server
mkdir -p "$OUT"
rev=$(git rev-parse --short HEAD 2>/dev/null || echo '?')

seed_issue_and_token

# profile NAME TITLE WRK-ARGUMENT... URL
profile() {
  local name=$1 title=$2
  shift 2
  wrk -t1 -c"$CONNECTIONS" -d"$DURATION" "$@" > "$work/$name.wrk" &
  local load=$!
  sleep 2
  perf record -q -F 199 --call-graph dwarf -p "$server_pid" -o "$work/$name.data" -- sleep "$SAMPLE_SECONDS" 2>/dev/null
  wait "$load"
  perf script --no-inline -i "$work/$name.data" 2>/dev/null \
    | python3 bench/flamegraph.py "tessera $rev, $backend: $title" > "$OUT/$name.svg"
  echo "$title: $(awk '/Requests\/sec/ { print $2 }' "$work/$name.wrk") requests/s -> $OUT/$name.svg"
}

profile myself "GET myself, Bearer PAT" -H "Authorization: Bearer $token" "$base/rest/api/2/myself"
profile issue-miss "GET issue, Bearer PAT, never remembered" -H "Authorization: Bearer $token" \
  -s "$work/fresh.lua" "$base/rest/api/2/issue/$issue"
profile post-issue "POST issue, Basic" -H "$basic" -s "$work/post.lua" "$base/rest/api/2/issue"
