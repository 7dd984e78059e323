#!/usr/bin/env bash
# The demo from a fresh clone: set-up (redis-server, venv), then
# 10,000 greenlets through one Redis client against a throwaway server.
# Extra arguments go to the demo (e.g. scripts/demo.sh --url redis://127.0.0.1:6379/0).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/python -m greenpool demo "$@"
