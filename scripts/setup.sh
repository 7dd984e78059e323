#!/usr/bin/env bash
# Set up everything the demo and the tests need, from a fresh clone:
#   1. the server programs the tests start (redis-server, redis-sentinel,
#      tarantool, PostgreSQL, MariaDB), from Debian's packages when running as root;
#   2. a virtual environment in .venv with greenpool and all its extras.
# Safe to run again: each step is skipped when already done.
# Only Debian packages and PyPI are used.
set -euo pipefail
cd "$(dirname "$0")/.."

have() { command -v "$1" >/dev/null 2>&1; }
pg_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }

missing=()
have redis-server || missing+=(redis-server)
have redis-benchmark || missing+=(redis-tools)
have redis-sentinel || missing+=(redis-sentinel)
have wrk || missing+=(wrk)  # HTTP load for the gunicorn figures (docs/gunicorn.md)
have tarantool || missing+=(tarantool)
{ [ -n "$(pg_bin)" ] || have initdb; } || missing+=(postgresql)
{ have mariadbd || have mysqld || [ -x /usr/sbin/mariadbd ]; } || missing+=(mariadb-server)
PY=${PYTHON:-python3}
have "$PY" || missing+=(python3)
if have "$PY" && ! "$PY" -c 'import ensurepip, venv' >/dev/null 2>&1; then
  missing+=(python3-venv)
fi

if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && have apt-get; then
    echo "setup: installing Debian packages: ${missing[*]}"
    # Keep the packages from starting their own services: tests start their own.
    if [ ! -e /usr/sbin/policy-rc.d ]; then
      printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
      chmod +x /usr/sbin/policy-rc.d
      trap 'rm -f /usr/sbin/policy-rc.d' EXIT
    fi
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "setup: missing programs. Install these Debian packages, then run again:" >&2
    echo "    sudo apt-get install ${missing[*]}" >&2
    exit 1
  fi
fi

# The virtual environment, rebuilt when pyproject.toml changes.
stamp=.venv/.greenpool-installed
want=$(sha256sum pyproject.toml | cut -c1-16)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "setup: creating .venv and installing greenpool[all,dev,bench]"
  [ -x .venv/bin/python ] || "$PY" -m venv .venv
  log=.venv/setup.log
  if ! { .venv/bin/python -m pip install --upgrade pip &&
         .venv/bin/python -m pip install -e '.[all,dev,bench]'; } >"$log" 2>&1; then
    tail -n 40 "$log" >&2
    echo "setup: pip failed; the whole log is in $log" >&2
    exit 1
  fi
  echo "$want" > "$stamp"
fi
