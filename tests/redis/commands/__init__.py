"""Tests of greenpool.redis.commands, one module per command group (as the package)."""
