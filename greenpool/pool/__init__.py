"""greenpool.pool."""
