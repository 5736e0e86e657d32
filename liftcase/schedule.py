"""Periodic domain jobs (nightly risk scoring, expiry scan, weekly and monthly reports).

Each domain registers its own with `@periodic(...)` next to its code; the scheduler process
(`liftcase scheduler`, or the embedded demo) adds every registered job to APScheduler. A job runs
in the scheduler process and should be short: heavy work is enqueued on the job queue.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

ZONE = "Asia/Shanghai"  # cron fields are read on the city's clock, not UTC


@dataclass(frozen=True)
class Periodic:
    name: str
    func: Callable[[], Any]
    cron: dict[str, Any] = field(default_factory=dict)


PERIODIC: dict[str, Periodic] = {}
# Modules that register periodic jobs; imported when a scheduler starts.
MODULES: list[str] = ["detectors.risk.flows", "liftcase.jobs", "reports.flows"]


def periodic(name: str, **cron: Any) -> Callable[[Callable[[], Any]], Callable[[], Any]]:
    """Register `func` to run on an APScheduler cron trigger, e.g. `@periodic("risk", hour=2, minute=0)`."""

    def register(func: Callable[[], Any]) -> Callable[[], Any]:
        PERIODIC[name] = Periodic(name, func, cron)
        return func

    return register


def add_to(scheduler: Any) -> None:
    import importlib

    for name in MODULES:
        importlib.import_module(name)
    for job in PERIODIC.values():
        scheduler.add_job(job.func, "cron", id=job.name, timezone=ZONE, coalesce=True,
                          max_instances=1, misfire_grace_time=3600, **job.cron)
