"""Delivering notices, the only place here with side effects: the inbox, fan-out to each recipient's
other channels, attempts with exponential backoff, and every attempt on the case timeline.

A notice is one `notifications` row per recipient x channel. States:
queued -> sending -> sent | retrying (-> sending ...) | failed. The claim is a conditional UPDATE, so
a notice is attempted by one worker at a time and never after it was sent (duplicate jobs are harmless).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, exists, select, update
from sqlalchemy.orm import Session

from connectors.notify.base import Channel, DeliveryError, OutboundMessage, PermanentDeliveryError
from connectors.notify.channels import INBOX
from connectors.notify.models import ChannelPreference, DeliveryAttempt, DeliveryDue
from connectors.notify.preferences import channels_for
from engine.models import Case, EventKind, Notification
from engine.steps import StepRecorder
from liftcase.registry.models import User
from liftcase.system import System

log = logging.getLogger(__name__)
ACTOR = "notifier"
CLAIMABLE = ("queued", "retrying", "sending")
ADDRESS_NAMES = {"email": "an e-mail address", "phone": "a phone number"}
# A queued notice whose job went missing (a lost enqueue, a crashed worker) is taken up after this.
STALE_AFTER = timedelta(seconds=60)


def backoff(settings: Any, attempt: int) -> timedelta:
    """Wait after the `attempt`-th failure: base, 2 x base, 4 x base ... capped at an hour."""
    return timedelta(seconds=min(settings.notify_backoff_seconds * 2 ** (attempt - 1), 3600.0))


def _lease(settings: Any) -> timedelta:
    return timedelta(seconds=max(60.0, 3 * settings.notify_timeout_seconds))


def _insert_new(session: Session, rows: list[dict[str, Any]]) -> list[int]:
    """Insert notices, skipping any whose dedupe_key exists (a repeated job, a racing worker)."""
    if not rows:
        return []
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    stmt = insert(Notification).values(rows).on_conflict_do_nothing(index_elements=["dedupe_key"])
    return list(session.scalars(stmt.returning(Notification.id)))


class _Timeline:
    """Events for several cases in the caller's transaction (one lock and one insert per case)."""

    def __init__(self, session: Session, now: datetime) -> None:
        self.session, self.now = session, now
        self.recorders: dict[int, StepRecorder] = {}

    def add(self, case_id: int | None, kind: EventKind, payload: dict[str, Any]) -> None:
        if case_id is None:
            return
        recorder = self.recorders.get(case_id)
        if recorder is None:
            case = self.session.scalar(select(Case).where(Case.id == case_id).with_for_update())
            if case is None:
                return
            recorder = self.recorders[case_id] = StepRecorder(self.session, case, self.now, ACTOR)
        recorder.event(kind, payload)

    def flush(self) -> None:
        for recorder in self.recorders.values():
            recorder.flush_events()


# --- the inbox and the fan-out ---------------------------------------------------------------


@dataclass
class InboxResult:
    delivered: list[int] = field(default_factory=list)
    unaddressed: list[int] = field(default_factory=list)
    recipients: set[int] = field(default_factory=set)
    outbound: list[int] = field(default_factory=list)


def _fan_out_rows(
    session: Session, notices: list[Notification], available: set[str], now: datetime
) -> list[dict[str, Any]]:
    user_ids = {n.user_id for n in notices if n.user_id is not None}
    case_ids = {n.case_id for n in notices if n.case_id is not None}
    users = {u.id: u for u in session.scalars(select(User).where(User.id.in_(user_ids)))}
    priorities = dict(session.execute(select(Case.id, Case.priority).where(Case.id.in_(case_ids))).all())
    own: dict[int, dict[str, tuple[bool, str]]] = defaultdict(dict)
    for pref in session.scalars(select(ChannelPreference).where(ChannelPreference.user_id.in_(user_ids))):
        own[pref.user_id][pref.channel] = (pref.enabled, pref.priorities)
    rows = []
    for n in notices:
        user = users.get(n.user_id)  # type: ignore[arg-type]
        if user is None:
            continue
        priority = priorities.get(n.case_id) if n.case_id is not None else None
        for choice in channels_for(n.role, priority, user.on_call, own[user.id], available):
            if not choice.explicit and not _address(user, choice.channel):
                continue  # a default the user never asked for, without an address: nothing to try
            stem = n.dedupe_key[: -len(INBOX)] if n.dedupe_key.endswith(f":{INBOX}") else f"{n.dedupe_key}:"
            rows.append(
                {
                    "case_id": n.case_id,
                    "role": n.role,
                    "organisation_id": n.organisation_id,
                    "user_id": n.user_id,
                    "channel": choice.channel,
                    "subject": n.subject,
                    "body": n.body,
                    "dedupe_key": f"{stem}{choice.channel}"[:200],
                    "status": "queued",
                    "attempts": 0,
                    "created_at": now,
                }
            )
    return rows


