"""The outbound feed under load: N case events pushed to a real HTTP receiver that fails a share of
the requests (HTTP 500), beside a second subscription whose receiver never fails (the baseline),
both fed from the same feed in the same run, on PostgreSQL.

The events are real timeline entries: rescue cases opened through the intake, then comments
appended through the timeline writer, in transactions of 100 while the deliverers run (one thread
per subscription: sequence the outbox, push what is due, as the sweep and the delivery job do).
Counted at the receivers: delivered (distinct event ids taken), duplicates (a second take of one
id), lost (committed timeline entries never taken), out-of-order (a case's entry taken before an
earlier one of that case), p95_ms (entry written → first taken; the failing run waits out its 1 s
first backoff).

Usage: python bench/feed.py [--events 10000] [--cases 500] [--fail 0.2]
Last line: events=… delivered=… duplicates=… lost=… p95_ms=…
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import threading
import time
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, func, select, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PG = os.environ.get("LIFTCASE_BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
SECRET = "bench-feed-secret-0123456789"


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[int(0.95 * (len(ordered) - 1))] if ordered else 0.0


def _score(receiver: Any, committed: dict[str, tuple[int, int]]) -> dict[str, Any]:
    first: dict[str, float] = {}
    takes: dict[str, int] = {}
    last_seq: dict[int, int] = {}
    out_of_order = 0
    latencies = []
    for a in receiver.taken():
        takes[a.event_id] = takes.get(a.event_id, 0) + 1
        if a.event_id in first:
            continue
        first[a.event_id] = a.at
        case, seq = a.body["case"]["number"], a.body["seq"]
        if seq != last_seq.get(case, 0) + 1:
            out_of_order += 1
        last_seq[case] = seq
        written = datetime.fromisoformat(a.body["at"].replace("Z", "+00:00")).timestamp()
        latencies.append((a.at - written) * 1000)
    return {
        "delivered": len(first),
        "duplicates": sum(n - 1 for n in takes.values()),
        "lost": len(set(committed) - set(first)),
        "out_of_order": out_of_order,
        "requests": len(receiver.arrivals),
        "p95_ms": _p95(latencies),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=10_000)
    ap.add_argument("--cases", type=int, default=500)
    ap.add_argument("--fail", type=float, default=0.2, help="share of the failing receiver's answers that are 500")
    ap.add_argument("--port", type=int, default=7080, help="two ports from here (the helper's private range)")
    args = ap.parse_args()

    from connectors.feed import flows, service
    from demo.seed import seed_city
    from engine.models import Case, EventKind, TimelineEvent
    from engine.timeline_store import append_entries
    from infra.clock import SystemClock
    from infra.settings import Settings
    from liftcase.bootstrap import build_system, create_schema
    from processes.intake import IntakeItem, open_or_join_many
    from registry.models import Elevator
    from tests.support.feed_receiver import Receiver

    rng, rng_lock = random.Random(14), threading.Lock()

    def flaky(body: dict[str, Any], n: int) -> str:
        with rng_lock:
            return "fail" if rng.random() < args.fail else "ok"

    failing, healthy = Receiver(SECRET, args.port, flaky), Receiver(SECRET, args.port + 1)
    name = f"liftcase_bench_feed_{uuid.uuid4().hex[:6]}"
    admin = create_engine(PG, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        system = build_system(Settings(database_url=PG.rsplit("/", 1)[0] + f"/{name}"), clock=SystemClock())
        create_schema(system)
        with system.sessions() as session, session.begin():
            seed_city(session, elevators=args.cases, devices=0, clock_now=system.clock.now())
        system.deploy_processes()
        with system.sessions() as session, session.begin():
            subs = [
                service.create_subscription(
                    session, {"name": n, "url": r.url, "secret": SECRET}, actor="bench", now=system.clock.now()
                ).id
                for n, r in (("failing", failing), ("baseline", healthy))
            ]
            elevators = list(session.scalars(select(Elevator.id).order_by(Elevator.id).limit(args.cases)))

        done = threading.Event()

        def deliverer(sub: int) -> None:
            while True:
                flows.sequence(system)
                sent = flows.deliver(system, sub, budget_seconds=2)
                if done.is_set() and not flows.due_subscriptions(system) and not _pending(system, sub):
                    return
                if not sent:
                    time.sleep(0.05)

        def _pending(system: Any, sub: int) -> int:
            from connectors.feed.models import FeedDelivery

            with system.sessions() as session:
                stmt = select(func.count()).where(FeedDelivery.subscription_id == sub, FeedDelivery.status == "pending")
                return session.scalar(stmt) or 0

        threads = [threading.Thread(target=deliverer, args=(s,), daemon=True) for s in subs]
        started = time.perf_counter()
        for t in threads:
            t.start()
        sla = system.settings.sla_file
        for i in range(0, len(elevators), 50):
            items = [IntakeItem("rescue", e, {"source": "qr"}, "bench") for e in elevators[i : i + 50]]
            open_or_join_many(system.engine, sla, items)
        with system.sessions() as session:
            case_ids = list(session.scalars(select(Case.id).order_by(Case.id)))
            written = session.scalar(select(func.count()).select_from(TimelineEvent)) or 0
        k = 0
        while written < args.events:
            batch = min(100, args.events - written)
            entries = [
                (case_ids[(k + j) % len(case_ids)], EventKind.COMMENT_ADDED, {"n": k + j}, "bench")
                for j in range(batch)
            ]
            with system.sessions() as session, session.begin():
                append_entries(session, entries, system.clock.now())
            k += batch
            written += batch
        produced_s = time.perf_counter() - started
        done.set()
        for t in threads:
            t.join(timeout=600)
        drained_s = time.perf_counter() - started
        with system.sessions() as session:
            rows = session.execute(select(Case.number, TimelineEvent.case_id, TimelineEvent.seq).join(Case))
            committed = {f"case:{number}:{seq}": (case_id, seq) for number, case_id, seq in rows}
        bad, base = _score(failing, committed), _score(healthy, committed)
        print(f"db=postgresql events={len(committed)} cases={len(case_ids)} fail={args.fail:g}")
        print(
            f"written_in_s={produced_s:.1f} drained_in_s={drained_s:.1f} load={open('/proc/loadavg').read().split()[0]}"
        )
        for label, s in (("baseline (0% failures)", base), (f"failing ({args.fail:.0%} failures)", bad)):
            print(f"{label}: " + " ".join(f"{k}={v:.0f}" if isinstance(v, float) else f"{k}={v}" for k, v in s.items()))
        print(f"p95_ratio_failing_to_baseline={bad['p95_ms'] / max(base['p95_ms'], 1e-9):.2f}")
        print(
            f"events={len(committed)} delivered={bad['delivered']} duplicates={bad['duplicates']} "
            f"lost={bad['lost']} p95_ms={bad['p95_ms']:.0f}"
        )
        system.db.dispose()
    finally:
        failing.stop()
        healthy.stop()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    main()
