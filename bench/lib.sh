# Shared by the benchmark scripts, sourced from the repository's root after they set their
# DURATION and CONNECTIONS: the release build, a server on a fresh database, and wrk's figures.
#
# BENCH_DATABASE_URL names a PostgreSQL database the scripts create if it is missing and empty
# first (its public schema is dropped); without it the server uses SQLite in a temporary directory.

THREADS=${THREADS:-1}
PASSWORD=bench-admin-password
target=${CARGO_TARGET_DIR:-target}/release

command -v wrk >/dev/null || apt-get install -y wrk >/dev/null
cargo build --release --locked --quiet

work=$(mktemp -d)
server_pid=
cleanup() { [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

# Starts `tessera serve` on a free port with `admin`/$PASSWORD; sets backend, db_url, base and
# the basic and json headers.
start_server() {
  local db_args
  if [ -n "${BENCH_DATABASE_URL:-}" ]; then
    if ! psql "$BENCH_DATABASE_URL" -qc 'SELECT 1' >/dev/null 2>&1; then
      local name=${BENCH_DATABASE_URL##*/}
      name=${name%%\?*}
      psql "${BENCH_DATABASE_URL%/*}/postgres" -qc "CREATE DATABASE \"$name\""
    fi
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
  if ! grep -q '"listening"' "$work/server.out"; then
    echo "the server did not start:" >&2
    cat "$work/server.err" >&2
    exit 1
  fi
  base="http://$(grep '"listening"' "$work/server.out" | sed -E 's/.*"address":"([^"]+)".*/\1/')"
  basic="Authorization: Basic $(printf 'admin:%s' "$PASSWORD" | base64 -w0)"
  json="Content-Type: application/json"
}

# Seeds project BENCH with one issue and an administrator's PAT; sets issue and token, and
# writes $work/post.lua (POST issue) and $work/fresh.lua (GET issue with a new, ignored
# parameter each request: never answered from remembered responses).
seed_issue_and_token() {
  curl -fsS -H "$basic" -H "$json" -d '{"key":"BENCH","name":"Bench"}' "$base/rest/api/2/project" >/dev/null
  issue=$(curl -fsS -H "$basic" -H "$json" \
    -d '{"fields":{"project":{"key":"BENCH"},"issuetype":{"name":"Task"},"summary":"bench target","description":"read under load"}}' \
    "$base/rest/api/2/issue" | sed -E 's/.*"key":"([^"]+)".*/\1/')
  token=$(curl -fsS -H "$basic" -H "$json" -d '{"name":"bench","expirationDuration":1}' \
    "$base/rest/pat/latest/tokens" | sed -E 's/.*"rawToken":"([^"]+)".*/\1/')
  cat > "$work/post.lua" <<'LUA'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"fields":{"project":{"key":"BENCH"},"issuetype":{"name":"Task"},"summary":"created under load"}}'
LUA
  never_asked "/rest/api/2/issue/$issue?" > "$work/fresh.lua"
}

# A wrk script asking for the address $1 (ending in ? or &) with a new, ignored parameter each
# request: never answered from remembered responses.
never_asked() {
  cat <<LUA
local n = 0
request = function()
  n = n + 1
  return wrk.format(nil, "$1fresh=" .. n)
end
LUA
}

# Registers a confidential OAuth 2.0 client acting as service account bench-etl (with the
# client-credentials grant); sets client_id and client_secret.
make_oauth_client() {
  curl -fsS -H "$basic" -H "$json" -d '{"name":"bench-bots"}' "$base/rest/api/2/group" >/dev/null
  curl -fsS -H "$basic" -H "$json" -d '{"name":"bench-etl","ownerGroup":"bench-bots"}' \
    "$base/rest/tessera/1/serviceaccounts" >/dev/null
  local client
  client=$(curl -fsS -H "$basic" -H "$json" \
    -d '{"name":"bench","redirectUris":["https://bench.example/cb"],"scopes":["READ"],"serviceAccount":"bench-etl"}' \
    "$base/rest/tessera/1/oauth2/clients")
  client_id=$(sed -E 's/.*"clientId":"([^"]+)".*/\1/' <<< "$client")
  client_secret=$(sed -E 's/.*"clientSecret":"([^"]+)".*/\1/' <<< "$client")
}

to_ms() { # wrk latency like 812.00us, 3.21ms, 1.02s
  awk -v v="$1" 'BEGIN { n = v + 0; if (v ~ /us$/) n /= 1000; else if (v ~ /ms$/) n += 0; else if (v ~ /s$/) n *= 1000; printf "%.2f", n }'
}

# wrk_measure WRK-ARGUMENT... URL: one wrk run; sets rps, p99 (ms), errors (non-2xx) and
# requests (the number served).
wrk_measure() {
  local out
  out=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency "$@")
  rps=$(awk '/Requests\/sec/ { print $2 }' <<< "$out")
  p99=$(to_ms "$(awk '$1 == "99%" { print $2 }' <<< "$out")")
  errors=$(awk '/Non-2xx or 3xx responses/ { n = $5 } END { print n + 0 }' <<< "$out")
  requests=$(awk '/requests in/ { print $1 }' <<< "$out")
}

# Measures each of "${scenarios[@]}" ("name|wrk argument|...|path", empty arguments
# skipped) and prints the table of them, each as a ratio to the first one, which the header
# calls $1.
measure_scenarios() {
  local scenario parts name path extra args a results=() row base_rps base_p99
  for scenario in "${scenarios[@]}"; do
    IFS='|' read -r -a parts <<< "$scenario"
    name=${parts[0]}
    path=${parts[-1]}
    extra=("${parts[@]:1:${#parts[@]}-2}")
    args=()
    for a in "${extra[@]}"; do [ -n "$a" ] && args+=("$a"); done
    wrk_measure "${args[@]}" "$base$path"
    results+=("$name|$rps|$p99|$errors")
  done
  base_rps=$(cut -d'|' -f2 <<< "${results[0]}")
  base_p99=$(cut -d'|' -f3 <<< "${results[0]}")
  echo "| scenario | requests/s | p99 (ms) | throughput vs $1 | p99 vs $1 | non-2xx |"
  echo "|---|---:|---:|---:|---:|---:|"
  for row in "${results[@]}"; do
    IFS='|' read -r name rps p99 errors <<< "$row"
    awk -v n="$name" -v r="$rps" -v p="$p99" -v br="$base_rps" -v bp="$base_p99" -v e="$errors" \
      'BEGIN { printf "| %s | %.0f | %.2f | %.2f | %.2f | %s |\n", n, r, p, r / br, p / bp, e }'
  done
}