_ADDRESS_FIELD = {"email": "email", "sms": "phone", "im": "phone"}


def _address(user: User, channel: str) -> str | None:
    return getattr(user, _ADDRESS_FIELD.get(channel, ""), None)


def deliver_to_inbox(system: System, notification_ids: Iterable[int], available: set[str]) -> InboxResult:
    """Put queued inbox notices in their recipients' inboxes and queue the same notice on each
    recipient's other channels (`available`: the configured ones). A notice that reached nobody
    (no user holds the lane's role) is failed at once: an operator sees it in the failures list."""
    ids = list(notification_ids)
    result = InboxResult()
    now = system.clock.now()
    with system.sessions() as session, session.begin():
        base = update(Notification).where(
            Notification.id.in_(ids), Notification.channel == INBOX, Notification.status == "queued"
        )
        result.delivered = list(
            session.scalars(
                base.where(Notification.user_id.is_not(None))
                .values(status="sent", sent_at=now, attempts=Notification.attempts + 1)
                .returning(Notification.id)
            )
        )
        result.unaddressed = list(
            session.scalars(
                base.where(Notification.user_id.is_(None))
                .values(status="failed", attempts=Notification.attempts + 1,
                        last_error="nobody to tell: no active user holds this role in the organisation")
                .returning(Notification.id)
            )
        )
        if not result.delivered and not result.unaddressed:
            return result
        notices = list(
            session.scalars(
                select(Notification)
                .where(Notification.id.in_(result.delivered + result.unaddressed))
                .order_by(Notification.id)
            )
        )
        delivered = [n for n in notices if n.status == "sent"]
        result.recipients = {n.user_id for n in delivered if n.user_id is not None}
        rows = _fan_out_rows(session, delivered, available, now) if available else []
        result.outbound = _insert_new(session, rows)
        fanned = list(session.scalars(select(Notification).where(Notification.id.in_(result.outbound))))
        timeline = _Timeline(session, now)
        by_case: dict[int | None, list[Notification]] = defaultdict(list)
        for n in notices:
            by_case[n.case_id].append(n)
        for case_id, group in by_case.items():
            sent = [n.id for n in group if n.status == "sent"]
            if sent:
                queued: dict[str, list[int]] = defaultdict(list)
                for f in fanned:
                    if f.case_id == case_id:
                        queued[f.channel].append(f.id)
                timeline.add(case_id, EventKind.NOTIFICATION_SENT,
                             {"channel": INBOX, "notifications": sent, "queued_on": dict(queued)})
            for n in group:
                if n.status == "failed":
                    timeline.add(case_id, EventKind.NOTIFICATION_FAILED,
                                 {"notification": n.id, "channel": INBOX, "role": n.role, "attempt": 1,
                                  "final": True, "error": n.last_error})
        timeline.flush()
    return result


# --- outbound channels ----------------------------------------------------------------------


@dataclass(frozen=True)
class Attempt:
    notification_id: int
    ok: bool
    final: bool
    error: str | None = None


def _claim(session: Session, notification_id: int, now: datetime, lease: timedelta) -> Notification | None:
    waiting = exists().where(DeliveryDue.notification_id == Notification.id, DeliveryDue.due_at > now)
    claimed = session.execute(
        update(Notification)
        .where(
            Notification.id == notification_id,
            Notification.channel != INBOX,
            Notification.status.in_(CLAIMABLE),
            ~waiting,
        )
        .values(status="sending", attempts=Notification.attempts + 1)
    ).rowcount
    if not claimed:
        return None
    session.merge(DeliveryDue(notification_id=notification_id, due_at=now + lease))
    return session.get(Notification, notification_id)


