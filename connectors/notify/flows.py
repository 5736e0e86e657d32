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
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Row, Table, bindparam, case, delete, exists, insert, select, update
from sqlalchemy.orm import Session

from connectors.notify.base import Channel, DeliveryError, OutboundMessage, PermanentDeliveryError
from connectors.notify.channels import INBOX
from connectors.notify.models import ChannelPreference, DeliveryAttempt, DeliveryDue
from connectors.notify.preferences import channels_for
from engine.models import Case, EventKind, Notification
from processes.system import System
from processes.timelines import add_to_timelines
from registry.models import User

log = logging.getLogger(__name__)
NOTIFICATIONS, CASES = cast(Table, Notification.__table__), cast(Table, Case.__table__)  # Core: rows, not objects
ACTOR = "notifier"
CLAIMABLE = ("queued", "retrying", "sending")
ADDRESS_NAMES = {"email": "an e-mail address", "phone": "a phone number"}
# (case id or None, kind, payload, actor): an event for the case timeline (processes.timelines)
TimelineEntry = tuple[int | None, EventKind, dict[str, Any], str]
# A queued notice whose job went missing (a lost enqueue, a crashed worker) is taken up after this.
STALE_AFTER = timedelta(seconds=60)


def backoff(settings: Any, attempt: int) -> timedelta:
    """Wait after the `attempt`-th failure: base, 2 x base, 4 x base ... capped at an hour."""
    return timedelta(seconds=min(settings.notify_backoff_seconds * 2 ** (attempt - 1), 3600.0))


