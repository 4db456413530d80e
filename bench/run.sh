#!/usr/bin/env bash
# tessera benchmark: builds release, starts a server on seeded data, drives load from a second
# process with wrk, and prints requests/s and p99 latency per scenario, each as a ratio to the
# baseline (anonymous serverInfo) measured in the same run.
#
#   bench/run.sh                      # SQLite in a temporary data directory
#   BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench bench/run.sh
#   DURATION=20s CONNECTIONS=64 bench/run.sh
#
# The machine's cores are shared by server and load generator; wrk uses one thread.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-32}
THREADS=${THREADS:-1}
PASSWORD=bench-admin-password

command -v wrk >/dev/null || apt-get install -y wrk >/dev/null
cargo build --release --locked --quiet

work=$(mktemp -d)
server_pid=
cleanup() { [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

db_args=(--data-dir "$work/data")
backend=sqlite
if [ -n "${BENCH_DATABASE_URL:-}" ]; then
  db_args=(--database-url "$BENCH_DATABASE_URL")
  backend=postgres
fi
TESSERA_ADMIN_PASSWORD=$PASSWORD RUST_LOG=warn target/release/tessera "${db_args[@]}" --json \
  serve --listen 127.0.0.1:0 > "$work/server.out" 2> "$work/server.err" &
server_pid=$!
for _ in $(seq 1 100); do grep -q '"listening"' "$work/server.out" 2>/dev/null && break; sleep 0.1; done
addr=$(grep '"listening"' "$work/server.out" | sed -E 's/.*"address":"([^"]+)".*/\1/')
base="http://$addr"
basic="Authorization: Basic $(printf 'admin:%s' "$PASSWORD" | base64 -w0)"
json="Content-Type: application/json"

curl -fsS -H "$basic" -H "$json" -d '{"key":"BENCH","name":"Bench"}' "$base/rest/api/2/project" >/dev/null 2>&1 || true
issue=$(curl -fsS -H "$basic" -H "$json" \
  -d '{"fields":{"project":{"key":"BENCH"},"issuetype":{"name":"Task"},"summary":"bench target","description":"read under load"}}' \
  "$base/rest/api/2/issue" | sed -E 's/.*"key":"([^"]+)".*/\1/')
session=$(curl -fsS -H "$json" -d "{\"username\":\"admin\",\"password\":\"$PASSWORD\"}" \
  "$base/rest/auth/1/session" | sed -E 's/.*"value":"([^"]+)".*/\1/')
token=$(curl -fsS -H "$basic" -H "$json" -d '{"name":"bench","expirationDuration":1}' \
  "$base/rest/pat/latest/tokens" | sed -E 's/.*"rawToken":"([^"]+)".*/\1/')
curl -fsS -H "$basic" -H "$json" -d '{"name":"bench-bots"}' "$base/rest/api/2/group" >/dev/null 2>&1 || true
curl -fsS -H "$basic" -H "$json" -d '{"name":"bench-etl","ownerGroup":"bench-bots"}' \
  "$base/rest/tessera/1/serviceaccounts" >/dev/null 2>&1 || true
client=$(curl -fsS -H "$basic" -H "$json" \
  -d '{"name":"bench","redirectUris":["https://bench.example/cb"],"scopes":["READ"],"serviceAccount":"bench-etl"}' \
  "$base/rest/tessera/1/oauth2/clients")
client_id=$(sed -E 's/.*"clientId":"([^"]+)".*/\1/' <<< "$client")
client_secret=$(sed -E 's/.*"clientSecret":"([^"]+)".*/\1/' <<< "$client")
oauth=$(curl -fsS -u "$client_id:$client_secret" -d grant_type=client_credentials \
  "$base/rest/oauth2/latest/token" | sed -E 's/.*"access_token":"([^"]+)".*/\1/')
cat > "$work/post.lua" <<'LUA'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"fields":{"project":{"key":"BENCH"},"issuetype":{"name":"Task"},"summary":"created under load"}}'
LUA

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
  "POST issue, Basic|-H|$basic|-s|$work/post.lua|/rest/api/2/issue"
)

to_ms() { # wrk latency like 812.00us, 3.21ms, 1.02s
  awk -v v="$1" 'BEGIN { n = v + 0; if (v ~ /us$/) n /= 1000; else if (v ~ /ms$/) n += 0; else if (v ~ /s$/) n *= 1000; printf "%.2f", n }'
}

results=()
for scenario in "${scenarios[@]}"; do
  IFS='|' read -r -a parts <<< "$scenario"
  name=${parts[0]}
  path=${parts[-1]}
  extra=("${parts[@]:1:${#parts[@]}-2}")
  extra=("${extra[@]/#/}")
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
echo "tessera $(git rev-parse --short HEAD 2>/dev/null || echo '?'), $backend, $(nproc) cores, wrk -t$THREADS -c$CONNECTIONS -d$DURATION, $(date -u +%Y-%m-%d)"
echo
echo "| scenario | requests/s | p99 (ms) | throughput vs baseline | p99 vs baseline | non-2xx |"
echo "|---|---:|---:|---:|---:|---:|"
for row in "${results[@]}"; do
  IFS='|' read -r name rps p99 errors <<< "$row"
  awk -v n="$name" -v r="$rps" -v p="$p99" -v br="$base_rps" -v bp="$base_p99" -v e="$errors" \
    'BEGIN { printf "| %s | %.0f | %.2f | %.2f | %.2f | %s |\n", n, r, p, r / br, p / bp, e }'
done
