#!/usr/bin/env bash
# A throw-away PostgreSQL + pgvector (>= 0.8.0) server on 127.0.0.1 for embedlab's tests and benchmarks.
#   bash scripts/postgres.sh start          create the cluster (first time), start it, print its URL
#   bash scripts/postgres.sh stop [--wipe]  stop it; --wipe also deletes its data folder
#   bash scripts/postgres.sh status         exit 0 (and print the URL) when it accepts connections, else 1
#   bash scripts/postgres.sh url            print the URL: postgresql://postgres@127.0.0.1:PORT/embedlab
#   bash scripts/postgres.sh check          exit 0 when PostgreSQL and pgvector >= 0.8.0 are installed, else 3
#   bash scripts/postgres.sh psql [ARGS]    psql on the embedlab database
# Settings (environment):
#   EMBEDLAB_PGDATA     data folder (default: .pgdata in this checkout; add nothing of it to git)
#   EMBEDLAB_PGPORT     port; default 54329, or the next free one when that is taken (the choice is kept)
#   EMBEDLAB_PG_BINDIR  PostgreSQL's bin folder (default: the newest /usr/lib/postgresql/*/bin with pgvector)
# Install the server and pgvector with `bash scripts/install-system.sh` as root (Debian).
#
# The data folder holds cluster/ (the server's files), run/ (its unix socket and server.log) and port.
# initdb refuses root, so as root the server runs as the OS user `postgres`; when that user cannot reach
# the data folder (a checkout under /root, pytest's private tmp), the folder becomes a link to
# /tmp/embedlab-pgdata-<hash>. Every database has the `vector` extension (it is in template1) and trust
# authentication, for local and 127.0.0.1 connections only; the database superuser is `postgres`.
set -euo pipefail
umask 022

