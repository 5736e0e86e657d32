"""The feed's job and its sweep: the sweep places committed outbox rows in the feed and queues a
delivery job per subscription with something due; the job pushes that subscription's events."""

from __future__ import annotations

from connectors.feed import flows
from infra.periodic import Periodic
from processes.system import System

DELIVER = "deliver_feed"


def deliver_feed(system: System, subscription_id: int) -> int:
    return flows.deliver(system, subscription_id)


def sweep_feed(system: System) -> tuple[int, int]:
    """(events placed, subscriptions queued). Runs every 2 s; the delivery jobs do the sending."""
    placed = 0
    while (n := flows.sequence(system)) > 0:
        placed += n
    due = flows.due_subscriptions(system)
    for sub in due:
        system.jobs.enqueue(DELIVER, sub)
    return placed, len(due)


SWEEP = Periodic("sweep_feed", sweep_feed, {"second": "*/2"})
