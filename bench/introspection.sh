#!/usr/bin/env bash
# Token introspection (RFC 7662) against a peer: builds release, starts tessera and
# node-oidc-provider (tests/oidc/introspection_bench.mjs, the version pinned in
# tests/oidc/package-lock.json, installed with `npm ci` if missing), gets each an opaque access
# token by the client-credentials grant, then drives with wrk (1 thread, 32 connections, from a
# second process) each one's introspection of its own token by its confidential client
# (client_secret_basic). Prints requests/s as ratios to tessera's anonymous serverInfo in the
# same run, and tessera's introspection as a multiple of the provider's.
#
#   bench/introspection.sh            # SQLite in a temporary data directory
#   BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/tessera_introspection_bench bench/introspection.sh
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-32}
OP_PORT=${OP_PORT:-18765}
command -v node >/dev/null || { echo "node and npm are needed" >&2; exit 1; }
[ -d tests/oidc/node_modules/oidc-provider ] || (cd tests/oidc && npm ci --no-audit --no-fund --loglevel=error)
source bench/lib.sh
start_server

(cd tests/oidc && exec node introspection_bench.mjs "$OP_PORT") > "$work/op.out" 2> "$work/op.err" &
op_pid=$!
trap 'kill $op_pid 2>/dev/null; cleanup' EXIT
for _ in $(seq 1 100); do grep -q issuer "$work/op.out" 2>/dev/null && break; sleep 0.1; done
op="http://127.0.0.1:$OP_PORT"
op_auth="Authorization: Basic $(printf 'bench:bench-secret-which-is-long-enough' | base64 -w0)"
op_token=$(curl -fsS -H "$op_auth" -d grant_type=client_credentials -d scope=READ "$op/token" \
  | sed -E 's/.*"access_token":"([^"]+)".*/\1/')

make_oauth_client
tessera_auth="Authorization: Basic $(printf '%s:%s' "$client_id" "$client_secret" | base64 -w0)"
tessera_token=$(curl -fsS -H "$tessera_auth" -d grant_type=client_credentials \
  "$base/rest/oauth2/latest/token" | sed -E 's/.*"access_token":"([^"]+)".*/\1/')

# Both answer active: the load measures a real introspection.
for check in "$base/rest/oauth2/latest/introspect|$tessera_auth|$tessera_token" \
             "$op/token/introspection|$op_auth|$op_token"; do
  IFS='|' read -r url auth token <<< "$check"
  curl -fsS -H "$auth" -d "token=$token" "$url" | grep -q '"active":true' \
    || { echo "introspection at $url did not answer active" >&2; exit 1; }
done

introspect_lua() { # TOKEN -> a wrk script that posts it
  cat <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.body = "token=$1"
LUA
}
introspect_lua "$tessera_token" > "$work/tessera.lua"
introspect_lua "$op_token" > "$work/op.lua"

op_version=$(cd tests/oidc && node -p 'require("oidc-provider/package.json").version')
echo
echo "tessera $(git rev-parse --short HEAD 2>/dev/null || echo '?'), $backend, $(nproc) cores, wrk -t$THREADS -c$CONNECTIONS -d$DURATION, $(date -u +%Y-%m-%d)"
echo
wrk_measure "$base/rest/api/2/serverInfo"
base_rps=$rps
echo "| scenario | requests/s | p99 (ms) | vs baseline | non-2xx |"
echo "|---|---:|---:|---:|---:|"
row() { awk -v n="$1" -v r="$rps" -v p="$p99" -v b="$base_rps" -v e="$errors" \
  'BEGIN { printf "| %s | %.0f | %.2f | %.2f | %s |\n", n, r, p, r / b, e }'; }
row "serverInfo (tessera, anonymous, baseline)"
wrk_measure -H "$tessera_auth" -s "$work/tessera.lua" "$base/rest/oauth2/latest/introspect"
ours=$rps
row "introspection, tessera"
wrk_measure -H "$op_auth" -s "$work/op.lua" "$op/token/introspection"
row "introspection, node-oidc-provider $op_version"
echo
awk -v a="$ours" -v b="$rps" 'BEGIN { printf "tessera introspects %.1fx as fast as node-oidc-provider\n", a / b }'
