#!/usr/bin/env bash
# Sync throughput, run by hand (not in CI). On the local cluster of deploy/local-postgres.sh:
#   1. 8 simulated devices, each pushing ROUNDS batches of 50 notes through kith-server (loopback);
#   2. pgbench inserting the same rows (50 notes and their first revisions per transaction, change-log triggers and
#      all) as raw multi-row INSERTs from 8 clients, on the same database in the same run;
#   3. a first sync (empty cursor) of a 25-family caseload.
#
#   bench/sync.sh [ROUNDS]          (default 20: 8 x 20 x 50 = 8,000 notes each way)
# Uses a release build; figures go to docs/benchmarks.md by hand.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-20}
port=18091
url=$(deploy/local-postgres.sh start | tail -n 1)
server=${url%/*}
database=kith_bench_sync
command -v pgbench >/dev/null || { echo "pgbench is missing: apt-get install postgresql-contrib-15 (or postgresql-15)"; exit 1; }
swift build -c release --product kith-server >/dev/null
bin=$(swift build -c release --show-bin-path)/kith-server

source bench/caseload.sh
demo_database "$server" "$database" "$bin"

# Caseloads: eight practitioners with a family each for pushing, and one with 25 families for the first sync.
q "SELECT email FROM workers WHERE 'practitioner' = ANY(roles) ORDER BY email LIMIT 9" > /tmp/kith-bench-workers
reader=$(tail -n 1 /tmp/kith-bench-workers)
give_caseload "$reader" 25

DATABASE_URL=$(deploy/local-postgres.sh serving-url "$DATABASE_URL") KITH_HOST=127.0.0.1 KITH_PORT=$port KITH_LOG_LEVEL=error "$bin" serve &
pid=$!
trap 'kill $pid 2>/dev/null' EXIT
base=http://127.0.0.1:$port
for _ in $(seq 50); do curl -sf "$base/healthz" >/dev/null && break; sleep 0.2; done

device() {  # email -> {"token", "deviceId", "familyId"} after a first pull (which grants its caseload)
    python3 - "$base" "$1" <<'PY'
import json, sys, urllib.request
base, email = sys.argv[1], sys.argv[2]
def post(path, body, token=None):
    headers = {"Content-Type": "application/json"}
    if token: headers["Authorization"] = "Bearer " + token
    request = urllib.request.Request(base + path, data=json.dumps(body).encode(), headers=headers, method="POST")
    with urllib.request.urlopen(request) as response: return json.load(response)
login = post("/v1/auth/login", {"email": email, "password": "kith-demo-password"})
device = post("/v1/devices", {"name": "bench", "platform": "bench", "clientVersion": "bench"}, login["token"])
page = post("/v1/sync/pull", {"protocol": 1, "deviceId": device["deviceId"], "limit": 1}, device["token"])
print(json.dumps({"token": device["token"], "deviceId": device["deviceId"], "familyId": page["scope"]["grants"][0]["familyId"]}))
PY
}
devices=$(head -n 8 /tmp/kith-bench-workers | while read -r email; do device "$email"; done | paste -sd, -)
python3 bench/sync_driver.py push "$base" "$rounds" <<< "[$devices]"

# The same rows straight into PostgreSQL: one transaction of 50 notes and 50 revisions, per client and round.
author=$(q "SELECT id FROM workers WHERE email = '$(head -n 1 /tmp/kith-bench-workers)'")
family=$(q "SELECT family_id FROM current_allocations WHERE worker_id = '$author' LIMIT 1")
organisation=$(q "SELECT organisation_id FROM workers WHERE id = '$author'")
cat > /tmp/kith-bench-insert.sql <<SQL
WITH n AS (
    INSERT INTO notes (organisation_id, id, family_id, audience, author_id)
    SELECT '$organisation', gen_random_uuid(), '$family', 'professional', '$author' FROM generate_series(1, 50)
    RETURNING organisation_id, id, family_id, author_id)
INSERT INTO note_revisions (organisation_id, id, note_id, family_id, number, body, author_id)
SELECT organisation_id, gen_random_uuid(), id, family_id, 1,
       repeat('Visited after school. The children showed me their drawings; ', 4), author_id FROM n;
SQL
transactions=$(pgbench -n -c 8 -j 8 -t "$rounds" -f /tmp/kith-bench-insert.sql "$DATABASE_URL" 2>/dev/null \
    | awk '/tps =/ {print $3; exit}')
python3 -c "print(f'pgbench raw inserts: {float(\"$transactions\") * 50:.0f} notes/s ({float(\"$transactions\"):.0f} transactions/s of 50)')"

python3 bench/sync_driver.py pull "$base" <<< "[$(device "$reader")]"
