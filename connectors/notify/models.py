"""Notification tables of this package; the notices themselves are the engine's `notifications` rows
(one per recipient x channel, `dedupe_key` unique)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from infra.db import Base, UTCDateTime


class ChannelPreference(Base):
    """A user's own choice for one channel; without a row the role's default applies
    (connectors.notify.preferences.ROLE_DEFAULTS)."""

    __tablename__ = "notification_preferences"
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    channel: Mapped[str] = mapped_column(String(20), primary_key=True)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    # Comma-separated case priorities this channel is for ("P1,P2"); empty: every notice.
    priorities: Mapped[str] = mapped_column(String(40), default="")


class DeliveryAttempt(Base):
    """Every attempt to deliver one notice on one channel, kept for the record (the case timeline
    has the same facts, hash-chained)."""

    __tablename__ = "notification_attempts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    notification_id: Mapped[int] = mapped_column(ForeignKey("notifications.id"), index=True)
    attempt: Mapped[int] = mapped_column(Integer)
    channel: Mapped[str] = mapped_column(String(20))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    ok: Mapped[bool] = mapped_column(Boolean)
    error: Mapped[str | None] = mapped_column(Text)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class DeliveryDue(Base):
    """When a notice may next be attempted: after a failure, the backoff's end; while an attempt
    runs, a lease (a worker killed mid-send leaves it, and the sweep takes the notice up again).
    No row: a queued notice may be attempted now; a sent or failed notice has none."""

    __tablename__ = "notification_due"
    notification_id: Mapped[int] = mapped_column(ForeignKey("notifications.id"), primary_key=True)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
