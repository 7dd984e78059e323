"""greenpool.transport."""
