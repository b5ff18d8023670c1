#!/usr/bin/env bash
# A PgBouncer in transaction mode on loopback, in front of a local PostgreSQL, for the tests and the drills.
#
#   pgbouncer.sh start DIR PORT UPSTREAM_PORT [POOL_SIZE]   (trust auth: loopback only)
#   pgbouncer.sh stop DIR
set -euo pipefail

as_owner() {
    if [ "$(id -u)" -eq 0 ]; then su postgres -s /bin/bash -c "$(printf '%q ' "$@")"; else "$@"; fi
}

case "${1:-}" in
    start)
        dir=$2
        mkdir -p "$dir"
        cat > "$dir/pgbouncer.ini" <<INI
[databases]
* = host=127.0.0.1 port=$4

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $3
unix_socket_dir =
pool_mode = transaction
; Kith sends its limits as startup parameters, which PgBouncer refuses unless told to ignore them; behind it they come
; from the serving role instead (ALTER ROLE kith_server SET ..., docs/operations.md).
ignore_startup_parameters = statement_timeout,lock_timeout,idle_in_transaction_session_timeout
auth_type = trust
auth_file = $dir/userlist.txt
default_pool_size = ${5:-2}
max_client_conn = 200
server_reset_query = DISCARD ALL
logfile = $dir/pgbouncer.log
pidfile = $dir/pgbouncer.pid
INI
        printf '"postgres" ""\n"kith_server" ""\n' > "$dir/userlist.txt"
        [ "$(id -u)" -eq 0 ] && chown -R postgres:postgres "$dir"
        as_owner /usr/sbin/pgbouncer -d "$dir/pgbouncer.ini"
        for _ in $(seq 50); do
            psql -h 127.0.0.1 -p "$3" -U postgres -d postgres -Atc 'SELECT 1' >/dev/null 2>&1 && exit 0
            sleep 0.1
        done
        echo "pgbouncer did not start on 127.0.0.1:$3" >&2; tail -5 "$dir/pgbouncer.log" >&2; exit 1 ;;
    stop)
        [ -f "$2/pgbouncer.pid" ] && kill "$(cat "$2/pgbouncer.pid")" 2>/dev/null || true ;;
    *) sed -n '2,5p' "$0" >&2; exit 2 ;;
esac
