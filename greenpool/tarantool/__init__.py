"""greenpool.tarantool."""
