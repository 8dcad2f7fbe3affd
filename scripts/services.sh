#!/usr/bin/env bash
# Makes sure the local Redis and PostgreSQL that the test suite talks to are installed and running
# (127.0.0.1:6379 and 127.0.0.1:5432, database `test`, trust auth). Installs them from Debian's packages
# when missing. Idempotent; prints what it did on stderr.
set -u
log() { echo "services: $*" >&2; }
have() { command -v "$1" >/dev/null 2>&1; }
apt_install() {
  if [ "$(id -u)" != 0 ]; then log "not root: cannot apt-get install $*"; return 1; fi
  if [ -z "${_BW_APT_UPDATED:-}" ]; then apt-get update -qq >/dev/null 2>&1 || true; _BW_APT_UPDATED=1; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null 2>&1
}

# Redis
if ! (have redis-cli && redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null | grep -q PONG); then
  have redis-server || { log "installing redis-server"; apt_install redis-server redis-tools; }
  mkdir -p /var/lib/redis /var/log/redis 2>/dev/null || true
  log "starting redis-server"
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log >/dev/null 2>&1 \
    || redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no >/dev/null 2>&1
  for _ in $(seq 1 50); do redis-cli -h 127.0.0.1 ping 2>/dev/null | grep -q PONG && break; sleep 0.1; done
fi

# PostgreSQL
pg_ok() { psql -h 127.0.0.1 -U postgres -d postgres -Atc 'select 1' >/dev/null 2>&1; }
if ! (have psql && pg_ok); then
  if ! ls /etc/postgresql/*/main >/dev/null 2>&1; then log "installing postgresql"; apt_install postgresql; fi
  ver=$(ls /etc/postgresql 2>/dev/null | sort -n | tail -n1)
  if [ -n "$ver" ]; then
    hba="/etc/postgresql/$ver/main/pg_hba.conf"
    if [ -f "$hba" ] && ! grep -q '^host all all 127.0.0.1/32 trust' "$hba"; then
      sed -i '1i host all all 127.0.0.1/32 trust\nhost all all ::1/128 trust\nlocal all all trust' "$hba"
    fi
    log "starting postgresql $ver"
    pg_ctlcluster --skip-systemctl-redirect "$ver" main start >/dev/null 2>&1 || pg_ctlcluster "$ver" main start >/dev/null 2>&1 || true
    for _ in $(seq 1 100); do pg_ok && break; sleep 0.1; done
  fi
fi
if pg_ok; then
  psql -h 127.0.0.1 -U postgres -d postgres -Atc "select 1 from pg_database where datname='test'" | grep -q 1 \
    || psql -h 127.0.0.1 -U postgres -d postgres -c 'create database test' >/dev/null 2>&1 || true
else
  log "PostgreSQL is not reachable on 127.0.0.1:5432"
fi
exit 0
