"""The feed's tables: its log (events in the order the sequencer placed them), the subscriptions
and each subscription's deliveries. The outbox rows they come from are engine.models.FeedOutbox."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from infra.db import Base, UTCDateTime


class FeedEvent(Base):
    """One event of the feed. `position` is the cursor: given by one sequencer at a time, so a
    reader that has seen position p never later finds a committed event below p. `body` is the
    JSON sent, frozen once: every redelivery is the same bytes' content, with the same event id."""

    __tablename__ = "feed_events"
    position: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    event_id: Mapped[str] = mapped_column(String(60), unique=True)
    stream: Mapped[str] = mapped_column(String(10))  # case | register
    kind: Mapped[str] = mapped_column(String(40))
    case_key: Mapped[int] = mapped_column(Integer)  # the case id; 0 for register changes (one order)
    elevator_id: Mapped[int | None] = mapped_column(Integer, index=True)
    district_code: Mapped[str | None] = mapped_column(String(12))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    body: Mapped[dict[str, Any]] = mapped_column(JSON)


class FeedHead(Base):
    """The last position given; its row lock makes the sequencers take turns."""

    __tablename__ = "feed_head"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    position: Mapped[int] = mapped_column(Integer, default=0)


class FeedSubscription(Base):
    """An endpoint that receives the feed: which event kinds and districts (empty: all)."""

    __tablename__ = "feed_subscriptions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    url: Mapped[str] = mapped_column(String(500))
    secret: Mapped[str] = mapped_column(String(200))
    kinds: Mapped[list[str]] = mapped_column(JSON, default=list)
    districts: Mapped[list[str]] = mapped_column(JSON, default=list)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    timeout_seconds: Mapped[float] = mapped_column(Float, default=5.0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # One deliverer at a time per subscription (a lease, so a dead worker's turn passes on).
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)


class FeedDelivery(Base):
    """One event owed to one subscription: pending until the endpoint answered 2xx. The oldest
    pending delivery of a case blocks that case's later ones (for this subscription only)."""

    __tablename__ = "feed_deliveries"
    __table_args__ = (
        UniqueConstraint("subscription_id", "position"),
        Index("ix_feed_deliveries_pending", "subscription_id", "status", "case_key", "position"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    subscription_id: Mapped[int] = mapped_column(ForeignKey("feed_subscriptions.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(ForeignKey("feed_events.position"))
    case_key: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(10), default="pending")  # pending | delivered
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_at: Mapped[datetime] = mapped_column(UTCDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
