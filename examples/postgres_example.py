"""PostgreSQL through greenpool: transfers in transactions from 500 greenlets.

    .venv/bin/python examples/postgres_example.py                     # psycopg2
    .venv/bin/python examples/postgres_example.py --driver psycopg    # psycopg 3

``DATABASE_URL`` names the server; without it a throwaway PostgreSQL is
started.  ``with pool.connection()`` commits on a clean exit and rolls back
on an exception; some greenlets are killed mid-transfer, and the total
still balances, because a killed transaction is cancelled on the server and
its connection closed, never reused.
"""

from __future__ import annotations

import argparse
import random
import time

import gevent

from greenpool.postgres import PostgresPool

ACCOUNTS = 20


def run(url: str, greenlets: int = 500, driver: str = "psycopg2") -> None:
    # The same code for both drivers: greenpool makes either green itself.
    pool = PostgresPool(url, driver=driver, pool_size=8, max_overflow=0, pool_timeout=30)
    try:
        with pool.cursor() as cur:
            cur.execute("DROP TABLE IF EXISTS example_accounts")
            cur.execute("CREATE TABLE example_accounts (id int PRIMARY KEY, balance int)")
            cur.execute("INSERT INTO example_accounts SELECT g, 1000 "
                        "FROM generate_series(1, %s) g", (ACCOUNTS,))

        def transfer(n: int) -> None:
            a, b = random.sample(range(1, ACCOUNTS + 1), 2)
            # Rows locked in id order: two transfers can't deadlock.
            moves = sorted([(a, -n), (b, n)])
            with pool.connection() as conn, conn.cursor() as cur:
                for account, delta in moves:
                    cur.execute("UPDATE example_accounts SET balance = balance + %s "
                                "WHERE id = %s", (delta, account))
                    cur.execute("SELECT pg_sleep(0.002)")

        started = time.perf_counter()
        jobs = [gevent.spawn(transfer, i % 7 + 1) for i in range(greenlets)]
        gevent.sleep(0.05)
        for victim in jobs[::25]:
            victim.kill(block=False)  # mid-transfer: rolled back, never half-applied
        gevent.joinall(jobs)
        elapsed = time.perf_counter() - started
        with pool.cursor() as cur:
            cur.execute("SELECT sum(balance) FROM example_accounts")
            total = cur.fetchone()[0]
            cur.execute("DROP TABLE example_accounts")
        assert total == ACCOUNTS * 1000, total
        killed = sum(1 for j in jobs if isinstance(j.value, gevent.GreenletExit))
        print(f"{pool.driver}: {greenlets} transfers ({killed} killed mid-way) in {elapsed:.2f}s; "
              f"total still {total}; stats: {pool.stats()['connections']} connections")
    finally:
        pool.close()


def main() -> None:
    from _servers import servers

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--driver", choices=["psycopg2", "psycopg"], default="psycopg2",
                        help="psycopg2, or psycopg for psycopg 3")
    parser.add_argument("--greenlets", type=int, default=500)
    args = parser.parse_args()
    with servers("DATABASE_URL") as urls:
        run(urls["DATABASE_URL"], args.greenlets, args.driver)


if __name__ == "__main__":
    main()
