"""Instructions per contended checkout, for callgrind: a fixed loop, no timing.

100 greenlets share 10 dummy connections (as the contended case of
bench_checkout.py): each takes one, yields to the hub while holding it and
puts it back, ``--cycles`` times in all.  Run it under callgrind at two
cycle counts and divide the difference in instructions by the difference
in cycles (that cancels start-up and set-up):

    valgrind --tool=callgrind --callgrind-out-file=/tmp/cg.%p \\
        .venv/bin/python bench/cpu_checkout.py --cycles 20000   # then 40000

Instructions do not move with the machine's load, so a few percent shows.
"""

from __future__ import annotations

from gevent import monkey

monkey.patch_all()

import argparse  # noqa: E402

import gevent  # noqa: E402

from greenpool import Pool  # noqa: E402


class Dummy:
    """A connection that does nothing."""

    def close(self) -> None:
        pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cycles", type=int, default=20000)
    parser.add_argument("--greenlets", type=int, default=100)
    parser.add_argument("--size", type=int, default=10)
    args = parser.parse_args()
    pool: Pool[Dummy] = Pool(Dummy, pool_size=args.size, use_local=False, pool_timeout=60)
    get, put = pool.get, pool.put
    per = max(1, args.cycles // args.greenlets)

    def worker() -> None:
        sleep = gevent.sleep
        for _ in range(per):
            conn = get()
            sleep(0)  # hold the connection across a trip through the hub
            put(conn)

    gevent.joinall([gevent.spawn(worker) for _ in range(args.greenlets)], raise_error=True)
    print(f"{per * args.greenlets} cycles")


if __name__ == "__main__":
    main()
