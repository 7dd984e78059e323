"""greenpool.integrations.

* :mod:`greenpool.integrations.sqlalchemy`: ``GreenQueuePool``, a SQLAlchemy
  pool class with greenpool's FIFO, kill-safe checkout
  (``create_engine(url, poolclass=GreenQueuePool)``).
"""
