#!/usr/bin/env bash
# tessera search benchmark: builds release, starts a server, seeds 100,000 issues over four
# projects (deterministic data, bench_seed writing straight into the tables), then drives with
# wrk from a second process the JQL search
#   project = BENCH AND status = "In Progress" ORDER BY created DESC     (maxResults=50)
# through GET /rest/api/2/search, and prints requests/s and p99 latency as ratios to
# GET issue/{key} measured in the same run (and measured again at the end, to show drift).
#
#   bench/search.sh                   # SQLite in a temporary data directory
#   BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/tessera_search_bench bench/search.sh
#   ISSUES=20000 DURATION=20s CONNECTIONS=64 bench/search.sh
#
# BENCH_DATABASE_URL names a database the script empties first (its public schema is dropped).
# The machine's cores are shared by server, database and load generator; wrk uses one thread.
set -euo pipefail
cd "$(dirname "$0")/.."

ISSUES=${ISSUES:-100000}
DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-32}
THREADS=${THREADS:-1}
PASSWORD=bench-admin-password
PROJECTS=(BENCH OPS WEB DATA)
JQL='project = BENCH AND status = "In Progress" ORDER BY created DESC'

command -v wrk >/dev/null || apt-get install -y wrk >/dev/null
cargo build --release --locked --quiet
cargo build --release --locked --quiet -p tessera-store --example bench_seed --example bench_explain
target=${CARGO_TARGET_DIR:-target}/release

work=$(mktemp -d)
server_pid=
cleanup() { [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

if [ -n "${BENCH_DATABASE_URL:-}" ]; then
  psql "$BENCH_DATABASE_URL" -qc \
    'SET client_min_messages = warning; DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public;'
  db_args=(--database-url "$BENCH_DATABASE_URL")
  db_url=$BENCH_DATABASE_URL
  backend=postgres
else
  db_args=(--data-dir "$work/data")
  db_url="sqlite://$work/data/tessera.db"
  backend=sqlite
fi
TESSERA_ADMIN_PASSWORD=$PASSWORD RUST_LOG=warn "$target/tessera" "${db_args[@]}" --json \
  serve --listen 127.0.0.1:0 > "$work/server.out" 2> "$work/server.err" &
server_pid=$!
for _ in $(seq 1 100); do grep -q '"listening"' "$work/server.out" 2>/dev/null && break; sleep 0.1; done
addr=$(grep '"listening"' "$work/server.out" | sed -E 's/.*"address":"([^"]+)".*/\1/')
base="http://$addr"
basic="Authorization: Basic $(printf 'admin:%s' "$PASSWORD" | base64 -w0)"
json="Content-Type: application/json"

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

# scenario name | extra wrk arguments | path
scenarios=(
  "GET issue/{key} (baseline)|-H|$basic|/rest/api/2/issue/BENCH-1"
  "GET search, first page of 50|-H|$basic|$search"
  "POST search, first page of 50|-H|$basic|-s|$work/post.lua|/rest/api/2/search"
  "GET search, page 41 (startAt=2000)|-H|$basic|$search&startAt=2000"
  "GET search, first page, fields=key (the query and its total, little JSON)|-H|$basic|$search&fields=key"
  "GET issue/{key} (baseline again, for drift)|-H|$basic|/rest/api/2/issue/BENCH-1"
)

to_ms() { # wrk latency like 812.00us, 3.21ms, 1.02s
  awk -v v="$1" 'BEGIN { n = v + 0; if (v ~ /us$/) n /= 1000; else if (v ~ /ms$/) n += 0; else if (v ~ /s$/) n *= 1000; printf "%.2f", n }'
}

# Warm up (connections, caches, the database's buffers) before anything is measured.
wrk -t"$THREADS" -c"$CONNECTIONS" -d3s -H "$basic" "$base/rest/api/2/issue/BENCH-1" >/dev/null
wrk -t"$THREADS" -c"$CONNECTIONS" -d3s -H "$basic" "$base$search" >/dev/null

results=()
for scenario in "${scenarios[@]}"; do
  IFS='|' read -r -a parts <<< "$scenario"
  name=${parts[0]}
  path=${parts[-1]}
  extra=("${parts[@]:1:${#parts[@]}-2}")
  args=()
  for a in "${extra[@]}"; do [ -n "$a" ] && args+=("$a"); done
  out=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency "${args[@]}" "$base$path")
  rps=$(awk '/Requests\/sec/ { print $2 }' <<< "$out")
  p99=$(to_ms "$(awk '$1 == "99%" { print $2 }' <<< "$out")")
  errors=$(awk '/Non-2xx or 3xx responses/ { print $5 }' <<< "$out")
  results+=("$name|$rps|$p99|${errors:-0}")
done

base_rps=$(cut -d'|' -f2 <<< "${results[0]}")
base_p99=$(cut -d'|' -f3 <<< "${results[0]}")
echo
echo "tessera $(git rev-parse --short HEAD 2>/dev/null || echo '?'), $backend, $ISSUES issues ($expected in the query's result), $(nproc) cores, wrk -t$THREADS -c$CONNECTIONS -d$DURATION, $(date -u +%Y-%m-%d)"
echo
echo "| scenario | requests/s | p99 (ms) | throughput vs GET issue | p99 vs GET issue | non-2xx |"
echo "|---|---:|---:|---:|---:|---:|"
for row in "${results[@]}"; do
  IFS='|' read -r name rps p99 errors <<< "$row"
  awk -v n="$name" -v r="$rps" -v p="$p99" -v br="$base_rps" -v bp="$base_p99" -v e="$errors" \
    'BEGIN { printf "| %s | %.0f | %.2f | %.2f | %.2f | %s |\n", n, r, p, r / br, p / bp, e }'
done
echo
echo "Plan of the page, then of its count (bench_explain):"
echo
sed 's/^/    /' <<< "$plan"
