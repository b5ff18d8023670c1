#!/usr/bin/env bash
# A private PostgreSQL 15 cluster for development and tests, in a git-ignored folder of the project.
#
#   deploy/local-postgres.sh start   # installs PostgreSQL if missing, creates and starts the cluster,
#                                    # prints the DATABASE_URL of its `kith` database on the last line
#   deploy/local-postgres.sh stop
#
# PostgreSQL refuses to run as root, so as root the cluster runs as the `postgres` system user.
# Settings: KITH_PGDATA (data folder, default .data/postgres), KITH_PGPORT (default 54329).
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
port=${KITH_PGPORT:-54329}
data=${KITH_PGDATA:-$here/.data/postgres}
pgbin=/usr/lib/postgresql/15/bin

say() { printf 'local-postgres: %s\n' "$*" >&2; }

install_postgres() {
    [ -x "$pgbin/initdb" ] && return 0
    say "installing PostgreSQL 15 with apt-get"
    if [ "$(id -u)" -eq 0 ]; then
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql-15 >/dev/null
    else
        sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql-15 >/dev/null
    fi
}

# Runs a command as the cluster's owner: ourselves, or `postgres` when we are root.
as_owner() {
    if [ "$(id -u)" -eq 0 ]; then
        su postgres -s /bin/bash -c "$(printf '%q ' "$@")"
    else
        "$@"
    fi
}

prepare_data_folder() {
    mkdir -p "$(dirname "$data")"
    if [ "$(id -u)" -eq 0 ]; then
        mkdir -p "$data"
        chown postgres:postgres "$data"
        chmod 700 "$data"
        # The postgres user must be able to reach the folder; a checkout under a private home may not allow it.
        if ! su postgres -s /bin/bash -c "test -w '$data'"; then
            data=${TMPDIR:-/tmp}/kith-postgres-$(printf '%s' "$here" | sha1sum | cut -c1-12)
            say "the postgres user cannot reach the project folder; using $data"
            mkdir -p "$data" && chown postgres:postgres "$data" && chmod 700 "$data"
        fi
    else
        mkdir -p "$data" && chmod 700 "$data"
    fi
}

start() {
    install_postgres
    prepare_data_folder
    if [ ! -f "$data/PG_VERSION" ]; then
        say "creating a cluster in $data"
        as_owner "$pgbin/initdb" -D "$data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
    fi
    if ! as_owner "$pgbin/pg_ctl" -D "$data" status >/dev/null 2>&1; then
        as_owner "$pgbin/pg_ctl" -D "$data" -l "$data/log" -w start \
            -o "-k $data -p $port -c listen_addresses=127.0.0.1 -c max_connections=200 -c fsync=${KITH_PG_FSYNC:-on}" >/dev/null
    fi
    psql -h 127.0.0.1 -p "$port" -U postgres -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = 'kith'" | grep -q 1 ||
        psql -h 127.0.0.1 -p "$port" -U postgres -d postgres -qc "CREATE DATABASE kith" >/dev/null
    echo "postgres://postgres@127.0.0.1:$port/kith"
}

stop() {
    [ -f "$data/PG_VERSION" ] || return 0
    as_owner "$pgbin/pg_ctl" -D "$data" -m fast stop >/dev/null 2>&1 || true
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
