#!/usr/bin/env bash
# tessera external-JWT benchmark: builds release, starts a server and a stand-in identity
# provider (bench/jwt_provider.py: discovery and a key set on a loopback port, and a JWT for
# `admin`), registers the provider, then drives with wrk from a second process, each as a
# ratio to the baseline (anonymous serverInfo) of the same run:
#
#   serverInfo, anonymous (baseline)
#   myself, Bearer personal access token
#   myself, Bearer external JWT       (RS256 verification, the provider read by issuer, the
#                                      key from the cache, the user read, per request)
#
#   bench/identity.sh                 # SQLite in a temporary data directory
#   BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/tessera_identity_bench bench/identity.sh
#
# PYTHON names an interpreter with cryptography and PyJWT (default: scripts/test's .venv-test).
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-32}
PYTHON=${PYTHON:-.venv-test/bin/python}
source bench/lib.sh
start_server

"$PYTHON" bench/jwt_provider.py admin > "$work/provider.out" &
provider_pid=$!
trap 'kill $provider_pid 2>/dev/null; cleanup' EXIT
for _ in $(seq 1 100); do [ "$(wc -l < "$work/provider.out")" -ge 2 ] && break; sleep 0.1; done
issuer=$(sed -n 1p "$work/provider.out")
jwt=$(sed -n 2p "$work/provider.out")
curl -fsS -H "$basic" -H "$json" \
  -d "{\"name\":\"Bench IdP\",\"issuer\":\"$issuer\",\"audiences\":[\"tessera\"]}" \
  "$base/rest/tessera/1/identityproviders" >/dev/null
token=$(curl -fsS -H "$basic" -H "$json" -d '{"name":"bench","expirationDuration":1}' \
  "$base/rest/pat/latest/tokens" | sed -E 's/.*"rawToken":"([^"]+)".*/\1/')

# scenario name | extra wrk arguments | path
scenarios=(
  "serverInfo (anonymous, baseline)||/rest/api/2/serverInfo"
  "myself, Bearer token|-H|Authorization: Bearer $token|/rest/api/2/myself"
  "myself, Bearer external JWT|-H|Authorization: Bearer $jwt|/rest/api/2/myself"
)

echo
echo "tessera $(git rev-parse --short HEAD 2>/dev/null || echo '?'), $backend, $(nproc) cores, wrk -t$THREADS -c$CONNECTIONS -d$DURATION, $(date -u +%Y-%m-%d)"
echo
measure_scenarios baseline
