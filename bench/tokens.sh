#!/usr/bin/env bash
# tessera many-tokens benchmark: builds release, starts a server, creates TOKENS (50,000)
# personal access tokens through the REST API (bench/make_tokens.py), then drives `GET myself`
# with wrk, each request carrying a token drawn at random from all of them, so that the
# verified-credential cache (`[tokens] verified_capacity`, 20,000 answers) cannot hold them all.
# Prints each scenario as a ratio to the baseline (anonymous serverInfo) of the same run, and
# the server's RSS: idle, after the tokens were made, after the loads, and after each of
# ROUNDS (3) more random-token loads (whether memory keeps growing once the cache is full).
#
#   bench/tokens.sh                   # SQLite in a temporary data directory
#   BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/tessera_tokens_bench bench/tokens.sh
#   TOKENS=100000 bench/tokens.sh
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-32}
TOKENS=${TOKENS:-50000}
ROUNDS=${ROUNDS:-3}
source bench/lib.sh
start_server
rss() { awk '/^VmRSS/ { printf "%.1f MB", $2 / 1024 }' "/proc/$server_pid/status"; }

sleep 3
idle_rss=$(rss)
started=$(date +%s)
python3 bench/make_tokens.py "$base" admin "$PASSWORD" "$TOKENS" 4 > "$work/tokens.txt"
made_in=$(( $(date +%s) - started ))
made_rss=$(rss)
one=$(head -1 "$work/tokens.txt")
cat > "$work/random.lua" <<LUA
local tokens = {}
for line in io.lines("$work/tokens.txt") do tokens[#tokens + 1] = line end
math.randomseed(os.time())
request = function()
  local token = tokens[math.random(#tokens)]
  return wrk.format("GET", "/rest/api/2/myself", {["Authorization"] = "Bearer " .. token})
end
LUA

# scenario name | extra wrk arguments | path
scenarios=(
  "serverInfo (anonymous, baseline)||/rest/api/2/serverInfo"
  "myself, one Bearer token|-H|Authorization: Bearer $one|/rest/api/2/myself"
  "myself, a random one of $TOKENS Bearer tokens|-s|$work/random.lua|/rest/api/2/myself"
)

echo
echo "tessera $(git rev-parse --short HEAD 2>/dev/null || echo '?'), $backend, $(nproc) cores, wrk -t$THREADS -c$CONNECTIONS -d$DURATION, $(date -u +%Y-%m-%d)"
echo
measure_scenarios baseline
echo
echo "server RSS: $idle_rss idle; $made_rss after $TOKENS tokens were made (in ${made_in}s);"
echo "  $(rss) after the loads above"
for round in $(seq 1 "$ROUNDS"); do
  wrk_measure -s "$work/random.lua" "$base/rest/api/2/myself"
  echo "random-token load again ($round): $rps requests/s, p99 $p99 ms, $errors non-2xx; RSS $(rss)"
done
