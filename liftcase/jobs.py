"""Job functions run by rq workers (deployed) or in-process (embedded)."""

from __future__ import annotations

from sqlalchemy import select, update

from engine.jobs import job
from engine.models import EventKind, Notification
from liftcase.system import current_system


@job("send_notifications")
def send_notifications(notification_ids: list[int]) -> int:
    """Deliver queued notices. The in-app inbox is the channel every recipient has; the other
    channels (e-mail, SMS/IM gateway, SSE) plug in here as they arrive."""
    system = current_system()
    now = system.clock.now()
    with system.sessions() as session, session.begin():
        rows = session.scalars(
            select(Notification).where(Notification.id.in_(notification_ids), Notification.status == "queued")
        ).all()
        if not rows:
            return 0
        session.execute(
            update(Notification)
            .where(Notification.id.in_([r.id for r in rows]))
            .values(status="sent", sent_at=now, attempts=Notification.attempts + 1)
        )
        case_id = rows[0].case_id
    if case_id is not None:
        system.engine.record(
            case_id,
            EventKind.NOTIFICATION_SENT,
            {"notifications": [r.id for r in rows], "channel": "inbox"},
            actor="notifier",
        )
    return len(rows)
