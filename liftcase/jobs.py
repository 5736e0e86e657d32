"""Job functions run by rq workers (deployed) or in-process (embedded)."""

from __future__ import annotations

from connectors.notify import flows, live
from connectors.notify.base import Channel
from connectors.notify.channels import channels_of
from engine.jobs import job
from liftcase.schedule import periodic
from liftcase.system import System, current_system
from processes import telemetry as _telemetry  # noqa: F401 - registers telemetry_signals for workers
from reports import flows as report_flows  # noqa: F401 - registers make_scheduled_reports for workers


def channels(system: System) -> dict[str, Channel]:
    return channels_of(system.settings)


@job("send_notifications")
def send_notifications(notification_ids: list[int]) -> int:
    """Deliver queued inbox notices (the channel every recipient has), wake the recipients' live
    streams, and queue each notice on the recipients' other channels."""
    system = current_system()
    result = flows.deliver_to_inbox(system, notification_ids, set(channels(system)))
    live.publish(system.settings.redis_url, result.recipients)
    if result.outbound:
        system.engine.jobs.enqueue("deliver_notifications", result.outbound)
    return len(result.delivered)


@job("deliver_notifications")
def deliver_notifications(notification_ids: list[int]) -> int:
    """One attempt per notice on its channel (e-mail, SMS, IM); failures wait out their backoff and
    are taken up again by `retry_notifications`. Never raises for a failed delivery: the retries
    are ours (recorded, with backoff), not the queue's."""
    system = current_system()
    return sum(a.ok for a in flows.deliver(system, notification_ids, channels(system)))


@periodic("retry_notifications", second="*/5")
def retry_notifications() -> tuple[int, int]:
    """Queue the notices whose backoff ended, whose worker died mid-attempt, or whose job was lost."""
    system = current_system()
    inbox, outbound = flows.due_work(system)
    if inbox:
        system.engine.jobs.enqueue("send_notifications", inbox)
    if outbound:
        system.engine.jobs.enqueue("deliver_notifications", outbound)
    return len(inbox), len(outbound)
