#!/usr/bin/env bash
# The restore drill, run by hand: a PostgreSQL 15 on loopback archiving its WAL to a pgBackRest repository, Kith and
# four devices writing through it (deploy/ha/restore-drill.py), a backup taken mid-run, more writes, then a restore to
# the moment of the backup into a new data folder. The server starts on the restored cluster and the devices, which
# hold work the restored database no longer has, resync by themselves: every mutation they were told was applied must
# be there exactly once. Everything lives in .data/restore-drill (as root, run as postgres).
#
#   deploy/backup/restore-drill.sh cluster up|down     the archiving cluster on 127.0.0.1:5440
#   deploy/backup/restore-drill.sh backup               a full backup now
#   deploy/backup/restore-drill.sh restore TARGET_TIME  restore (to TARGET_TIME) on 127.0.0.1:5441
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
dir=${KITH_RESTORE_DRILL_DIR:-$here/.data/restore-drill}
pgbin=/usr/lib/postgresql/15/bin
as_owner() { if [ "$(id -u)" -eq 0 ]; then su postgres -s /bin/bash -c "$(printf '%q ' "$@")"; else "$@"; fi; }

prepare() {
    mkdir -p "$dir"
    [ "$(id -u)" -eq 0 ] && chown postgres:postgres "$dir"
    as_owner mkdir -p "$dir/repo" "$dir/log" "$dir/spool"
    as_owner tee "$dir/pgbackrest.conf" >/dev/null <<CONF
[global]
repo1-path=$dir/repo
log-path=$dir/log
spool-path=$dir/spool
lock-path=$dir/spool
start-fast=y
log-level-console=warn

[kith]
pg1-path=$dir/primary
pg1-port=5440
pg1-socket-path=$dir/primary
CONF
}

backrest() { as_owner pgbackrest --config="$dir/pgbackrest.conf" --stanza=kith "$@"; }

case "${1:-} ${2:-}" in
    "cluster up")
        prepare
        if [ ! -f "$dir/primary/PG_VERSION" ]; then
            as_owner mkdir -p "$dir/primary"
            as_owner chmod 700 "$dir/primary"
            as_owner "$pgbin/initdb" -D "$dir/primary" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
            as_owner tee -a "$dir/primary/postgresql.auto.conf" >/dev/null <<CONF
archive_mode = on
archive_command = 'pgbackrest --config=$dir/pgbackrest.conf --stanza=kith archive-push %p'
max_connections = 100
CONF
        fi
        as_owner "$pgbin/pg_ctl" -D "$dir/primary" -l "$dir/primary.log" -w start \
            -o "-k $dir/primary -p 5440 -c listen_addresses=127.0.0.1" >/dev/null
        backrest stanza-create >/dev/null 2>&1 || true
        psql -h 127.0.0.1 -p 5440 -U postgres -tAc "SELECT 1 FROM pg_database WHERE datname = 'kith'" | grep -q 1 ||
            psql -h 127.0.0.1 -p 5440 -U postgres -qc "CREATE DATABASE kith"
        echo "postgres://postgres@127.0.0.1:5440/kith" ;;
    "cluster down")
        for data in primary restored; do
            [ -f "$dir/$data/postmaster.pid" ] && as_owner "$pgbin/pg_ctl" -D "$dir/$data" -m fast stop >/dev/null 2>&1 || true
        done ;;
    "backup "*)
        backrest --type=full backup ;;
    "restore "*)
        as_owner rm -rf "$dir/restored"
        as_owner mkdir -p "$dir/restored"
        as_owner chmod 700 "$dir/restored"
        backrest --pg1-path="$dir/restored" --type=time "--target=$2" --target-action=promote restore
        # The restored cluster must not archive into the repository of the one it came from.
        as_owner bash -c "echo \"archive_mode = off\" >> '$dir/restored/postgresql.auto.conf'"
        as_owner "$pgbin/pg_ctl" -D "$dir/restored" -l "$dir/restored.log" -w -t 120 start \
            -o "-k $dir/restored -p 5441 -c listen_addresses=127.0.0.1" >/dev/null
        echo "postgres://postgres@127.0.0.1:5441/kith" ;;
    *) sed -n '2,12p' "$0" >&2; exit 2 ;;
esac
