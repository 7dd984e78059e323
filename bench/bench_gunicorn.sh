#!/usr/bin/env bash
# Requests/s and sockets per process of examples/flask_app.py under
# gunicorn -k gevent --preload (2 workers; examples/gunicorn_conf.py), loaded
# by wrk (keep-alive, 100 connections, 10 s), for both variants: clients made
# at import, and clients also used at import.  Each request is one Redis INCR
# and one PostgreSQL INSERT, on throwaway servers started by
# examples/run_with_servers.py.  Figures in docs/benchmarks.md#gunicorn.
#
#   bash bench/bench_gunicorn.sh [SECONDS]      (EXAMPLE_MAX_REQUESTS=N to recycle)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-10}
for variant in 0 1; do
  port=$((18800 + variant))
  log=$(mktemp)
  EXAMPLE_USE_AT_IMPORT=$variant EXAMPLE_BIND=127.0.0.1:$port \
    .venv/bin/python examples/run_with_servers.py \
    .venv/bin/gunicorn -c examples/gunicorn_conf.py flask_app:app >"$log" 2>&1 &
  launcher=$!
  for _ in $(seq 120); do curl -sf "127.0.0.1:$port/pools" >/dev/null && break; sleep 0.5; done
  wrk -t2 -c100 -d2s "http://127.0.0.1:$port/hit" >/dev/null  # warm-up
  echo "== clients $([ "$variant" = 1 ] && echo "used" || echo "made") at import" \
       "(load average $(cut -d' ' -f1 /proc/loadavg))"
  wrk -t2 -c100 -d"${seconds}s" --latency "http://127.0.0.1:$port/hit" |
    grep -E "Requests/sec|requests in|Non-2xx|Socket errors| 50%| 99%"
  rport=$(grep -o 'REDIS_URL=redis://127.0.0.1:[0-9]*' "$log" | grep -o '[0-9]*$')
  pport=$(grep -o 'DATABASE_URL=postgresql://postgres@127.0.0.1:[0-9]*' "$log" | grep -o '[0-9]*$')
  master=$(pgrep -P "$launcher" -f gunicorn)
  for pid in $master $(cat "/proc/$master/task/$master/children"); do
    r=$(ss -tnpH state established "( dport = :$rport )" | grep -c "pid=$pid," || true)
    p=$(ss -tnpH state established "( dport = :$pport )" | grep -c "pid=$pid," || true)
    echo "  $([ "$pid" = "$master" ] && echo master || echo worker) $pid: redis $r, postgres $p"
  done
  kill -TERM "$launcher"; wait "$launcher" || true
  rm -f "$log"
done
