#!/usr/bin/env bash
# A real streaming replica of the local PostgreSQL cluster, for CI, tests and benchmarks on one machine.
#
#   scripts/replica.sh start   # base backup of 127.0.0.1:5432 into var/replica, served on 127.0.0.1:5433
#   scripts/replica.sh stop
#   scripts/replica.sh url     # prints the DATABASE_REPLICA_URLS entry for a database name ($1 of url)
#
# The primary must accept replication connections from 127.0.0.1 (added to pg_hba.conf, trust, like the
# rest of this local cluster). Runs PostgreSQL's own binaries as the postgres user.
set -euo pipefail
cd "$(dirname "$0")/.."

PRIMARY_PORT=${PRIMARY_PORT:-5432}
REPLICA_PORT=${REPLICA_PORT:-5433}
DATA=${REPLICA_DATA:-$PWD/var/replica}
VERSION=$(ls /etc/postgresql | sort -n | tail -n 1)
BIN=/usr/lib/postgresql/$VERSION/bin
CONF=/etc/postgresql/$VERSION/main

log() { echo "[replica] $*" >&2; }
as_postgres() { runuser -u postgres -- "$@"; }

allow_replication() {
  local hba=$CONF/pg_hba.conf
  if ! grep -qE '^host[[:space:]]+replication[[:space:]]+all[[:space:]]+127\.0\.0\.1/32' "$hba"; then
    log "allowing replication connections from 127.0.0.1 ($hba)"
    echo "host replication all 127.0.0.1/32 trust" >>"$hba"
    pg_ctlcluster --skip-systemctl-redirect "$VERSION" main reload
  fi
}

start() {
  if pg_isready -h 127.0.0.1 -p "$REPLICA_PORT" -q; then
    log "a server already answers on port $REPLICA_PORT"
    return 0
  fi
  allow_replication
  if [ ! -f "$DATA/standby.signal" ] || [ ! -f "$DATA/postgresql.conf" ]; then
    log "base backup of 127.0.0.1:$PRIMARY_PORT into $DATA"
    rm -rf "$DATA"
    mkdir -p "$DATA"
    chown postgres:postgres "$DATA"
    chmod 700 "$DATA"
    # -R writes primary_conninfo and standby.signal: the copy starts as a streaming standby.
    as_postgres "$BIN/pg_basebackup" -h 127.0.0.1 -p "$PRIMARY_PORT" -U postgres -D "$DATA" -R -X stream -c fast
    # Debian keeps the configuration outside the data directory: the standby's own settings here.
    cat >"$DATA/postgresql.conf" <<EOF
port = $REPLICA_PORT
listen_addresses = '127.0.0.1'
hba_file = '$CONF/pg_hba.conf'
ident_file = '$CONF/pg_ident.conf'
hot_standby = on
hot_standby_feedback = on
max_standby_streaming_delay = 5s
EOF
  fi
  log "starting the standby on port $REPLICA_PORT"
  as_postgres "$BIN/pg_ctl" -D "$DATA" -l "$DATA/server.log" -w -t 60 start >/dev/null
}

stop() {
  if [ -f "$DATA/postmaster.pid" ]; then
    as_postgres "$BIN/pg_ctl" -D "$DATA" -m fast -w stop >/dev/null
  fi
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  url) echo "postgres://postgres@127.0.0.1:$REPLICA_PORT/${2:?database name}" ;;
  *)
    echo "usage: scripts/replica.sh start | stop | url DATABASE" >&2
    exit 2
    ;;
esac
