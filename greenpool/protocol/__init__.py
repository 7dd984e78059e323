"""greenpool.protocol."""
