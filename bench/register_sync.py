"""Register sync at the size of a city: the provincial platform's export of every elevator (one row
each, three fields that all differ from the register) read twice, then the sources compared.

The first read writes every record (its fields, their provenance, one admin audit entry and one
feed outbox row per record); the second finds nothing new; the comparison finds no conflict (one
source). Seeds a fresh database: SQLite by default, PostgreSQL with --pg (LIFTCASE_BENCH_PG names
the server's admin database; a database of the bench's own is created and dropped).

Usage: python bench/register_sync.py [--elevators 14188] [--pg]
Last line: rows=… first_s=… again_s=… reconcile_s=… conflicts=…
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import create_engine, select, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PG = os.environ.get("LIFTCASE_BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def run(url: str, elevators: int) -> str:
    from infra.clock import SimulatedClock
    from processes import register_sync
    from registry.models import Elevator
    from tests.support.system import START, make_system

    system = make_system(url, SimulatedClock(START), elevators=elevators)
    with system.sessions() as session:
        codes = list(session.scalars(select(Elevator.register_code)))
    rows = [
        {"register_code": code, "model": f"TKJ{i % 7}", "floors": 10 + i % 5, "address": f"省平台地址 {i}"}
        for i, code in enumerate(codes)
    ]
    took = []
    for _ in range(2):
        start = time.perf_counter()
        with system.sessions() as session, session.begin():
            register_sync.import_source(
                session, rows, source="provincial", filename="bench.csv", actor="bench", now=system.clock.now()
            )
        took.append(time.perf_counter() - start)
    start = time.perf_counter()
    result = register_sync.reconcile(system)
    took.append(time.perf_counter() - start)
    system.db.dispose()
    first, again, compared = (f"{t:.1f}" for t in took)
    return f"rows={len(rows)} first_s={first} again_s={again} reconcile_s={compared} conflicts={result.opened}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--elevators", type=int, default=14188)
    parser.add_argument("--pg", action="store_true")
    args = parser.parse_args()
    if not args.pg:
        print(run(f"sqlite:///{tempfile.mkdtemp()}/register_sync.sqlite3", args.elevators))
        return
    name = f"liftcase_bench_sync_{os.getpid()}"
    admin = create_engine(PG, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        print(run(PG.rsplit("/", 1)[0] + f"/{name}", args.elevators))
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    main()
