"""greenpool.integrations."""
