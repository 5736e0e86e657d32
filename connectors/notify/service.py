"""Reads and writes for the notification API: inboxes, read marks, preferences, failures. No side
effects beyond the given session (no sending, no timeline)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, delete, func, or_, select, update
from sqlalchemy.orm import Session

from connectors.notify.channels import INBOX, OUTBOUND
from connectors.notify.models import ChannelPreference, DeliveryAttempt, DeliveryDue
from connectors.notify.preferences import ROLE_DEFAULTS
from engine.models import Case, Notification
from processes.visibility import cases_visible
from registry.models import User
from registry.scope import Scope

FAILURE_STATES = ("failed", "retrying")


def inbox(user_id: int, *, unread: bool | None = None) -> Select[tuple[Notification]]:
    """A user's inbox: the notices delivered to it, newest first."""
    stmt = select(Notification).where(
        Notification.user_id == user_id, Notification.channel == INBOX, Notification.status == "sent"
    )
    if unread is True:
        stmt = stmt.where(Notification.read_at.is_(None))
    elif unread is False:
        stmt = stmt.where(Notification.read_at.is_not(None))
    return stmt


def unread_count(session: Session, user_id: int) -> int:
    stmt = inbox(user_id, unread=True).with_only_columns(func.count()).order_by(None)
    return session.scalar(stmt) or 0


def mark_read(session: Session, user_id: int, notification_id: int, *, now: datetime) -> Notification | None:
    notice = session.scalar(inbox(user_id).where(Notification.id == notification_id))
    if notice is not None and notice.read_at is None:
        notice.read_at = now
    return notice


def mark_all_read(session: Session, user_id: int, *, now: datetime) -> int:
    ids = inbox(user_id, unread=True).with_only_columns(Notification.id)
    result = session.execute(
        update(Notification).where(Notification.id.in_(ids.scalar_subquery())).values(read_at=now),
        execution_options={"synchronize_session": False},
    )
    return result.rowcount or 0


def failures(scope: Scope, *, states: tuple[str, ...] = FAILURE_STATES) -> Select[tuple[Notification]]:
    """Notices that failed (or are failing and will be retried) on cases in the caller's scope; notices
    without a case only for the city-wide."""
    visible = Notification.case_id.in_(select(Case.id).where(cases_visible(scope)))
    if scope.city_wide:
        visible = or_(visible, Notification.case_id.is_(None))
    return select(Notification).where(Notification.status.in_(states), visible)


def next_attempts(session: Session, ids: list[int]) -> dict[int, datetime]:
    rows = session.execute(select(DeliveryDue.notification_id, DeliveryDue.due_at).where(
        DeliveryDue.notification_id.in_(ids)))
    return dict(rows.all())


def attempts_of(session: Session, notification_id: int) -> list[DeliveryAttempt]:
    return list(session.scalars(
        select(DeliveryAttempt).where(DeliveryAttempt.notification_id == notification_id).order_by(DeliveryAttempt.id)
    ))


def requeue(session: Session, notice: Notification) -> None:
    """A failed notice gets a fresh set of attempts (the earlier ones stay recorded)."""
    notice.status, notice.attempts = "queued", 0
    session.execute(delete(DeliveryDue).where(DeliveryDue.notification_id == notice.id))


@dataclass(frozen=True)
class Preference:
    channel: str
    enabled: bool
    priorities: str
    source: str  # "own", "role default" or "always" (the inbox)
    # False: this installation has no such channel configured, so nothing is sent on it.
    available: bool = True


def preferences_of(session: Session, user: User, available: set[str] | frozenset[str]) -> list[Preference]:
    """The user's channels as they stand: their own choices, else the defaults of their roles;
    `available`: the channels configured on this installation."""
    own = {p.channel: p for p in session.scalars(select(ChannelPreference).where(ChannelPreference.user_id == user.id))}
    defaults = {}
    for role in user.roles or ():
        for rule in ROLE_DEFAULTS.get(role, ()):
            defaults.setdefault(rule.channel, ",".join(sorted(rule.priorities)))
    out = [Preference(INBOX, True, "", "always")]
    for channel in OUTBOUND:
        if channel in own:
            pref = own[channel]
            out.append(Preference(channel, pref.enabled, pref.priorities, "own", channel in available))
        else:
            out.append(Preference(channel, channel in defaults, defaults.get(channel, ""), "role default",
                                  channel in available))
    return out


def set_preference(session: Session, user_id: int, channel: str, *, enabled: bool, priorities: str) -> None:
    if channel not in OUTBOUND:
        raise ValueError(f"unknown channel {channel!r}")
    session.merge(ChannelPreference(user_id=user_id, channel=channel, enabled=enabled, priorities=priorities))


def reset_preference(session: Session, user_id: int, channel: str) -> None:
    session.execute(delete(ChannelPreference).where(
        ChannelPreference.user_id == user_id, ChannelPreference.channel == channel))
