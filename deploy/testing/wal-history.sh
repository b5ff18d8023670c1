#!/usr/bin/env bash
# Small PostgreSQL 15 clusters on loopback for the tests of what a failover or a restore does to sync: a primary, a
# streaming standby made with pg_basebackup and promoted, a base backup brought up by archive recovery. Each ends on a
# new WAL timeline, as after a real failover or point-in-time restore; and a database stopped, crashed and started
# again under a serving Kith. Run as root, the clusters run as `postgres`.
#
#   wal-history.sh primary DIR PORT            initdb and start a primary
#   wal-history.sh standby FROM_PORT DIR PORT  pg_basebackup a streaming standby of FROM_PORT and start it
#   wal-history.sh backup FROM_PORT DIR        a base backup (with its WAL) of FROM_PORT into DIR
#   wal-history.sh recover DIR PORT            start DIR by archive recovery: replays its WAL, ends on a new timeline
#   wal-history.sh promote DIR                 promote a standby
#   wal-history.sh stop DIR                    stop at once (as a crash would)
#   wal-history.sh shutdown DIR                stop as an operator does for a minor update (fast: sessions ended)
#   wal-history.sh start DIR PORT              start a stopped cluster again
#   wal-history.sh destroy DIR                 stop and remove
set -euo pipefail
pgbin=/usr/lib/postgresql/15/bin

as_owner() {
    if [ "$(id -u)" -eq 0 ]; then su postgres -s /bin/bash -c "$(printf '%q ' "$@")"; else "$@"; fi
}

folder() {
    mkdir -p "$1"
    [ "$(id -u)" -eq 0 ] && chown postgres:postgres "$1"
    chmod 700 "$1"
}

start() {
    as_owner "$pgbin/pg_ctl" -D "$1" -l "$1/log" -w -t 60 start \
        -o "-k $1 -p $2 -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=50 -c timezone=UTC" >/dev/null
}

case "${1:-}" in
    primary)
        folder "$2"
        as_owner "$pgbin/initdb" -D "$2" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
        start "$2" "$3" ;;
    standby)
        folder "$3"
        as_owner "$pgbin/pg_basebackup" -h 127.0.0.1 -p "$2" -U postgres -D "$3" -X stream -c fast -R
        start "$3" "$4" ;;
    backup)
        folder "$3"
        as_owner "$pgbin/pg_basebackup" -h 127.0.0.1 -p "$2" -U postgres -D "$3" -X stream -c fast ;;
    recover)
        as_owner touch "$2/recovery.signal"
        as_owner bash -c "echo \"restore_command = 'false'\" >> '$2/postgresql.auto.conf'"
        start "$2" "$3"
        # pg_ctl -w returns once connections are taken, which a cluster in recovery does read-only: wait until it has
        # left recovery (the end of its WAL), or the first write meets "read-only transaction".
        for _ in $(seq 300); do
            [ "$(psql -h 127.0.0.1 -p "$3" -U postgres -d postgres -Atc 'SELECT pg_is_in_recovery()' 2>/dev/null)" = f ] && exit 0
            sleep 0.1
        done
        echo "the restored cluster on port $3 did not leave recovery" >&2; exit 1 ;;
    promote)
        as_owner "$pgbin/pg_ctl" -D "$2" -w promote >/dev/null ;;
    stop)
        as_owner "$pgbin/pg_ctl" -D "$2" -m immediate stop >/dev/null 2>&1 || true ;;
    shutdown)
        as_owner "$pgbin/pg_ctl" -D "$2" -m fast -w stop >/dev/null ;;
    start)
        start "$2" "$3" ;;
    destroy)
        as_owner "$pgbin/pg_ctl" -D "$2" -m immediate stop >/dev/null 2>&1 || true
        rm -rf "$2" ;;
    *) sed -n '2,16p' "$0" >&2; exit 2 ;;
esac
