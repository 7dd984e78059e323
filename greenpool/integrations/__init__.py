"""Layer 5: integrations.  They may import any layer below; nothing imports them.

* :mod:`greenpool.integrations.cli`: the ``greenpool`` command and
  ``python -m greenpool demo``.
* :mod:`greenpool.integrations.sqlalchemy`: ``GreenQueuePool``, a SQLAlchemy
  pool class with greenpool's FIFO, kill-safe checkout
  (``create_engine(url, poolclass=GreenQueuePool)``).
* :mod:`greenpool.integrations.monitor`: the hub's loop-lag monitor, off
  until ``start_loop_lag_monitor()``.
* :mod:`greenpool.integrations.prometheus`: a ``prometheus_client``
  collector of the pools registered with it (the ``metrics`` extra).

Nothing is imported here, so SQLAlchemy and prometheus_client stay optional.
"""
