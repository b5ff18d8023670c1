#!/usr/bin/env bash
# A highly available PostgreSQL 15 on this machine, for the failover drill: etcd, three Patroni nodes with
# synchronous replication, HAProxy routing to the leader through Patroni's REST checks, and PgBouncer (transaction
# mode) in front of HAProxy. Everything listens on loopback, runs as a non-root user (`postgres` when started as
# root) and lives in one folder of the project's own (KITH_HA_DIR, default .data/ha).
#
#   deploy/ha/cluster.sh up        start it all and wait for a leader; prints the PgBouncer URL of database kith
#   deploy/ha/cluster.sh down      stop it all (the data folder stays; `destroy` removes it)
#   deploy/ha/cluster.sh leader    the name of the current leader
#   deploy/ha/cluster.sh kill-leader   SIGKILL the leader's postmaster and Patroni (an unplanned failover)
#   deploy/ha/cluster.sh rejoin NODE   bring a killed node back as a fresh replica of the leader
#   deploy/ha/cluster.sh status    patronictl list
#
# Ports: etcd 2379/2380, PostgreSQL 5433-5435, Patroni REST 8008-8010, HAProxy 5000 (leader) and 7000 (stats),
# PgBouncer 6432. Needs Debian's postgresql-15, patroni, etcd-server, haproxy and pgbouncer (installed if missing).
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
dir=${KITH_HA_DIR:-$here/.data/ha}
pgbin=/usr/lib/postgresql/15/bin
nodes=(kith1 kith2 kith3)

say() { printf 'ha: %s\n' "$*" >&2; }
as_owner() { if [ "$(id -u)" -eq 0 ]; then su postgres -s /bin/bash -c "$(printf '%q ' "$@")"; else "$@"; fi; }
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

