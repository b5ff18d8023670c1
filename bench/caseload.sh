# Sourced by the benchmarks: a fresh demo database, SQL against $DATABASE_URL, and a practitioner's caseload made up
# to a size.

# demo_database SERVER_URL NAME KITH_SERVER: NAME dropped and made again on the cluster at SERVER_URL, migrated and
# loaded with the demo organisation (400 families, 3 years); DATABASE_URL is exported pointing at it.
demo_database() {
    psql "$1/postgres" -qc "DROP DATABASE IF EXISTS $2 WITH (FORCE)" -c "CREATE DATABASE $2"
    export DATABASE_URL=$1/$2
    "$3" migrate >/dev/null
    "$3" demo-data --families 400 --years 3 >/dev/null
}

q() { psql "$DATABASE_URL" -tAc "$1"; }

# give_caseload EMAIL N: allocates the practitioner EMAIL to more demo families until they hold N.
give_caseload() {
    local held
    held=$(q "SELECT count(DISTINCT a.family_id) FROM current_allocations a JOIN workers w ON w.id = a.worker_id WHERE w.email = '$1'")
    q "INSERT INTO allocations (organisation_id, id, family_id, worker_id, role, started_on, created_by)
       SELECT f.organisation_id, gen_random_uuid(), f.id, w.id, 'familySupport', current_date, w.id
       FROM workers w, LATERAL (SELECT * FROM families f WHERE f.organisation_id = w.organisation_id AND NOT EXISTS (
           SELECT 1 FROM current_allocations a WHERE a.family_id = f.id AND a.worker_id = w.id) ORDER BY f.id
           LIMIT $(( held < $2 ? $2 - held : 0 ))) f
       WHERE w.email = '$1'" >/dev/null
}
