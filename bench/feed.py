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


def _serve(port: int, fail: float, stop: Any, conn: Any) -> None:
    """A receiver in a process of its own (its own GIL, like a remote platform); its arrivals are
    sent back when told to stop."""
    from tests.support.feed_receiver import Receiver

    rng = random.Random(14 + port)
    lock = threading.Lock()

    def flaky(body: dict[str, Any], n: int) -> str:
        with lock:
            return "fail" if rng.random() < fail else "ok"

    receiver = Receiver(SECRET, port, flaky)
    stop.wait()
    receiver.stop()
    conn.send(receiver.arrivals)


class _Remote:
    """The parent's handle on a receiver process: its URL, then its arrivals."""

    def __init__(self, port: int, fail: float) -> None:
        import multiprocessing as mp

        ctx = mp.get_context("fork")
        self.url = f"http://127.0.0.1:{port}/liftcase-feed"
        self._stop = ctx.Event()
        self._conn, child = ctx.Pipe()
        self._proc = ctx.Process(target=_serve, args=(port, fail, self._stop, child), daemon=True)
        self._proc.start()
        self.arrivals: list[Any] = []

    def stop(self) -> None:
        if self._proc.is_alive():
            self._stop.set()
            self.arrivals = self._conn.recv()
            self._proc.join(5)

    def taken(self) -> list[Any]:
        return [a for a in self.arrivals if a.answer in ("ok", "slow")]


def _fork(target: Any, args: tuple[Any, ...]) -> Any:
    import multiprocessing as mp

    proc = mp.get_context("fork").Process(target=target, args=args)
    proc.start()
    return proc


def _produce(url: str, elevators: list[int], events: int) -> None:
    """The writers, in a process of their own (as the API and workers are): a rescue per elevator
    through the intake, then comments through the timeline writer, 100 per transaction."""
    from engine.models import Case, EventKind, TimelineEvent
    from engine.timeline_store import append_entries
    from infra.clock import SystemClock
    from infra.settings import Settings
    from liftcase.bootstrap import build_system
    from processes.intake import IntakeItem, open_or_join_many

    system = build_system(Settings(database_url=url), clock=SystemClock())
    sla = system.settings.sla_file
    for i in range(0, len(elevators), 50):
        items = [IntakeItem("rescue", e, {"source": "qr"}, "bench") for e in elevators[i : i + 50]]
        open_or_join_many(system.engine, sla, items)
    with system.sessions() as session:
        case_ids = list(session.scalars(select(Case.id).order_by(Case.id)))
        written = session.scalar(select(func.count()).select_from(TimelineEvent)) or 0
    k = 0
    while written < events:
        batch = min(100, events - written)
        entries = [
            (case_ids[(k + j) % len(case_ids)], EventKind.COMMENT_ADDED, {"n": k + j}, "bench") for j in range(batch)
        ]
        with system.sessions() as session, session.begin():
            append_entries(session, entries, system.clock.now())
        k += batch
        written += batch
    system.db.dispose()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=10_000)
    ap.add_argument("--cases", type=int, default=500)
    ap.add_argument("--fail", type=float, default=0.2, help="share of the failing receiver's answers that are 500")
    ap.add_argument("--port", type=int, default=7080, help="two ports from here (the helper's private range)")
    args = ap.parse_args()

    from connectors.feed import flows, service
    from demo.seed import seed_city
    from engine.models import Case, TimelineEvent
    from infra.clock import SystemClock
    from infra.settings import Settings
    from liftcase.bootstrap import build_system, create_schema
    from registry.models import Elevator

    failing, healthy = _Remote(args.port, args.fail), _Remote(args.port + 1, 0.0)
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

        system.db.dispose()  # no pooled connection may be shared with the forked producer
        started = time.perf_counter()
        producer = _fork(_produce, (system.settings.database_url, elevators, args.events))
        threads = [threading.Thread(target=deliverer, args=(s,), daemon=True) for s in subs]
        for t in threads:
            t.start()
        producer.join()
        assert producer.exitcode == 0, "the producer failed"
        with system.sessions() as session:
            case_ids = list(session.scalars(select(Case.id).order_by(Case.id)))
        produced_s = time.perf_counter() - started
        done.set()
        for t in threads:
            t.join(timeout=600)
        drained_s = time.perf_counter() - started
        with system.sessions() as session:
            rows = session.execute(select(Case.number, TimelineEvent.case_id, TimelineEvent.seq).join(Case))
            committed = {f"case:{number}:{seq}": (case_id, seq) for number, case_id, seq in rows}
        failing.stop()
        healthy.stop()
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