PGVECTOR_MIN=0.8.0
DEFAULT_PORT=54329
DB=embedlab
DB_USER=postgres
checkout=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
data=${EMBEDLAB_PGDATA:-$checkout/.pgdata}
case "$data" in /*) ;; *) data="$PWD/$data" ;; esac
data=${data%/}
# Settings of the caller's shell (PGDATABASE, PGOPTIONS, PGSSLMODE...) must not leak into our commands.
for v in $(compgen -e | grep '^PG' || true); do unset "$v"; done

die() { echo "postgres.sh: error: $1" >&2; exit "${2:-1}"; }
version_ge() { [ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | head -n1)" = "$2" ]; }
is_root() { [ "$(id -u)" = 0 ]; }
server_user() { if is_root; then echo postgres; else id -un; fi; }
as_server() {  # run a command as the OS user that owns the cluster, from a folder it can enter
  if is_root; then (cd / && runuser -u postgres -- "$@" 9>&-); else (cd / && "$@" 9>&-); fi
}

# --- finding PostgreSQL and pgvector -----------------------------------------------------------------
pg_config_of() { "$1/pg_config" "$2" 2>/dev/null || true; }
pgvector_version_in() {  # $1 = bin folder -> the default_version of its vector.control, or nothing
  local share lib ctl
  share=$(pg_config_of "$1" --sharedir); lib=$(pg_config_of "$1" --pkglibdir)
  [ -n "$share" ] || share="/usr/share/postgresql/$(basename "$(dirname "$1")")"
  [ -n "$lib" ] || lib="$(dirname "$1")/lib"
  ctl="$share/extension/vector.control"
  [ -f "$ctl" ] && [ -f "$lib/vector.so" ] || return 0
  sed -n "s/^[[:space:]]*default_version[[:space:]]*=[[:space:]]*'\([^']*\)'.*/\1/p" "$ctl"
}
find_bindir() {
  local d v
  if [ -n "${EMBEDLAB_PG_BINDIR:-}" ]; then echo "$EMBEDLAB_PG_BINDIR"; return; fi
  local dirs=()
  while IFS= read -r d; do [ -x "$d/initdb" ] && dirs+=("$d"); done \
    < <(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r)
  for d in "${dirs[@]}"; do  # the newest one that has a recent enough pgvector
    v=$(pgvector_version_in "$d"); if [ -n "$v" ] && version_ge "$v" "$PGVECTOR_MIN"; then echo "$d"; return; fi
  done
  if [ ${#dirs[@]} -gt 0 ]; then echo "${dirs[0]}"; return; fi
  if command -v initdb >/dev/null 2>&1; then dirname "$(command -v initdb)"; fi
}
bindir=$(find_bindir)
install_hint="run 'bash scripts/install-system.sh' as root (Debian) to install it"
check_install() {  # prints the reason and returns 1 when something is missing
  local b v
  for b in initdb pg_ctl postgres psql; do
    if [ -z "$bindir" ] || [ ! -x "$bindir/$b" ]; then
      echo "PostgreSQL server programs not found (no $b${bindir:+ in $bindir}); $install_hint"; return 1
    fi
  done
  if is_root && ! id postgres >/dev/null 2>&1; then
    echo "running as root needs the OS user 'postgres' (initdb refuses root); $install_hint"; return 1
  fi
  v=$(pgvector_version_in "$bindir")
  if [ -z "$v" ]; then echo "pgvector is not installed for PostgreSQL in $bindir; $install_hint"; return 1; fi
  if ! version_ge "$v" "$PGVECTOR_MIN"; then
    echo "pgvector $v is too old (need >= $PGVECTOR_MIN: iterative index scans); $install_hint"; return 1
  fi
}

# --- the data folder -----------------------------------------------------------------------------------
real=""    # the data folder with links resolved; empty when there is none
locate() { if [ -d "$data" ]; then real=$(cd -P "$data" && pwd); fi; }
created=0  # this run made the data folder: a start that fails before initdb removes it again
make_folder() {  # create the data folder; somewhere the server user can reach
  local target
  [ -e "$data" ] || created=1
  if [ -L "$data" ] && [ ! -e "$data" ]; then mkdir -p "$(readlink "$data")"; fi   # /tmp was cleaned
  if [ ! -e "$data" ]; then
    mkdir -p "$data"
    if is_root && ! runuser -u postgres -- test -x "$data" 2>/dev/null; then
      target="/tmp/embedlab-pgdata-$(printf %s "$data" | sha256sum | cut -c1-12)"
      rmdir "$data"; mkdir -p "$target"; chmod 755 "$target"; ln -s "$target" "$data"
    fi
  fi
  [ -d "$data" ] || die "$data exists and is not a folder"
  locate
}
lock() {
  { : >>"$real/.lock"; } 2>/dev/null || die "cannot write in $real (its server belongs to another OS user: run as root)"
  exec 9>>"$real/.lock"; flock -w 300 9 || die "another postgres.sh still holds $real/.lock after 5 min"; }
stored_port() { cat "$real/port" 2>/dev/null || true; }
url_for() { echo "postgresql://$DB_USER@127.0.0.1:$1/$DB"; }

sql() {  # sql PORT DB ARGS... : psql over TCP, as the database superuser; quiet, tuples only
  local port=$1 db=$2; shift 2
  PGOPTIONS='-c client_min_messages=warning' PGCONNECT_TIMEOUT=5 \
    "$bindir/psql" -X -q -A -t -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U "$DB_USER" -d "$db" "$@" </dev/null
}
server_state() {  # 0: its postmaster runs, 1: it does not, 2: cannot tell (the cluster is another user's)
  local rc=0
  [ -e "$real/cluster" ] || return 1
  [ -f "$real/cluster/PG_VERSION" ] || [ ! -r "$real/cluster" ] || return 1
  as_server "$bindir/pg_ctl" status -D "$real/cluster" >/dev/null 2>&1 || rc=$?
  case $rc in 0) return 0 ;; 3) return 1 ;; *) return 2 ;; esac
}
serving() {  # our cluster accepts connections at the stored port (and not some other server there)
  local port dir state=0
  port=$(stored_port); [ -n "$port" ] && [ -n "$real" ] || return 1
  server_state || state=$?
  [ "$state" != 1 ] || return 1   # no waiting on whatever else may listen on that port now
  dir=$(sql "$port" postgres -c "SHOW data_directory" 2>/dev/null) || return 1
  [ "$dir" = "$real/cluster" ]
}
port_taken() { timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null; }

