"""Layer 5: integrations.  They may import any layer below; nothing imports them.

* :mod:`greenpool.integrations.cli`: the ``greenpool`` command and
  ``python -m greenpool demo``.
* :mod:`greenpool.integrations.sqlalchemy`: ``GreenQueuePool``, a SQLAlchemy
  pool class with greenpool's FIFO, kill-safe checkout
  (``create_engine(url, poolclass=GreenQueuePool)``).

Nothing is imported here, so SQLAlchemy stays optional.
"""
