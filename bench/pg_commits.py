"""PostgreSQL's ceiling on this machine: small write transactions committed per second, as the
number of concurrent clients grows (pgbench-like, with psycopg). Every engine step is one such
commit (plus its rows), so this bounds steps/s for any number of API processes on one database.

Each client loops: BEGIN; INSERT one row (a timeline-sized JSON payload); UPDATE its own counter
row; COMMIT — durable (synchronous_commit as configured), so each commit waits for the WAL
flush, shared by concurrent commits (group commit). Runs in a database of its own, dropped after.

Usage: python bench/pg_commits.py [--seconds 10] [--clients 1,4,16,64]
Last line: commits_per_s@1=… commits_per_s@4=… … synchronous_commit=… fsync=…
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
import uuid

import psycopg

ADMIN = os.environ.get("LIFTCASE_BENCH_PG_DSN", "postgresql://postgres@127.0.0.1:5432/test")
PAYLOAD = json.dumps({"task": str(uuid.uuid4()), "element": "accept_order", "title": "接单", "data": {"eta": 15}})


def run(dsn: str, clients: int, seconds: float) -> float:
    done = [0] * clients
    stop = time.monotonic() + seconds
    ready = threading.Barrier(clients + 1)

    def client(i: int) -> None:
        with psycopg.connect(dsn) as conn:
            conn.execute("INSERT INTO counters VALUES (%s, 0) ON CONFLICT DO NOTHING", (i,))
            conn.commit()
            ready.wait()
            while time.monotonic() < stop:
                conn.execute("INSERT INTO events (client, payload) VALUES (%s, %s)", (i, PAYLOAD))
                conn.execute("UPDATE counters SET n = n + 1 WHERE id = %s", (i,))
                conn.commit()
                done[i] += 1

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    ready.wait()
    started = time.monotonic()
    for t in threads:
        t.join()
    return sum(done) / (time.monotonic() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--clients", default="1,4,16,64")
    args = parser.parse_args()
    name = f"liftcase_bench_commits_{os.getpid()}"
    with psycopg.connect(ADMIN, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        settings = {k: admin.execute(f"SHOW {k}").fetchone()[0] for k in ("synchronous_commit", "fsync")}
    dsn = ADMIN.rsplit("/", 1)[0] + f"/{name}"
    try:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("CREATE TABLE events (id bigserial PRIMARY KEY, client int, payload json)")
            conn.execute("CREATE TABLE counters (id int PRIMARY KEY, n bigint)")
        rates = {int(c): run(dsn, int(c), args.seconds) for c in args.clients.split(",")}
    finally:
        with psycopg.connect(ADMIN, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}", file=sys.stderr)
    print(
        " ".join(f"commits_per_s@{c}={r:.0f}" for c, r in rates.items())
        + f" synchronous_commit={settings['synchronous_commit']} fsync={settings['fsync']}"
    )


if __name__ == "__main__":
    main()
