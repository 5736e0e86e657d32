"""Periodic work (nightly risk scoring, notice retries, weekly and monthly reports, offline boxes).

Each domain declares its `Periodic` values next to its code; the application's bootstrap lists
them, and the scheduler process (`liftcase scheduler`, or the embedded demo) adds them to
APScheduler. A periodic function runs in the scheduler process with the context it is given (the
system) and should be short: heavy work is enqueued on the job queue.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Periodic:
    name: str
    func: Callable[[Any], Any]  # called with the context
    cron: dict[str, Any] = field(default_factory=dict)  # APScheduler cron fields, on the city's clock


def add_to(scheduler: Any, work: Iterable[Periodic], context: Any, timezone: str) -> None:
    """Add every periodic job to an APScheduler scheduler; cron fields are read in `timezone`."""
    for item in work:
        scheduler.add_job(item.func, "cron", args=[context], id=item.name, timezone=timezone, coalesce=True,
                          max_instances=1, misfire_grace_time=3600, **item.cron)  # fmt: skip