def _message(session: Session, notice: Notification, channel: Channel | None, now: datetime) -> OutboundMessage:
    if channel is None:
        raise PermanentDeliveryError(f"channel {notice.channel!r} is not configured on this installation")
    user = session.get(User, notice.user_id) if notice.user_id is not None else None
    address = getattr(user, channel.address_field, None) if user is not None else None
    if not address:
        who = user.username if user is not None else "the recipient"
        raise PermanentDeliveryError(f"{who} has no {ADDRESS_NAMES.get(channel.address_field, 'address')}")
    case = session.get(Case, notice.case_id) if notice.case_id is not None else None
    return OutboundMessage(
        notification_id=notice.id,
        dedupe_key=notice.dedupe_key,
        to=address,
        subject=notice.subject,
        body=notice.body,
        case_number=case.number if case else None,
        priority=case.priority if case else None,
        at=now,
    )


def attempt_delivery(system: System, notification_id: int, channels: dict[str, Channel]) -> Attempt | None:
    """One attempt at one outbound notice; None when it is not ours to attempt (sent, failed, claimed
    by another worker, or waiting for its backoff to end)."""
    settings = system.settings
    now = system.clock.now()
    with system.sessions() as session, session.begin():
        notice = _claim(session, notification_id, now, _lease(settings))
        if notice is None:
            return None
        channel = channels.get(notice.channel)
        try:
            message: OutboundMessage | None = _message(session, notice, channel, now)
            problem: DeliveryError | None = None
        except PermanentDeliveryError as err:
            message, problem = None, err
    if message is not None and channel is not None:
        try:
            channel.send(message)
        except DeliveryError as err:
            problem = err
        except Exception as err:  # a plugin's bug must not stop the loop; it is recorded like any failure
            log.exception("channel %s raised", notice.channel)
            problem = DeliveryError(f"{type(err).__name__}: {err}")
    return _record(system, notice, problem)


def _record(system: System, notice: Notification, problem: DeliveryError | None) -> Attempt:
    settings = system.settings
    now = system.clock.now()
    attempt = notice.attempts
    final = problem is None or isinstance(problem, PermanentDeliveryError) or attempt >= settings.notify_max_attempts
    retry_at = None if final else now + backoff(settings, attempt)
    error = None if problem is None else str(problem)[:2000]
    with system.sessions() as session, session.begin():
        values: dict[str, Any] = {"last_error": error}
        if problem is None:
            values.update(status="sent", sent_at=now)
        else:
            values.update(status="failed" if final else "retrying")
        session.execute(update(Notification).where(Notification.id == notice.id).values(**values))
        if final:
            session.execute(delete(DeliveryDue).where(DeliveryDue.notification_id == notice.id))
        else:
            session.merge(DeliveryDue(notification_id=notice.id, due_at=retry_at))
        session.add(
            DeliveryAttempt(notification_id=notice.id, attempt=attempt, channel=notice.channel, at=now,
                            ok=problem is None, error=error, next_attempt_at=retry_at)
        )
        payload: dict[str, Any] = {
            "notification": notice.id,
            "channel": notice.channel,
            "user_id": notice.user_id,
            "role": notice.role,
            "attempt": attempt,
            "of": settings.notify_max_attempts,
        }
        if problem is not None:
            payload.update(error=error, final=final, retry_at=retry_at)
        timeline = _Timeline(session, now)
        timeline.add(notice.case_id, EventKind.NOTIFICATION_SENT if problem is None else EventKind.NOTIFICATION_FAILED,
                     payload)
        timeline.flush()
    return Attempt(notice.id, problem is None, final, error)


def deliver(system: System, notification_ids: Iterable[int], channels: dict[str, Channel]) -> list[Attempt]:
    """Attempt each notice once; each one's outcome is independent of the others'."""
    return [a for nid in notification_ids if (a := attempt_delivery(system, nid, channels)) is not None]


# --- the sweep ------------------------------------------------------------------------------


def due_work(system: System, limit: int = 500) -> tuple[list[int], list[int]]:
    """(inbox ids, outbound ids) to take up now: retries whose backoff ended, attempts whose worker
    died (lease ended), and queued notices whose job never ran."""
    now = system.clock.now()
    stale = now - STALE_AFTER
    with system.sessions() as session:
        retries = list(
            session.scalars(
                select(DeliveryDue.notification_id).where(DeliveryDue.due_at <= now)
                .order_by(DeliveryDue.due_at).limit(limit)
            )
        )
        never_tried = ~exists().where(DeliveryDue.notification_id == Notification.id)
        queued = session.execute(
            select(Notification.id, Notification.channel)
            .where(Notification.status == "queued", Notification.created_at <= stale, never_tried)
            .order_by(Notification.id).limit(limit)
        ).all()
    inbox = [nid for nid, channel in queued if channel == INBOX]
    outbound = retries + [nid for nid, channel in queued if channel != INBOX]
    return inbox, outbound
