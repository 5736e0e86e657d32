"""Notification jobs run by rq workers (deployed) or in-process (embedded), and the retry sweep.

Each receives the running system first; the bootstrap registers them by the names below.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from connectors.notify import flows, live
from connectors.notify.base import Channel
from connectors.notify.channels import channels_of
from infra.periodic import Periodic
from processes.system import System

SEND = "send_notifications"
DELIVER = "deliver_notifications"
URGENT_PRIORITY = "P1"  # a trapped passenger: the rescue's notices go out before every other notice


class QueuedNotices(Protocol):
    """One case's notices as the engine hands them on after a commit (engine.recorder.QueuedNotices)."""

    @property
    def ids(self) -> list[int]: ...

    @property
    def priority(self) -> str | None: ...


def channels(system: System) -> dict[str, Channel]:
    return channels_of(system.settings)


def urgent(notification_ids: list[int], urgent: bool = False) -> bool:
    """A job's notices are a P1 rescue's (the queue puts it on notify-p1, before every other notice)."""
    return urgent


def _args(ids: list[int], urgent: bool) -> tuple[object, ...]:
    return (ids, True) if urgent else (ids,)


def queue_notifications(system: System, batches: Sequence[QueuedNotices]) -> None:
    """The engine's after-commit callback: deliver each case's queued notices as one job, a P1
    rescue's marked urgent (the engine hands each batch with its case's priority)."""
    jobs = [_args(b.ids, b.priority == URGENT_PRIORITY) for b in batches if b.ids]
    if len(jobs) > 1:
        system.jobs.enqueue_many(SEND, jobs)
    else:
        for args in jobs:
            system.jobs.enqueue(SEND, *args)


def send_notifications(system: System, notification_ids: list[int], urgent: bool = False) -> int:
    """Deliver queued inbox notices (the channel every recipient has), wake the recipients' live
    streams, and queue each notice on the recipients' other channels (as urgent as this job)."""
    result = flows.deliver_to_inbox(system, notification_ids, set(channels(system)))
    live.publish(system.settings.redis_url, result.recipients)
    if result.outbound:
        system.jobs.enqueue(DELIVER, *_args(result.outbound, urgent))
    return len(result.delivered)


def deliver_notifications(system: System, notification_ids: list[int], urgent: bool = False) -> int:
    """One attempt per notice on its channel (e-mail, SMS, IM); failures wait out their backoff and
    are taken up again by `retry_notifications`. Never raises for a failed delivery: the retries
    are ours (recorded, with backoff), not the queue's."""
    return sum(a.ok for a in flows.deliver(system, notification_ids, channels(system)))


def retry_notifications(system: System) -> tuple[int, int]:
    """Queue the notices whose backoff ended, whose worker died mid-attempt, or whose job was lost."""
    inbox, outbound = flows.due_work(system)
    if inbox:
        system.jobs.enqueue(SEND, inbox)
    if outbound:
        system.jobs.enqueue(DELIVER, outbound)
    return len(inbox), len(outbound)


RETRY = Periodic("retry_notifications", retry_notifications, {"second": "*/5"})
