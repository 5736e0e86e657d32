"""Helpers of the feed tests: cases with timelines, a subscription, pumping the feed until done."""

from __future__ import annotations

from datetime import timedelta
from itertools import count

from sqlalchemy import func, select

from connectors.feed import flows, service
from connectors.feed.models import FeedDelivery
from engine.models import EventKind
from engine.timeline_store import append_entries
from infra.clock import SimulatedClock
from processes.intake import open_or_join
from processes.system import System

SECRET = "feed-secret-of-the-province-0123"
_ports = count(7010)


def next_port() -> int:
    """A port of this helper's private range (7000-7099), a new one per receiver."""
    return next(_ports)


def subscribe(system: System, url: str, **fields: object) -> int:
    with system.sessions() as session, session.begin():
        sub = service.create_subscription(
            session,
            {"name": f"sub-{url}-{sorted(fields.items())}"[:80], "url": url, "secret": SECRET, "timeout_seconds": 0.4}
            | fields,
            actor="admin",
            now=system.clock.now(),
        )
        return sub.id


def open_cases(system: System, elevator_ids: list[int], comments: int = 3) -> list[int]:
    """A rescue on each elevator, then `comments` comment entries on each timeline."""
    sla = system.settings.sla_file
    ids = [
        open_or_join(system.engine, sla, "rescue", elevator_id=e, signal={"source": "qr"}).case_id for e in elevator_ids
    ]
    for i in range(comments):
        with system.sessions() as session, session.begin():
            entries = [(c, EventKind.COMMENT_ADDED, {"text": f"note {i}"}, "dispatcher") for c in ids]
            append_entries(session, entries, system.clock.now())
    return ids


def pending(system: System, subscription_id: int) -> int:
    with system.sessions() as session:
        stmt = select(func.count()).where(
            FeedDelivery.subscription_id == subscription_id, FeedDelivery.status == "pending"
        )
        return session.scalar(stmt) or 0


def pump(system: System, clock: SimulatedClock, subscription_ids: list[int], rounds: int = 60) -> int:
    """Place and deliver until nothing is owed, moving the clock past every backoff between rounds."""
    for n in range(rounds):
        while flows.sequence(system):
            pass
        for sub in subscription_ids:
            flows.deliver(system, sub, budget_seconds=10)
        if not any(pending(system, s) for s in subscription_ids):
            return n + 1
        clock.advance(timedelta(minutes=11))
    raise AssertionError("the feed did not drain")