install_missing() {
    local missing=()
    [ -x "$pgbin/initdb" ] || missing+=(postgresql-15)
    command -v patroni >/dev/null || missing+=(patroni)
    command -v etcd >/dev/null || missing+=(etcd-server)
    command -v haproxy >/dev/null || missing+=(haproxy)
    [ -x /usr/sbin/pgbouncer ] || missing+=(pgbouncer)
    [ ${#missing[@]} -eq 0 ] && return 0
    say "installing ${missing[*]}"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

folders() {
    # As root the cluster runs as postgres, who must reach the folder; a checkout under a private home may not allow
    # that, and then it lives under /tmp (the same folder every time for this checkout).
    if [ "$(id -u)" -eq 0 ]; then
        mkdir -p "$(dirname "$dir")"
        if ! su postgres -s /bin/bash -c "test -x '$(dirname "$dir")'" 2>/dev/null; then
            dir=${TMPDIR:-/tmp}/kith-ha-$(printf '%s' "$dir" | sha1sum | cut -c1-12)
        fi
    fi
    mkdir -p "$dir"
    [ "$(id -u)" -eq 0 ] && chown postgres:postgres "$dir"
    as_owner mkdir -p "$dir/etcd" "$dir/pgbouncer" "$dir/haproxy"
    for node in "${nodes[@]}"; do as_owner mkdir -p "$dir/$node"; done
}

write_configs() {
    local i=0
    for node in "${nodes[@]}"; do
        local pg=$((5433 + i)) api=$((8008 + i))
        as_owner tee "$dir/$node.yml" >/dev/null <<YML
scope: kith
name: $node
restapi:
  listen: 127.0.0.1:$api
  connect_address: 127.0.0.1:$api
etcd3:
  hosts: 127.0.0.1:2379
bootstrap:
  dcs:
    ttl: 10
    loop_wait: 2
    retry_timeout: 5
    # A committed transaction is on the synchronous standby before the client hears of it; only that standby may be
    # promoted, so a failover loses nothing that was confirmed.
    maximum_lag_on_failover: 1048576
    synchronous_mode: true
    postgresql:
      use_pg_rewind: true
      parameters:
        wal_level: replica
        hot_standby: "on"
        max_wal_senders: 10
        max_replication_slots: 10
        wal_log_hints: "on"
        max_connections: 200
  initdb: [{encoding: UTF8}, {locale: C.UTF-8}]
  pg_hba:
    - local all all trust
    - host all all 127.0.0.1/32 trust
    - host replication all 127.0.0.1/32 trust
postgresql:
  listen: 127.0.0.1:$pg
  connect_address: 127.0.0.1:$pg
  data_dir: $dir/$node/data
  bin_dir: $pgbin
  pgpass: $dir/$node/pgpass
  # Loopback with trust authentication: the passwords are there because initdb wants one, not to protect anything.
  authentication:
    superuser: {username: postgres, password: kith-ha-local}
    replication: {username: postgres, password: kith-ha-local}
    rewind: {username: postgres, password: kith-ha-local}
  parameters:
    unix_socket_directories: $dir/$node
tags: {nofailover: false, noloadbalance: false, clonefrom: false, nosync: false}
YML
        i=$((i + 1))
    done
    as_owner tee "$dir/haproxy/haproxy.cfg" >/dev/null <<CFG
global
    maxconn 1000
defaults
    mode tcp
    timeout connect 2s
    timeout client 30m
    timeout server 30m
    timeout check 2s
listen stats
    mode http
    bind 127.0.0.1:7000
    stats enable
    stats uri /
listen leader
    bind 127.0.0.1:5000
    option httpchk GET /primary
    http-check expect status 200
    default-server inter 1s fall 2 rise 1 on-marked-down shutdown-sessions
    server kith1 127.0.0.1:5433 check port 8008
    server kith2 127.0.0.1:5434 check port 8009
    server kith3 127.0.0.1:5435 check port 8010
CFG
    as_owner tee "$dir/pgbouncer/pgbouncer.ini" >/dev/null <<INI
[databases]
* = host=127.0.0.1 port=5000

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = 6432
unix_socket_dir =
pool_mode = transaction
; Kith sends its limits as startup parameters, which PgBouncer refuses unless told to ignore them; behind it they come
; from the serving role instead (ALTER ROLE kith_server SET ..., docs/operations.md).
ignore_startup_parameters = statement_timeout,lock_timeout,idle_in_transaction_session_timeout
auth_type = trust
auth_file = $dir/pgbouncer/userlist.txt
default_pool_size = 20
max_client_conn = 500
server_reset_query = DISCARD ALL
server_check_delay = 1
server_connect_timeout = 3
server_login_retry = 1
logfile = $dir/pgbouncer/pgbouncer.log
pidfile = $dir/pgbouncer/pgbouncer.pid
INI
    as_owner bash -c "printf '\"postgres\" \"\"\\n\"kith_server\" \"\"\\n' > '$dir/pgbouncer/userlist.txt'"
}

running() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

start_node() {
    local node=$1
    running "$dir/$node.pid" && return 0
    as_owner bash -c "nohup patroni '$dir/$node.yml' >>'$dir/$node.log' 2>&1 & echo \$! > '$dir/$node.pid'"
}

up() {
    install_missing
    folders
    write_configs
    if ! running "$dir/etcd.pid"; then
        as_owner bash -c "nohup etcd --name kith-etcd --data-dir '$dir/etcd' \
            --listen-client-urls http://127.0.0.1:2379 --advertise-client-urls http://127.0.0.1:2379 \
            --listen-peer-urls http://127.0.0.1:2380 --initial-advertise-peer-urls http://127.0.0.1:2380 \
            --initial-cluster kith-etcd=http://127.0.0.1:2380 >>'$dir/etcd.log' 2>&1 & echo \$! > '$dir/etcd.pid'"
        for _ in $(seq 50); do curl -sf http://127.0.0.1:2379/health >/dev/null && break; sleep 0.2; done
    fi
    for node in "${nodes[@]}"; do start_node "$node"; done
    running "$dir/haproxy/haproxy.pid" || as_owner haproxy -D -f "$dir/haproxy/haproxy.cfg" -p "$dir/haproxy/haproxy.pid"
    running "$dir/pgbouncer/pgbouncer.pid" || as_owner /usr/sbin/pgbouncer -d "$dir/pgbouncer/pgbouncer.ini"
    say "waiting for a leader and its synchronous standby"
    for _ in $(seq 180); do
        if psql -h 127.0.0.1 -p 5000 -U postgres -d postgres -Atc "SELECT count(*) FROM pg_stat_replication WHERE sync_state = 'sync'" 2>/dev/null | grep -q '^[1-9]'; then
            psql -h 127.0.0.1 -p 5000 -U postgres -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = 'kith'" | grep -q 1 ||
                psql -h 127.0.0.1 -p 5000 -U postgres -d postgres -qc "CREATE DATABASE kith"
            echo "postgres://postgres@127.0.0.1:6432/kith"
            return 0
        fi
        sleep 1
    done
    say "no leader with a synchronous standby after 180 s; see $dir/*.log"
    exit 1
}

down() {
    folders >/dev/null 2>&1 || true
    for pidfile in "$dir/pgbouncer/pgbouncer.pid" "$dir/haproxy/haproxy.pid" "$dir"/kith?.pid; do
        running "$pidfile" && kill "$(cat "$pidfile")" 2>/dev/null || true
    done
    sleep 2
    for node in "${nodes[@]}"; do
        [ -f "$dir/$node/data/postmaster.pid" ] && as_owner "$pgbin/pg_ctl" -D "$dir/$node/data" -m fast stop >/dev/null 2>&1 || true
    done
    # A Patroni started by an earlier `rejoin` whose pid file was overwritten, should there be one.
    pkill -f "patroni $dir/" 2>/dev/null || true
    running "$dir/etcd.pid" && kill "$(cat "$dir/etcd.pid")" 2>/dev/null || true
    return 0
}

leader() {
    local i=0
    for node in "${nodes[@]}"; do
        if curl -sf "http://127.0.0.1:$((8008 + i))/primary" >/dev/null 2>&1; then echo "$node"; return 0; fi
        i=$((i + 1))
    done
    return 1
}

kill_leader() {
    folders >/dev/null 2>&1 || true
    local name; name=$(leader) || { say "no leader"; return 1; }
    # Patroni first, so it cannot stop PostgreSQL cleanly, then the postmaster: the node is gone as if powered off.
    local patroni postmaster
    patroni=$(cat "$dir/$name.pid")
    postmaster=$(head -n 1 "$dir/$name/data/postmaster.pid")
    kill -9 "$patroni" "$postmaster" 2>/dev/null || true
    # Gone, ports and all, before anything else happens.
    for _ in $(seq 100); do kill -0 "$patroni" 2>/dev/null || kill -0 "$postmaster" 2>/dev/null || break; sleep 0.1; done
    echo "$name"
}

case "${1:-}" in
    up) up ;;
    down) down ;;
    destroy) down; folders >/dev/null 2>&1 || true; rm -rf "$dir" ;;
    leader) leader ;;
    kill-leader) kill_leader ;;
    restart) folders >/dev/null 2>&1; start_node "$2" ;;
    # A killed node comes back as a fresh replica, cloned from the leader (Patroni's own `reinit`): what it wrote
    # after the last synchronous commit was never confirmed to anyone, so nothing of value is dropped.
    rejoin) folders >/dev/null 2>&1; as_owner rm -rf "$dir/$2/data"; start_node "$2" ;;
    status) folders >/dev/null 2>&1; shift; as_owner patronictl -c "$dir/kith1.yml" list "$@" ;;
    *) sed -n '2,17p' "$0" >&2; exit 2 ;;
esac
