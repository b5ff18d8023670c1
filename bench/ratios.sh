#!/usr/bin/env bash
# Every speed goal of docs/benchmarks.md in one run, Kith and PostgreSQL side by side on the same database, run by hand
# (never in CI): a release build of kith-server on loopback over the demo organisation of bench/sync.sh (400 families,
# 3 years), synchronous_commit on; the search rows on a second database and server holding the 20,000-family demo
# organisation (`demo-data --families 20000`, loaded anew each run: some minutes). Each figure is measured RUNS times (default 3) and the median reported; the table is
# written into docs/benchmarks.md between its "ratios" markers, with the command and the machine.
#
#   bench/ratios.sh [RUNS]
#   KITH_BENCH_ONLY=sync|timeline|search|supervisorSearch|memory|pulls|push|post bench/ratios.sh [RUNS]
#       (one row, printed, the document untouched)
#
# Needs pgbench (postgresql-contrib), wrk and python3; the load generators stop by themselves (fixed counts or 10 s).
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
port=18092
for tool in pgbench wrk python3; do
    command -v "$tool" >/dev/null || { echo "$tool is missing (apt-get install postgresql-contrib wrk python3)"; exit 1; }
done
url=$(deploy/local-postgres.sh start | tail -n 1)
server=${url%/*}
database=kith_bench_ratios
swift build -c release --product kith-server >/dev/null
bin=$(swift build -c release --show-bin-path)/kith-server

source bench/caseload.sh
demo_database "$server" "$database" "$bin"
# The first-sync caseload: a practitioner made up to 25 families (as in bench/sync.sh).
reader=$(q "SELECT email FROM workers WHERE 'practitioner' = ANY(roles) ORDER BY email LIMIT 1 OFFSET 8")
give_caseload "$reader" 25

DATABASE_URL=$(deploy/local-postgres.sh serving-url "$DATABASE_URL") KITH_HOST=127.0.0.1 KITH_PORT=$port KITH_LOG_LEVEL=error "$bin" serve &
pid=$!
trap 'kill $pid 2>/dev/null' EXIT
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.2; done

# The search rows' organisation: 20,000 families, on a server of its own (its searches not limited to a person's pace).
search_url=$server/kith_bench_search
psql "$server/postgres" -qc "DROP DATABASE IF EXISTS kith_bench_search WITH (FORCE)" -c "CREATE DATABASE kith_bench_search"
DATABASE_URL=$search_url "$bin" migrate >/dev/null
DATABASE_URL=$search_url "$bin" demo-data --families 20000 --years 3 >/dev/null
psql "$search_url" -qc "VACUUM (ANALYZE)"
DATABASE_URL=$(deploy/local-postgres.sh serving-url "$search_url") KITH_HOST=127.0.0.1 KITH_PORT=$((port + 1)) \
    KITH_SEARCHES_PER_MINUTE=100000 KITH_LOG_LEVEL=error "$bin" serve &
search_pid=$!
trap 'kill $pid $search_pid 2>/dev/null' EXIT
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$((port + 1))/healthz" >/dev/null && break; sleep 0.2; done

python3 bench/ratios.py "http://127.0.0.1:$port" "$DATABASE_URL" "$pid" "$reader" "$runs" docs/benchmarks.md \
    "http://127.0.0.1:$((port + 1))" "$search_url"
