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

* :mod:`greenpool.integrations.gunicorn`: hooks for gunicorn's gevent
  workers, usable as a config module
  (``gunicorn -c python:greenpool.integrations.gunicorn``).
* :mod:`greenpool.integrations.celery`: ``install()`` wires Celery's worker
  signals (gevent, prefork and solo pools).
* :mod:`greenpool.integrations.shutdown`: ``register()`` and ``close_all()``,
  closing every pool and client when a worker process ends.

Nothing is imported here, so SQLAlchemy, prometheus_client, gunicorn and Celery stay optional.
"""
