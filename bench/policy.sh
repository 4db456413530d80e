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
#
# BENCH_DATABASE_URL names a database the script creates if missing and empties first (its
# public schema is dropped).
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-8s}
CONNECTIONS=${CONNECTIONS:-32}
ROUNDS=${ROUNDS:-3}
source bench/lib.sh
cargo build --release --locked --quiet -p tessera-web --example policy_eval
start_server

for group in integrators contractors; do
  curl -fsS -H "$basic" -H "$json" -d "{\"name\":\"$group\"}" "$base/rest/api/2/group" >/dev/null
done
curl -fsS -H "$basic" -H "$json" -d '{"name":"admin"}' "$base/rest/api/2/group/user?groupname=integrators" >/dev/null
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

ticks=$(getconf CLK_TCK)
server_cpu() { awk '{ print $14 + $15 }' "/proc/$server_pid/stat"; } # user + system, in ticks

measure() { # prints "requests/s p99-ms non-2xx server-cpu-us-per-request"
  local before after
  before=$(server_cpu)
  wrk_measure -H "Authorization: Bearer $token" "$base/rest/api/2/myself"
  after=$(server_cpu)
  echo "$rps $p99 $errors $(awk -v t=$((after - before)) -v hz="$ticks" -v n="$requests" 'BEGIN { printf "%.1f", t * 1e6 / hz / n }')"
}

echo
echo "tessera $(git rev-parse --short HEAD 2>/dev/null || echo '?'), $backend, $(nproc) cores, wrk -t$THREADS -c$CONNECTIONS -d$DURATION, $ROUNDS rounds, $(date -u +%Y-%m-%d)"
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
read -r eval_default eval_full <<< "$("$target/examples/policy_eval" jira-administrators jira-users integrators <<< "$full_policy")"
cpu_us=$(median "${default_cpus[@]}")
echo "policy's work alone: ${eval_default} ns per request under the default policy, ${eval_full} ns under the full one;" \
  "the difference is $(awk -v f="$eval_full" -v d="$eval_default" -v c="$cpu_us" 'BEGIN { printf "%.2f%%", (f - d) / 10 / c }') of the ${cpu_us} µs of server CPU a default-policy request takes (median)"
