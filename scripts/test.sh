#!/usr/bin/env bash
# Everything from a fresh clone: set-up (servers, venv), lint, types, all tests.
# Extra arguments go to pytest (e.g. scripts/test.sh -k pool -x).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
echo "== ruff"
.venv/bin/ruff check greenpool tests bench examples
echo "== mypy --strict greenpool"
.venv/bin/mypy --strict greenpool
echo "== mkdocs build --strict (the docs site; a broken link or reference fails)"
# (not --quiet: it hides the warnings, and then --strict has none to fail on)
NO_MKDOCS_2_WARNING=1 .venv/bin/mkdocs build --strict
echo "== pytest"
exec .venv/bin/python -m pytest -p no:cacheprovider "$@"
