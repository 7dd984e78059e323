"""greenpool.redis."""
