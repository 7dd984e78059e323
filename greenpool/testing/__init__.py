"""greenpool.testing."""
