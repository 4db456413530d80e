#!/usr/bin/env bash
# What the access policy costs: token-authenticated GET myself under the default policy (no
# rules) and under a full one (a method rule with exception groups, REST API groups, a global
# allowlist and per-group allowlists of many ranges, and rate limiting with a budget too large
# to refuse anything), alternated over several rounds in one run against one release server
# (odd rounds measure the default first, even rounds the full policy first). Each measurement
# also takes the server's CPU time per request (from /proc; the database server's, for
# PostgreSQL, is not in it). Prints each round and the median ratios of the full policy's
# figures to the default's; then times the policy's own work in isolation (the decision, the
# rate limiter's bucket and its headers: the policy_eval example) as a share of the server's
# CPU time per request measured in the rounds.
#
#   bench/policy.sh                   # SQLite in a temporary data directory
#   BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench bench/policy.sh
#   ROUNDS=5 DURATION=10s bench/policy.sh
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-8s}
CONNECTIONS=${CONNECTIONS:-32}
ROUNDS=${ROUNDS:-3}
PASSWORD=bench-admin-password

command -v wrk >/dev/null || apt-get install -y wrk >/dev/null
cargo build --release --locked --quiet
cargo build --release --locked --quiet -p tessera-web --example policy_eval

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

for group in integrators contractors; do
  curl -fsS -H "$basic" -H "$json" -d "{\"name\":\"$group\"}" "$base/rest/api/2/group" >/dev/null 2>&1 || true
done
curl -fsS -H "$basic" -H "$json" -d '{"name":"admin"}' "$base/rest/api/2/group/user?groupname=integrators" >/dev/null 2>&1 || true
token=$(curl -fsS -H "$basic" -H "$json" -d '{"name":"bench","expirationDuration":1}' \
  "$base/rest/pat/latest/tokens" | sed -E 's/.*"rawToken":"([^"]+)".*/\1/')

ranges() { # n ranges that do not contain 127.0.0.1, then loopback
  for i in $(seq 1 "$1"); do printf '"10.%d.0.0/16",' "$i"; done
  printf '"2001:db8:%x::/48",' $(seq 1 "$1")
  printf '"127.0.0.0/8"'
}
default_policy='{}'
full_policy=$(cat <<JSON
{"methods": {"basic_password": {"enabled": false, "exceptGroups": ["integrators"]},
             "session": {"enabled": true, "exceptGroups": ["contractors"]}},
 "apiGroups": ["integrators", "contractors"],
 "allowedIps": [$(ranges 50)],
 "groupAllowedIps": {"integrators": [$(ranges 20)], "jira-administrators": [$(ranges 20)]},
 "tokens": {"creatorGroups": ["integrators"], "maxPerUser": 50},
 "rateLimit": {"enabled": true, "default": {"capacity": 1000000, "perSecond": 1000000},
               "groups": {"contractors": {"capacity": 10, "perSecond": 1}}}}
JSON
)

set_policy() {
  curl -fsS -X PUT -H "$basic" -H "$json" -d "$1" "$base/rest/tessera/1/policy" >/dev/null
}

to_ms() { # wrk latency like 812.00us, 3.21ms, 1.02s
  awk -v v="$1" 'BEGIN { n = v + 0; if (v ~ /us$/) n /= 1000; else if (v ~ /ms$/) n += 0; else if (v ~ /s$/) n *= 1000; printf "%.2f", n }'
}

ticks=$(getconf CLK_TCK)
server_cpu() { awk '{ print $14 + $15 }' "/proc/$server_pid/stat"; } # user + system, in ticks

measure() { # prints "requests/s p99-ms non-2xx server-cpu-us-per-request"
  local out before after
  before=$(server_cpu)
  out=$(wrk -t1 -c"$CONNECTIONS" -d"$DURATION" --latency -H "Authorization: Bearer $token" "$base/rest/api/2/myself")
  after=$(server_cpu)
  echo "$(awk '/Requests\/sec/ { print $2 }' <<< "$out") $(to_ms "$(awk '$1 == "99%" { print $2 }' <<< "$out")") $(awk '/Non-2xx or 3xx responses/ { n = $5 } END { print n + 0 }' <<< "$out")" \
    "$(awk -v t=$((after - before)) -v hz="$ticks" '/requests in/ { printf "%.1f", t * 1e6 / hz / $1 }' <<< "$out")"
}

echo
echo "tessera $(git rev-parse --short HEAD 2>/dev/null || echo '?'), $backend, $(nproc) cores, wrk -t1 -c$CONNECTIONS -d$DURATION, $ROUNDS rounds, $(date -u +%Y-%m-%d)"
echo
echo "| round | default policy req/s | full policy req/s | throughput ratio | default p99 (ms) | full p99 (ms) | p99 ratio | default CPU µs/req | full CPU µs/req | CPU ratio | non-2xx |"
echo "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
ratios=()
p99s=()
cpus=()
default_cpus=()
for round in $(seq 1 "$ROUNDS"); do
  if (( round % 2 )); then # alternate which goes first, so drift does not favour either
    set_policy "$default_policy"; read -r d_rps d_p99 d_err d_cpu <<< "$(measure)"
    set_policy "$full_policy"; read -r f_rps f_p99 f_err f_cpu <<< "$(measure)"
  else
    set_policy "$full_policy"; read -r f_rps f_p99 f_err f_cpu <<< "$(measure)"
    set_policy "$default_policy"; read -r d_rps d_p99 d_err d_cpu <<< "$(measure)"
  fi
  ratio=$(awk -v a="$f_rps" -v b="$d_rps" 'BEGIN { printf "%.3f", a / b }')
  p99r=$(awk -v a="$f_p99" -v b="$d_p99" 'BEGIN { printf "%.3f", a / b }')
  cpur=$(awk -v a="$f_cpu" -v b="$d_cpu" 'BEGIN { printf "%.3f", a / b }')
  ratios+=("$ratio")
  p99s+=("$p99r")
  cpus+=("$cpur")
  default_cpus+=("$d_cpu")
  printf '| %d | %.0f | %.0f | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$round" "$d_rps" "$f_rps" "$ratio" "$d_p99" "$f_p99" "$p99r" \
    "$d_cpu" "$f_cpu" "$cpur" "$((${d_err:-0} + ${f_err:-0}))"
done
median() { printf '%s\n' "$@" | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
echo
echo "median throughput ratio (full / default): $(median "${ratios[@]}")"
echo "median p99 ratio (full / default): $(median "${p99s[@]}")"
echo "median server CPU ratio (full / default): $(median "${cpus[@]}")"

# The policy's own work, timed alone for the caller above (admin: jira-administrators,
# jira-users, integrators), against the server CPU time of a default-policy request.
read -r eval_default eval_full <<< "$(target/release/examples/policy_eval jira-administrators jira-users integrators <<< "$full_policy")"
cpu_us=$(median "${default_cpus[@]}")
echo "policy's work alone: ${eval_default} ns per request under the default policy, ${eval_full} ns under the full one;" \
  "the difference is $(awk -v f="$eval_full" -v d="$eval_default" -v c="$cpu_us" 'BEGIN { printf "%.2f%%", (f - d) / 10 / c }') of the ${cpu_us} µs of server CPU a default-policy request takes (median)"