write_settings() {  # $1 = port; rewritten on every start
  local port=$1 sockdir="$real/run" dsm=posix shm
  # unix socket paths are limited to 107 bytes; past that the server listens on TCP only
  [ ${#sockdir} -le 90 ] || sockdir=""
  # parallel index builds put maintenance_work_mem in shared memory: a container's /dev/shm is often
  # 64 MB (and a chroot's may not be writable); then it goes to files in the data folder instead
  shm=$(df -Pk /dev/shm 2>/dev/null | awk 'NR == 2 { print $4 }')
  [ "${shm:-0}" -ge 1048576 ] && as_server test -w /dev/shm || dsm=mmap
  as_server tee "$real/cluster/embedlab.conf" >/dev/null <<EOF
# Written by scripts/postgres.sh on every start: a throw-away server for tests and benchmarks
# on a small shared machine (2 cores). Durability is relaxed where it cannot corrupt data.
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$sockdir'
max_connections = 50
shared_buffers = 128MB
work_mem = 8MB
maintenance_work_mem = 256MB          # HNSW builds of ~100k x 128 vectors stay in memory
max_worker_processes = 4
max_parallel_workers = 2
max_parallel_workers_per_gather = 1
max_parallel_maintenance_workers = 1
dynamic_shared_memory_type = $dsm
wal_level = minimal                   # no WAL for tables and indexes built in one transaction
max_wal_senders = 0
max_wal_size = 1GB
fsync = on
synchronous_commit = off              # a crash may lose the last commits, never consistency
jit = off                             # JIT compiles cost more than they save on small queries
timezone = 'UTC'
log_line_prefix = '%m [%p] '
log_min_messages = warning
EOF
}

init_cluster() {
  local new="$real/cluster.new" out
  rm -rf "$new"; mkdir -p "$new" "$real/run"
  if is_root; then chown postgres: "$new" "$real/run"; fi
  chmod 700 "$new"
  out=$(as_server "$bindir/initdb" -D "$new" -U "$DB_USER" -A trust -E UTF8 --no-locale --no-sync 2>&1) \
    || { echo "$out" >&2; die "initdb failed in $new"; }
  as_server tee "$new/pg_hba.conf" >/dev/null <<'EOF'
# scripts/postgres.sh: trust, for this machine only (the server listens on 127.0.0.1 and its own socket)
local  all  all                trust
host   all  all  127.0.0.1/32  trust
EOF
  printf "\ninclude 'embedlab.conf'\n" | as_server tee -a "$new/postgresql.conf" >/dev/null
  mv "$new" "$real/cluster"
}

bootstrap() {  # $1 = port: the vector extension in template1 (so every new database has it) and the db
  local port=$1 v
  sql "$port" template1 -c "CREATE EXTENSION IF NOT EXISTS vector" -c "ALTER EXTENSION vector UPDATE" \
    || die "CREATE EXTENSION vector failed; $install_hint"
  [ "$(sql "$port" postgres -c "SELECT 1 FROM pg_database WHERE datname = '$DB'")" = 1 ] \
    || sql "$port" postgres -c "CREATE DATABASE $DB" || die "CREATE DATABASE $DB failed"
  sql "$port" "$DB" -c "CREATE EXTENSION IF NOT EXISTS vector" -c "ALTER EXTENSION vector UPDATE" \
    || die "CREATE EXTENSION vector failed in $DB"
  v=$(sql "$port" "$DB" -c "SELECT extversion FROM pg_extension WHERE extname = 'vector'")
  version_ge "$v" "$PGVECTOR_MIN" || die "the server's pgvector is $v; need >= $PGVECTOR_MIN; $install_hint"
}

cmd_start() {
  local reason port pinned=0 tries out major
  reason=$(check_install) || die "$reason" 3
  make_folder
  trap 'if [ "$created" = 1 ] && [ ! -e "$real/cluster" ]; then rm -rf "$real"; [ ! -L "$data" ] || rm -f "$data"; fi' EXIT
  lock
  if serving; then
    port=$(stored_port)
    if [ -n "${EMBEDLAB_PGPORT:-}" ] && [ "$EMBEDLAB_PGPORT" != "$port" ]; then
      echo "postgres.sh: note: already running on port $port; stop it to move it to $EMBEDLAB_PGPORT" >&2
    fi
    url_for "$port"; return 0
  fi
  if [ -n "${EMBEDLAB_PGPORT:-}" ] && port_taken "$EMBEDLAB_PGPORT"; then
    die "port $EMBEDLAB_PGPORT (EMBEDLAB_PGPORT) is taken by another program"
  fi
  [ -f "$real/cluster/PG_VERSION" ] || init_cluster
  major=$("$bindir/postgres" --version | sed -n 's/.* \([0-9][0-9]*\)\.[0-9].*/\1/p')
  [ "$(cat "$real/cluster/PG_VERSION")" = "$major" ] \
    || die "$real/cluster was made by PostgreSQL $(cat "$real/cluster/PG_VERSION"), not $major: run 'bash scripts/postgres.sh stop --wipe'"
  if server_state; then
    # up but not answering on its port (started by hand with other settings?): restart it
    as_server "$bindir/pg_ctl" stop -D "$real/cluster" -m fast -w -t 60 -s >/dev/null 2>&1 || true
  fi
  mkdir -p "$real/run"; if is_root; then chown postgres: "$real/run"; fi
  if [ -n "${EMBEDLAB_PGPORT:-}" ]; then port=$EMBEDLAB_PGPORT; pinned=1; else port=$(stored_port); fi
  port=${port:-$DEFAULT_PORT}
  [[ "$port" =~ ^[0-9]+$ ]] && [ "$port" -ge 1024 ] && [ "$port" -le 65535 ] || die "bad port '$port'"
  for tries in $(seq 1 50); do
    if port_taken "$port"; then
      [ "$pinned" = 0 ] || die "port $port (EMBEDLAB_PGPORT) is taken by another program"
      port=$((port + 1)); continue
    fi
    write_settings "$port"
    echo "$port" > "$real/port"
    as_server tee "$real/run/server.log" </dev/null >/dev/null
    if out=$(as_server "$bindir/pg_ctl" start -D "$real/cluster" -l "$real/run/server.log" -w -t 120 -s 2>&1); then
      bootstrap "$port"
      url_for "$port"; return 0
    fi
    if [ "$pinned" = 0 ] && as_server grep -q -e 'could not bind' -e 'could not create any TCP/IP sockets' "$real/run/server.log"; then
      port=$((port + 1)); continue   # someone took the port between our look and the server's bind
    fi
    { echo "$out"; as_server tail -n 20 "$real/run/server.log"; } >&2
    die "the server did not start (log: $real/run/server.log)"
  done
  die "no free port found from ${EMBEDLAB_PGPORT:-$DEFAULT_PORT} on"
}

cmd_stop() {
  local wipe=0 rc=0
  [ "${1:-}" = "--wipe" ] && wipe=1
  [ $# -le 1 ] && { [ $# = 0 ] || [ $wipe = 1 ]; } || die "usage: postgres.sh stop [--wipe]" 2
  locate
  if [ -n "$real" ]; then
    lock
    if [ -f "$real/cluster/PG_VERSION" ]; then
      [ -n "$bindir" ] || die "PostgreSQL's programs are gone; cannot stop the server in $real/cluster"
      as_server "$bindir/pg_ctl" status -D "$real/cluster" >/dev/null 2>&1 || rc=$?
      case $rc in
        0) as_server "$bindir/pg_ctl" stop -D "$real/cluster" -m fast -w -t 120 -s >/dev/null \
             || die "pg_ctl stop failed (log: $real/run/server.log)" ;;
        3) ;;  # not running
        *) die "cannot control $real/cluster as $(server_user) (made by another OS user? run as root)" ;;
      esac
    fi
    if [ $wipe = 1 ]; then rm -rf "$real"; fi
  fi
  if [ $wipe = 1 ] && [ -L "$data" ]; then rm -f "$data"; fi
  return 0
}

cmd_url() {
  locate
  local port; port=$(stored_port)
  [ -n "$port" ] || die "no server in $data; run 'bash scripts/postgres.sh start'"
  url_for "$port"
}

case "${1:-}" in
  start) [ $# = 1 ] || die "usage: postgres.sh start" 2; cmd_start ;;
  stop) shift; cmd_stop "$@" ;;
  status) locate; if [ -n "$bindir" ] && serving; then url_for "$(stored_port)"; else exit 1; fi ;;
  url) cmd_url ;;
  check) reason=$(check_install) || { echo "$reason" >&2; exit 3; } ;;
  psql) shift; cmd_url >/dev/null; [ -n "$bindir" ] || die "psql not found"
        exec "$bindir/psql" -h 127.0.0.1 -p "$(stored_port)" -U "$DB_USER" -d "$DB" "$@" ;;   # a later -d wins
  *) echo "usage: bash scripts/postgres.sh start | stop [--wipe] | status | url | check | psql [ARGS]" >&2; exit 2 ;;
esac
