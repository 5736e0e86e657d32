"""Notification jobs run by rq workers (deployed) or in-process (embedded), and the retry sweep.

Each receives the running system first; the bootstrap registers them by the names below.
"""

from __future__ import annotations

from connectors.notify import flows, live
from connectors.notify.base import Channel
from connectors.notify.channels import channels_of
from infra.periodic import Periodic
from processes.system import System

SEND = "send_notifications"
DELIVER = "deliver_notifications"


def channels(system: System) -> dict[str, Channel]:
    return channels_of(system.settings)


def queue_notifications(system: System, batches: list[list[int]]) -> None:
    """The engine's after-commit callback: deliver each batch of queued notices as one job."""
    if len(batches) > 1:
        system.jobs.enqueue_many(SEND, [(ids,) for ids in batches])
    else:
        for ids in batches:
            system.jobs.enqueue(SEND, ids)


def send_notifications(system: System, notification_ids: list[int]) -> int:
    """Deliver queued inbox notices (the channel every recipient has), wake the recipients' live
    streams, and queue each notice on the recipients' other channels."""
    result = flows.deliver_to_inbox(system, notification_ids, set(channels(system)))
    live.publish(system.settings.redis_url, result.recipients)
    if result.outbound:
        system.jobs.enqueue(DELIVER, result.outbound)
    return len(result.delivered)


def deliver_notifications(system: System, notification_ids: list[int]) -> int:
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
