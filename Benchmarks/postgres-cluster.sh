# Sourced by benchmarks that measure the PostgreSQL store: a throwaway PostgreSQL 15 cluster on a free loopback
# port, in $work/pg. start_postgres DBNAME sets $pg_url to a database of that name; stop_postgres removes the
# cluster; cleanup (for an EXIT trap) stops the servers and the cluster and removes $work. Needs $work,
# free_port and stop_servers (Benchmarks/oauth2/provider.sh defines them).
[ -x /usr/lib/postgresql/15/bin/initdb ] || { apt-get update -qq && apt-get install -y -qq postgresql-15 >/dev/null; }
pg=/usr/lib/postgresql/15/bin
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

start_postgres() {
  mkdir -p "$work/pg" && { [ "$(id -u)" = 0 ] && chown postgres "$work/pg" || true; }
  pgport=$(free_port)
  as_pg "$pg/initdb" -D "$work/pg/data" -U applinks -A trust -E UTF8 --locale=C --no-sync >/dev/null
  as_pg "$pg/pg_ctl" -D "$work/pg/data" -l "$work/pg/log" -w \
    -o "-p $pgport -k $work/pg -c listen_addresses=127.0.0.1 -c max_connections=200" start >/dev/null
  psql "postgres://applinks@127.0.0.1:$pgport/postgres" -qc "CREATE DATABASE $1" >/dev/null
  pg_url="postgres://applinks@127.0.0.1:$pgport/$1"
}

stop_postgres() { [ -d "$work/pg/data" ] && as_pg "$pg/pg_ctl" -D "$work/pg/data" -m immediate stop >/dev/null 2>&1 || true; }

cleanup() {
  stop_servers
  stop_postgres
  rm -rf "$work"
}
