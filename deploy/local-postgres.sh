#!/usr/bin/env bash
# A private PostgreSQL 15 cluster for development and tests, in a git-ignored folder of the project.
#
#   deploy/local-postgres.sh start   # installs PostgreSQL if missing, creates and starts the cluster, and prints
#                                    # the URL of its `kith` database as the last line (as the owner, `postgres`;
#                                    # `kith-server serve` connects as `kith_server`: postgres://kith_server@…)
#   deploy/local-postgres.sh stop
#   deploy/local-postgres.sh serving-url URL   # the same database as `serve` reaches it: as kith_server
#
# PostgreSQL refuses to run as root, so as root the cluster runs as the `postgres` system user.
# Settings: KITH_PGDATA (data folder, default .data/postgres), KITH_PGPORT (default 54329),
# KITH_PG_FSYNC (default on; the test cluster turns it off, its databases are thrown away), KITH_PG_MAX_CONNECTIONS
# (default 300; the test cluster has 1000: every test runs servers with pools of their own, fifty suites at once).
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
port=${KITH_PGPORT:-54329}
data=${KITH_PGDATA:-$here/.data/postgres}
pgbin=/usr/lib/postgresql/15/bin

say() { printf 'local-postgres: %s\n' "$*" >&2; }
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

install_postgres() {
    [ -x "$pgbin/initdb" ] && return 0
    say "installing PostgreSQL 15 with apt-get"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql-15 postgresql-client-15 >/dev/null
}

# Runs a command as the cluster's owner: ourselves, or `postgres` when we are root.
as_owner() {
    if [ "$(id -u)" -eq 0 ]; then
        su postgres -s /bin/bash -c "$(printf '%q ' "$@")"
    else
        "$@"
    fi
}

# As root, the postgres user must be able to reach the data folder; a checkout under a private home may not
# allow that, and then the cluster lives under /tmp instead (the same folder every time for this checkout).
resolve_data() {
    [ "$(id -u)" -eq 0 ] || return 0
    mkdir -p "$(dirname "$data")"
    if ! su postgres -s /bin/bash -c "test -x '$(dirname "$data")'" 2>/dev/null; then
        data=${TMPDIR:-/tmp}/kith-postgres-$(printf '%s' "$data" | sha1sum | cut -c1-12)
    fi
}

start() {
    install_postgres
    resolve_data
    mkdir -p "$data"
    [ "$(id -u)" -eq 0 ] && chown postgres:postgres "$data"
    chmod 700 "$data"
    if [ ! -f "$data/PG_VERSION" ]; then
        say "creating a cluster in $data"
        as_owner "$pgbin/initdb" -D "$data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
    fi
    if ! as_owner "$pgbin/pg_ctl" -D "$data" status >/dev/null 2>&1; then
        # In UTC, as the server's own calendar day is: the database's `current_date` is the same day as Kith's `today`
        # whatever the host's zone.
        if ! as_owner "$pgbin/pg_ctl" -D "$data" -l "$data/log" -w start \
            -o "-k $data -p $port -c listen_addresses=127.0.0.1 -c max_connections=${KITH_PG_MAX_CONNECTIONS:-300} -c fsync=${KITH_PG_FSYNC:-on} -c timezone=UTC" >/dev/null; then
            say "PostgreSQL did not start on 127.0.0.1:$port (another server on that port? set KITH_PGPORT). Its log ends:"
            tail -n 5 "$data/log" >&2
            exit 1
        fi
    fi
    psql -h 127.0.0.1 -p "$port" -U postgres -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = 'kith'" | grep -q 1 ||
        psql -h 127.0.0.1 -p "$port" -U postgres -d postgres -qc "CREATE DATABASE kith" >/dev/null
    # The role `kith-server serve` connects as (it owns nothing; `migrate` makes it a member of kith_app), trusted on
    # this cluster's loopback like every role here.
    psql -h 127.0.0.1 -p "$port" -U postgres -d postgres -qc \
        "DO \$\$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'kith_server') THEN CREATE ROLE kith_server LOGIN; END IF; END \$\$" \
        >/dev/null
    echo "postgres://postgres@127.0.0.1:$port/kith"
}

stop() {
    resolve_data
    [ -f "$data/PG_VERSION" ] || return 0
    as_owner "$pgbin/pg_ctl" -D "$data" -m fast stop >/dev/null 2>&1 || true
}

# The owner's URL with kith_server as its user and no password (trusted on the private clusters' loopback).
serving_url() {
    printf '%s\n' "$1" | sed -E 's#^(postgres(ql)?://)([^@/]*@)?#\1kith_server@#'
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    serving-url) serving_url "${2:?usage: $0 serving-url URL}" ;;
    *) echo "usage: $0 start|stop|serving-url URL" >&2; exit 2 ;;
esac