def _lease(settings: Any, batch: int) -> timedelta:
    """How long a claimed batch is ours: its sends in rounds of PARALLEL_SENDS, each bounded by the
    timeout (twice: connect, then answer), plus a minute. A worker that dies holds it no longer."""
    rounds = -(-batch // PARALLEL_SENDS)
    return timedelta(seconds=60.0 + 2 * settings.notify_timeout_seconds * rounds)


def _insert_new(session: Session, rows: list[dict[str, Any]]) -> list[Row[Any]]:
    """Insert notices, skipping any whose dedupe_key exists (a repeated job, a racing worker); the
    (id, case_id, channel) of those inserted, in id order."""
    if not rows:
        return []
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as insert_or_skip
    else:
        from sqlalchemy.dialects.sqlite import insert as insert_or_skip
    stmt = insert_or_skip(NOTIFICATIONS).values(rows).on_conflict_do_nothing(index_elements=["dedupe_key"])
    inserted = session.execute(stmt.returning(NOTIFICATIONS.c.id, NOTIFICATIONS.c.case_id, NOTIFICATIONS.c.channel))
    return sorted(inserted, key=lambda r: r.id)


# --- the inbox and the fan-out ---------------------------------------------------------------

NOBODY = "nobody to tell: no active user holds this role in the organisation"
_N = NOTIFICATIONS.c
# What a delivery needs of each notice it took, handed back by the UPDATE that takes them.
_TAKEN = (_N.id, _N.case_id, _N.role, _N.organisation_id, _N.user_id, _N.subject, _N.body, _N.dedupe_key,
          _N.status, _N.last_error)  # fmt: skip
_CASE_PRIORITY = select(CASES.c.priority).where(CASES.c.id == _N.case_id).scalar_subquery()


@dataclass
class InboxResult:
    delivered: list[int] = field(default_factory=list)
    unaddressed: list[int] = field(default_factory=list)
    recipients: set[int] = field(default_factory=set)
    outbound: list[int] = field(default_factory=list)


def _take_statement(with_priority: bool) -> Any:
    addressed = _N.user_id.is_not(None)
    return (
        update(NOTIFICATIONS)
        .where(_N.id.in_(bindparam("ids", expanding=True)), _N.channel == INBOX, _N.status == "queued")
        .values(
            status=case((addressed, "sent"), else_="failed"),
            sent_at=case((addressed, bindparam("now", type_=_N.sent_at.type)), else_=_N.sent_at),
            attempts=_N.attempts + 1,
            last_error=case((addressed, _N.last_error), else_=NOBODY),
        )
        .returning(*_TAKEN, *([_CASE_PRIORITY.label("priority")] if with_priority else []))
    )


# Built once (every send job runs one): without and with the case's priority.
_TAKE = {False: _take_statement(False), True: _take_statement(True)}


def _take_inbox(session: Session, ids: list[int], now: datetime, *, with_priority: bool) -> list[Row[Any]]:
    """One UPDATE … RETURNING (SQLite ≥ 3.35 and PostgreSQL): each queued inbox notice among `ids`
    becomes sent (it has a recipient) or failed (nobody holds the lane's role), and comes back as it
    now stands, in id order; with `with_priority`, with its case's priority (for the fan-out)."""
    taken = session.connection().execute(_TAKE[with_priority], {"ids": ids, "now": now})
    return sorted(taken, key=lambda r: r.id)


def _fan_out_rows(
    session: Session, notices: list[Row[Any]], available: set[str], now: datetime
) -> list[dict[str, Any]]:
    """The other channels' notices for delivered inbox notices (which carry their case's priority):
    the recipients and their own channel choices read in one query."""
    user_ids = {n.user_id for n in notices if n.user_id is not None}
    people = session.execute(
        select(User.id, User.on_call, User.email, User.phone, ChannelPreference.channel, ChannelPreference.enabled,
               ChannelPreference.priorities)
        .outerjoin(ChannelPreference, ChannelPreference.user_id == User.id)
        .where(User.id.in_(user_ids))
    )  # fmt: skip
    users: dict[int, Any] = {}  # rows: id, on_call, email, phone, …
    own: dict[int, dict[str, tuple[bool, str]]] = defaultdict(dict)
    for person in people:
        users[person.id] = person
        if person.channel is not None:
            own[person.id][person.channel] = (person.enabled, person.priorities)
    rows = []
    for n in notices:
        user = users.get(n.user_id)
        if user is None:
            continue
        for choice in channels_for(n.role, n.priority, user.on_call, own[user.id], available):
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


def _address(user: Any, channel: str) -> str | None:
    """The user's (a User or a row with its email and phone) address on this channel."""
    return getattr(user, _ADDRESS_FIELD.get(channel, ""), None)


def _inbox_events(notices: list[Row[Any]], fanned: list[Row[Any]]) -> list[TimelineEntry]:
    """Per case: one "sent" event for its delivered notices (with what was queued on other
    channels), one "failed" event per notice that reached nobody."""
    timeline: list[TimelineEntry] = []
    by_case: dict[int | None, list[Row[Any]]] = defaultdict(list)
    for n in notices:
        by_case[n.case_id].append(n)
    for case_id, group in sorted(by_case.items(), key=lambda kv: kv[0] or 0):  # one order, case by case
        sent = [n.id for n in group if n.status == "sent"]
        if sent:
            queued: dict[str, list[int]] = defaultdict(list)
            for f in fanned:
                if f.case_id == case_id:
                    queued[f.channel].append(f.id)
            timeline.append(
                (
                    case_id,
                    EventKind.NOTIFICATION_SENT,
                    {"channel": INBOX, "notifications": sent, "queued_on": dict(queued)},
                    ACTOR,
                )
            )
        for n in group:
            if n.status == "failed":
                timeline.append(
                    (
                        case_id,
                        EventKind.NOTIFICATION_FAILED,
                        {
                            "notification": n.id,
                            "channel": INBOX,
                            "role": n.role,
                            "attempt": 1,
                            "final": True,
                            "error": n.last_error,
                        },
                        ACTOR,
                    )
                )
    return timeline


def deliver_to_inbox(system: System, notification_ids: Iterable[int], available: set[str]) -> InboxResult:
    """Put queued inbox notices in their recipients' inboxes and queue the same notice on each
    recipient's other channels (`available`: the configured ones). A notice that reached nobody
    (no user holds the lane's role) is failed at once: an operator sees it in the failures list.
    Without other channels: one UPDATE … RETURNING, then the timeline entries."""
    ids = list(notification_ids)
    result = InboxResult()
    if not ids:
        return result
    now = system.clock.now()
    with system.sessions() as session, session.begin():
        notices = _take_inbox(session, ids, now, with_priority=bool(available))
        if not notices:
            return result
        delivered = [n for n in notices if n.status == "sent"]
        result.delivered = [n.id for n in delivered]
        result.unaddressed = [n.id for n in notices if n.status == "failed"]
        result.recipients = {n.user_id for n in delivered}
        rows = _fan_out_rows(session, delivered, available, now) if available and delivered else []
        fanned = _insert_new(session, rows)
        result.outbound = [f.id for f in fanned]
        add_to_timelines(session, _inbox_events(notices, fanned), now)
    return result


# --- outbound channels ----------------------------------------------------------------------

BATCH = 100  # notices claimed and recorded per transaction
PARALLEL_SENDS = 8  # gateways and mail servers answer in tens of milliseconds: overlap the waits


@dataclass(frozen=True)
class Attempt:
    notification_id: int
    ok: bool
    final: bool
    error: str | None = None


@dataclass
class _Claimed:
    notice: Notification
    channel: Channel | None
    message: OutboundMessage | None = None
    problem: DeliveryError | None = None


def _claim(session: Session, ids: list[int], now: datetime, lease: timedelta) -> list[Notification]:
    """Take the notices that are ours to attempt now (not sent or failed, not claimed by a live worker,
    not waiting out a backoff) in one conditional UPDATE, and lease them."""
    waiting = exists().where(DeliveryDue.notification_id == Notification.id, DeliveryDue.due_at > now)
    claimed = list(
        session.scalars(
            update(Notification)
            .where(
                Notification.id.in_(ids),
                Notification.channel != INBOX,
                Notification.status.in_(CLAIMABLE),
                ~waiting,
            )
            .values(status="sending", attempts=Notification.attempts + 1)
            .returning(Notification.id),
            execution_options={"synchronize_session": False},
        )
    )
    if not claimed:
        return []
    session.execute(delete(DeliveryDue).where(DeliveryDue.notification_id.in_(claimed)))
    session.execute(insert(DeliveryDue), [{"notification_id": nid, "due_at": now + lease} for nid in claimed])
    return list(session.scalars(select(Notification).where(Notification.id.in_(claimed)).order_by(Notification.id)))


def _messages(
    session: Session, notices: list[Notification], channels: dict[str, Channel], now: datetime
) -> list[_Claimed]:
    user_ids = {n.user_id for n in notices if n.user_id is not None}
    case_ids = {n.case_id for n in notices if n.case_id is not None}
    users = {u.id: u for u in session.scalars(select(User).where(User.id.in_(user_ids)))}
    cases = {c.id: c for c in session.execute(select(Case.id, Case.number, Case.priority).where(Case.id.in_(case_ids)))}
    out = []
    for notice in notices:
        item = _Claimed(notice, channels.get(notice.channel))
        user = users.get(notice.user_id) if notice.user_id is not None else None
        case = cases.get(notice.case_id) if notice.case_id is not None else None
        if item.channel is None:
            item.problem = PermanentDeliveryError(f"channel {notice.channel!r} is not configured on this installation")
        elif not (address := getattr(user, item.channel.address_field, None) if user is not None else None):
            who = user.username if user is not None else "the recipient"
            item.problem = PermanentDeliveryError(
                f"{who} has no {ADDRESS_NAMES.get(item.channel.address_field, 'address')}"
            )
        else:
            item.message = OutboundMessage(
                notification_id=notice.id,
                dedupe_key=notice.dedupe_key,
                to=address,
                subject=notice.subject,
                body=notice.body,
                case_number=case.number if case else None,
                priority=case.priority if case else None,
                at=now,
            )
        out.append(item)
    return out


def _send(item: _Claimed) -> None:
    if item.message is None or item.channel is None:
        return
    try:
        item.channel.send(item.message)
    except DeliveryError as err:
        item.problem = err
    except Exception as err:  # a plugin's bug must not stop the loop; it is recorded like any failure
        log.exception("channel %s raised", item.notice.channel)
        item.problem = DeliveryError(f"{type(err).__name__}: {err}")


def _record(system: System, items: list[_Claimed]) -> list[Attempt]:
    """Each attempt's outcome: the notice's state, its next due time, an attempt row and a timeline event."""
    settings = system.settings
    now = system.clock.now()
    attempts, updates, due, history = [], [], [], []
    ordered = sorted(items, key=lambda i: (i.notice.case_id or 0, i.notice.id))  # cases locked in one order
    for item in ordered:
        notice, problem = item.notice, item.problem
        final = (
            problem is None
            or isinstance(problem, PermanentDeliveryError)
            or notice.attempts >= settings.notify_max_attempts
        )
        retry_at = None if final else now + backoff(settings, notice.attempts)
        error = None if problem is None else str(problem)[:2000]
        status = "sent" if problem is None else ("failed" if final else "retrying")
        updates.append(
            {"id": notice.id, "status": status, "last_error": error, "sent_at": now if problem is None else None}
        )
        if retry_at is not None:
            due.append({"notification_id": notice.id, "due_at": retry_at})
        history.append(
            {
                "notification_id": notice.id,
                "attempt": notice.attempts,
                "channel": notice.channel,
                "at": now,
                "ok": problem is None,
                "error": error,
                "next_attempt_at": retry_at,
            }
        )
        attempts.append(Attempt(notice.id, problem is None, final, error))
    with system.sessions() as session, session.begin():
        session.execute(update(Notification), updates)  # by primary key, one statement per batch
        ids = [u["id"] for u in updates]
        session.execute(delete(DeliveryDue).where(DeliveryDue.notification_id.in_(ids)))
        if due:
            session.execute(insert(DeliveryDue), due)
        session.execute(insert(DeliveryAttempt), history)
        timeline: list[TimelineEntry] = []
        for item, row in zip(ordered, history, strict=True):
            payload: dict[str, Any] = {
                "notification": item.notice.id,
                "channel": item.notice.channel,
                "user_id": item.notice.user_id,
                "role": item.notice.role,
                "attempt": row["attempt"],
                "of": settings.notify_max_attempts,
            }
            if not row["ok"]:
                retry_at = row["next_attempt_at"]
                payload.update(error=row["error"], final=retry_at is None, retry_at=retry_at)
            kind = EventKind.NOTIFICATION_SENT if row["ok"] else EventKind.NOTIFICATION_FAILED
            timeline.append((item.notice.case_id, kind, payload, ACTOR))
        add_to_timelines(session, timeline, now)
    return attempts


def deliver(system: System, notification_ids: Iterable[int], channels: dict[str, Channel]) -> list[Attempt]:
    """One attempt at each notice that is ours to attempt now; each one's outcome is its own. Claimed
    and recorded in batches, sent a few at a time in parallel."""
    ids = list(notification_ids)
    out: list[Attempt] = []
    for start in range(0, len(ids), BATCH):
        now = system.clock.now()
        with system.sessions() as session, session.begin():
            chunk = ids[start : start + BATCH]
            notices = _claim(session, chunk, now, _lease(system.settings, len(chunk)))
            items = _messages(session, notices, channels, now)
        if not items:
            continue
        sendable = [i for i in items if i.message is not None]
        if len(sendable) > 1:
            with ThreadPoolExecutor(max_workers=min(PARALLEL_SENDS, len(sendable))) as pool:
                list(pool.map(_send, sendable))
        else:
            for item in sendable:
                _send(item)
        out.extend(_record(system, items))
    return out


# --- the sweep ------------------------------------------------------------------------------


def due_work(system: System, limit: int = 500) -> tuple[list[int], list[int]]:
    """(inbox ids, outbound ids) to take up now: retries whose backoff ended, attempts whose worker
    died (lease ended), and queued notices whose job never ran."""
    now = system.clock.now()
    stale = now - STALE_AFTER
    with system.sessions() as session:
        retries = list(
            session.scalars(
                select(DeliveryDue.notification_id)
                .where(DeliveryDue.due_at <= now)
                .order_by(DeliveryDue.due_at)
                .limit(limit)
            )
        )
        never_tried = ~exists().where(DeliveryDue.notification_id == Notification.id)
        queued = session.execute(
            select(Notification.id, Notification.channel)
            .where(Notification.status == "queued", Notification.created_at <= stale, never_tried)
            .order_by(Notification.id)
            .limit(limit)
        ).all()
    inbox = [nid for nid, channel in queued if channel == INBOX]
    outbound = retries + [nid for nid, channel in queued if channel != INBOX]
    return inbox, outbound
