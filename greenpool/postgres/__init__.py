"""greenpool.postgres."""
