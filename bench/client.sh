#!/usr/bin/env bash
# The terminal client, run by hand (not in CI), against a release kith-server on the local cluster of
# deploy/local-postgres.sh, with the demo organisation (400 families, 3 years) and one practitioner holding 25 families:
#   1. `kith login`: sign-in, device registration and the first sync of the whole caseload (wall time, peak memory);
#   2. offline reads of the local copy with hyperfine: `kith families`, `kith family`, `kith timeline`;
#   3. an offline write (`KITH_OFFLINE=1 kith note -m`), then one `kith sync` sending everything that waits.
# Needs hyperfine (apt-get install hyperfine). Figures go to docs/benchmarks.md by hand.
set -euo pipefail
cd "$(dirname "$0")/.."
port=18092
url=$(deploy/local-postgres.sh start | tail -n 1)
server=${url%/*}
database=kith_bench_client
command -v hyperfine >/dev/null || { echo "hyperfine is missing: apt-get install hyperfine"; exit 1; }
swift build -c release --product kith-server >/dev/null
swift build -c release --product kith >/dev/null
bin=$(swift build -c release --show-bin-path)

source bench/caseload.sh
demo_database "$server" "$database" "$bin/kith-server"
reader=$(q "SELECT email FROM workers WHERE 'practitioner' = ANY(roles) ORDER BY email LIMIT 1")
give_caseload "$reader" 25
family=$(q "SELECT f.reference FROM families f JOIN current_allocations a ON a.family_id = f.id JOIN workers w ON w.id = a.worker_id
            WHERE w.email = '$reader' ORDER BY (SELECT count(*) FROM notes n WHERE n.family_id = f.id) DESC LIMIT 1")

DATABASE_URL=$(deploy/local-postgres.sh serving-url "$DATABASE_URL") KITH_HOST=127.0.0.1 KITH_PORT=$port KITH_LOG_LEVEL=error "$bin/kith-server" serve &
pid=$!
home=$(mktemp -d)
trap 'kill $pid 2>/dev/null; rm -rf "$home"' EXIT
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.2; done
export XDG_DATA_HOME=$home NO_COLOR=1
kith="$bin/kith"

echo "== first sync ($reader, 25 families)"
echo kith-demo-password | /usr/bin/time -f "login + first sync: %e s wall, %M KB peak memory" "$kith" login "127.0.0.1:$port" --email "$reader"
echo "local database: $(du -k "$home/kith/default/kith.sqlite" | cut -f1) KB, $(sqlite3 "$home/kith/default/kith.sqlite" 'SELECT count(*) FROM records' 2>/dev/null || echo '?') records"

echo "== offline reads"
hyperfine --warmup 3 --runs 30 --style basic \
    "$kith families" "$kith family $family" "$kith timeline $family --limit 1000" "$kith families --json"

echo "== offline writes, then one sync"
hyperfine --warmup 2 --runs 100 --style basic "KITH_OFFLINE=1 $kith note $family -m 'A note written on the train.'"
/usr/bin/time -f "kith sync of what waits: %e s wall, %M KB peak memory" "$kith" sync
