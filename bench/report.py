"""A one-month city rescue report over the full demo city (14,188 elevators) and ~5,000 cases.

Cases are bulk-inserted rows (demo/report_data.py), not engine runs: the benchmark measures the
report, not case creation. Timed: reading the month's cases and computing the figures, then
rendering the PDF (charts, templates, WeasyPrint). Baseline in the same run: a bare SELECT of the
same month's case rows, so the ratio shows what the report costs over just reading its input.

Usage: python bench/report.py [--cases 5000] [--elevators 14188] [--pg]
Last line: pages=… seconds=… figures_seconds=… render_seconds=… baseline_read_seconds=… ratio=…
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy import create_engine, select, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PG = os.environ.get("LIFTCASE_BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
MONTH = (date(2026, 10, 1), date(2026, 11, 1))


def _database(use_pg: bool, tmp: Path) -> str:
    if not use_pg:
        return f"sqlite:///{tmp / 'report-bench.sqlite3'}"
    name = f"liftcase_bench_report_{os.getpid()}"
    admin = create_engine(PG, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return PG.rsplit("/", 1)[0] + f"/{name}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=5000)
    parser.add_argument("--elevators", type=int, default=14188)
    parser.add_argument("--pg", action="store_true", help="PostgreSQL instead of SQLite")
    parser.add_argument("--out", type=Path, help="also write the PDF here")
    args = parser.parse_args()

    from demo.report_data import insert_month
    from demo.seed import seed_city
    from engine.models import Case
    from infra.clock import SimulatedClock
    from infra.settings import Settings
    from liftcase.bootstrap import build_system, create_schema
    from registry.models import OrgKind, Role
    from registry.scope import Scope
    from reports import render, service

    with tempfile.TemporaryDirectory() as tmp:
        url = _database(args.pg, Path(tmp))
        clock = SimulatedClock(datetime(2026, 11, 2, 0, 0, tzinfo=UTC))
        system = build_system(Settings(database_url=url), clock=clock)
        t = time.perf_counter()
        create_schema(system)
        with system.sessions() as session, session.begin():
            seed_city(session, elevators=args.elevators, devices=1000, clock_now=clock.now())
        system.deploy_processes()
        with system.sessions() as session, session.begin():
            insert_month(session, cases=args.cases, start=MONTH[0], end=MONTH[1])
        print(f"setup: {args.elevators} elevators, {args.cases} cases in {time.perf_counter() - t:.1f}s", flush=True)
        scope = Scope(0, "bench", frozenset({Role.REGULATOR}), None, OrgKind.CITY_REGULATOR, None)

        lo, hi = service.local_bounds(*MONTH)
        with system.sessions() as session:
            t = time.perf_counter()
            rows = session.execute(select(Case).where(Case.opened_at >= lo, Case.opened_at < hi)).all()
            baseline = time.perf_counter() - t
        del rows
        render.environment()  # template loading is a one-off per process, like a warm worker
        t0 = time.perf_counter()
        with system.sessions() as session:
            figures = service.rescue_report(session, scope, *MONTH)
            label = service.scope_label(session, scope)
        t1 = time.perf_counter()
        rendered = render.rescue_pdf(
            figures,
            scope_label=label,
            period="month",
            generated=clock.now(),
            header=system.settings.city_profile.report_header,
        )
        t2 = time.perf_counter()
        if args.out:
            args.out.write_bytes(rendered.pdf)
        system.db.dispose()
        if args.pg:
            admin = create_engine(PG, isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)'))
            admin.dispose()
    total = t2 - t0
    print(
        f"cases in month={figures.total} rescues={figures.rescues} units ranked={len(figures.ranking)} "
        f"pdf bytes={len(rendered.pdf)}"
    )
    print(
        f"pages={rendered.pages} seconds={total:.2f} figures_seconds={t1 - t0:.2f} render_seconds={t2 - t1:.2f} "
        f"baseline_read_seconds={baseline:.3f} ratio={total / baseline:.1f}"
    )


if __name__ == "__main__":
    main()
