"""``python -m greenpool demo``: see :mod:`greenpool.integrations.cli`."""

from __future__ import annotations

import sys

from .integrations.cli import main

if __name__ == "__main__":
    sys.exit(main())
