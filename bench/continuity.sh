#!/usr/bin/env bash
# Does continuity cost follow the family or team asked about, not the organisation? Run by hand, not in CI.
#
#   bench/continuity.sh [SMALL_FAMILIES] [LARGE_FAMILIES]     (defaults 24 and 20000)
#
# Loads two demo organisations into databases of the local cluster (once; they are kept), serves each on loopback,
# and times family and team continuity for the North team's supervisor. PostgreSQL's auto_explain logs the plans
# of the continuity statements (EXPLAIN ANALYZE), which the script prints for the large organisation.
set -euo pipefail
cd "$(dirname "$0")/.."
small=${1:-24}
large=${2:-20000}
port=18090
url=$(deploy/local-postgres.sh start | tail -n 1)
server=${url%/*}
swift build --product kith-server >/dev/null
bin=$(swift build --show-bin-path)/kith-server

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

measure() {
    local families=$1 database=kith_bench_$1
    if ! psql "$server/postgres" -tAc "SELECT 1 FROM pg_database WHERE datname = '$database'" | grep -q 1; then
        psql "$server/postgres" -qc "CREATE DATABASE $database"
        DATABASE_URL=$server/$database "$bin" migrate >/dev/null
        local started=$(date +%s)
        DATABASE_URL=$server/$database "$bin" demo-data --families "$families" --years 2 >/dev/null
        echo "loaded $families families in $(( $(date +%s) - started )) s (debug build)"
    fi
    psql "$server/$database" -qc "ALTER DATABASE $database SET session_preload_libraries = 'auto_explain'" \
        -c "ALTER DATABASE $database SET auto_explain.log_min_duration = '50ms'" \
        -c "ALTER DATABASE $database SET auto_explain.log_analyze = on" >/dev/null
    DATABASE_URL=$(deploy/local-postgres.sh serving-url "$server/$database") KITH_PORT=$port KITH_LOG_LEVEL=error "$bin" serve &
    local pid=$!
    trap "kill $pid 2>/dev/null" RETURN
    for _ in $(seq 50); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.2; done
    local token team family
    token=$(curl -sf "http://127.0.0.1:$port/v1/auth/login" -H 'content-type: application/json' \
        -d '{"email":"sam@kith.demo","password":"kith-demo-password"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
    team=$(curl -sf "http://127.0.0.1:$port/v1/me" -H "Authorization: Bearer $token" | python3 -c 'import json,sys; print(json.load(sys.stdin)["teams"][0]["id"])')
    family=$(curl -sf "http://127.0.0.1:$port/v1/families?scope=team&limit=1" -H "Authorization: Bearer $token" | python3 -c 'import json,sys; print(json.load(sys.stdin)["items"][0]["id"])')
    local teamSize
    teamSize=$(psql "$server/$database" -tAc "SELECT count(*) FROM families WHERE team_id = '$team'")
    local familyMs teamMs
    familyMs=$(for _ in $(seq 21); do curl -so /dev/null -w '%{time_total}\n' "http://127.0.0.1:$port/v1/continuity/families/$family" -H "Authorization: Bearer $token"; done | median)
    teamMs=$(for _ in $(seq 3); do curl -so /dev/null -w '%{time_total}\n' "http://127.0.0.1:$port/v1/continuity/teams/$team" -H "Authorization: Bearer $token"; done | median)
    printf '| %s | %s | %.1f ms | %.0f ms |\n' "$families" "$teamSize" "$(echo "$familyMs * 1000" | bc -l)" "$(echo "$teamMs * 1000" | bc -l)"
}

echo "| families in organisation | families in team | family continuity (median of 21) | team continuity (median of 3) |"
echo "|---|---|---|---|"
measure "$small"
measure "$large"
echo
echo "Plans logged by auto_explain (statements over 50 ms) are in the cluster's log: .data/postgres/log"
