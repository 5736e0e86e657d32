"""The engine's tables: process definitions, cases, tasks, timers, timeline, notifications."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from infra.db import Base, UTCDateTime


class CaseStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"
    CANCELLED = "cancelled"
    FAILED = "failed"  # the engine hit an error it could not step past; kept for an operator


class TaskStatus(StrEnum):
    OPEN = "open"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


class EventKind(StrEnum):
    CASE_OPENED = "case_opened"
    SIGNAL_JOINED = "signal_joined"
    TASK_CREATED = "task_created"
    TASK_ASSIGNED = "task_assigned"
    TASK_COMPLETED = "task_completed"
    TASK_CANCELLED = "task_cancelled"
    TIMER_FIRED = "timer_fired"
    ESCALATED = "escalated"
    MESSAGE_RECEIVED = "message_received"
    NOTIFICATION_QUEUED = "notification_queued"
    NOTIFICATION_SENT = "notification_sent"
    NOTIFICATION_FAILED = "notification_failed"
    FLAG_SET = "flag_set"
    REGISTER_UPDATED = "register_updated"
    ITEM_UPDATED = "item_updated"  # one tracked item of a case (a nonconformity) moved on
    COMMENT_ADDED = "comment_added"
    ATTACHMENT_ADDED = "attachment_added"
    CASE_CLOSED = "case_closed"
    CASE_CANCELLED = "case_cancelled"
    CASE_FAILED = "case_failed"


class ProcessDefinition(Base):
    __tablename__ = "process_definitions"
    __table_args__ = (UniqueConstraint("key", "version"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(80), index=True)
    version: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(200), default="")
    bpmn_xml: Mapped[str] = mapped_column(Text)
    # The forms the version references, frozen with it: a running case keeps its forms too.
    forms: Mapped[dict[str, Any]] = mapped_column(default=dict)
    content_hash: Mapped[str] = mapped_column(String(64))
    deployed_by: Mapped[str] = mapped_column(String(60), default="system")
    deployed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # The analyst's note on why, and what changed against the version before (engine.definition_diff).
    change_note: Mapped[str] = mapped_column(Text, default="", server_default="")
    changes: Mapped[list[Any]] = mapped_column(default=list)


class Case(Base):
    __tablename__ = "cases"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(24), unique=True)
    case_type: Mapped[str] = mapped_column(String(30), index=True)
    definition_id: Mapped[int] = mapped_column(ForeignKey("process_definitions.id"), index=True)
    elevator_id: Mapped[int | None] = mapped_column(ForeignKey("elevators.id"), index=True)
    # A case about another piece of special equipment (an inspection expiry of a boiler): its record.
    equipment_id: Mapped[int | None] = mapped_column(ForeignKey("equipment.id"), index=True)
    district_code: Mapped[str | None] = mapped_column(String(12), index=True)
    status: Mapped[str] = mapped_column(String(12), default=CaseStatus.OPEN, index=True)
    priority: Mapped[str | None] = mapped_column(String(4))
    correlation_key: Mapped[str | None] = mapped_column(String(120), index=True)
    # Equal to correlation_key while open, NULL after: a unique index makes "one open case per
    # elevator and type" a database fact, so two racing signals cannot open two cases.
    open_key: Mapped[str | None] = mapped_column(String(120), unique=True)
    escalation_level: Mapped[int] = mapped_column(Integer, default=1)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    close_reason: Mapped[str | None] = mapped_column(String(200))
    milestones: Mapped[dict[str, Any]] = mapped_column(default=dict)
    variables: Mapped[dict[str, Any]] = mapped_column(default=dict)
    state: Mapped[str] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer, default=1)
    timeline_seq: Mapped[int] = mapped_column(Integer, default=0)
    timeline_head: Mapped[str] = mapped_column(String(64), default="")

    __mapper_args__ = {"version_id_col": version}


class CaseTask(Base):
    __tablename__ = "case_tasks"
    __table_args__ = (Index("ix_case_tasks_org_status", "organisation_id", "status"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    spiff_task_id: Mapped[str] = mapped_column(String(36), unique=True)
    bpmn_id: Mapped[str] = mapped_column(String(80))
    title: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(40))
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"))
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    form: Mapped[str | None] = mapped_column(String(120))
    status: Mapped[str] = mapped_column(String(12), default=TaskStatus.OPEN, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    completed_by: Mapped[str | None] = mapped_column(String(60))
    data: Mapped[dict[str, Any] | None] = mapped_column()


class CaseTimer(Base):
    """Every waiting timer's due time, rewritten after each step; the scheduler polls this."""

    __tablename__ = "case_timers"
    # (case_id, ...) unique constraints also serve lookups by case: no separate case_id index to keep up.
    __table_args__ = (UniqueConstraint("case_id", "spiff_task_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    spiff_task_id: Mapped[str] = mapped_column(String(36))
    bpmn_id: Mapped[str] = mapped_column(String(80))
    fire_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class TimelineEvent(Base):
    """Append-only; each row's hash covers its content and the previous row's hash."""

    __tablename__ = "timeline_events"
    __table_args__ = (UniqueConstraint("case_id", "seq"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    seq: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(30))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str] = mapped_column(String(60), default="system")
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class FeedOutbox(Base):
    """One committed entry waiting to enter the outbound feed: written with its timeline row (or
    its register change) in the same transaction, taken away by the feed's sequencer
    (connectors/feed), which gives it its place in the feed. `source` is "case" (case_id, seq of
    timeline_events) or "register" (seq of the admin audit chain)."""

    __tablename__ = "feed_outbox"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(10), default="case")
    case_id: Mapped[int | None] = mapped_column(Integer)
    seq: Mapped[int] = mapped_column(Integer)


class Notification(Base):
    __tablename__ = "notifications"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True)
    role: Mapped[str] = mapped_column(String(40))
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    channel: Mapped[str] = mapped_column(String(20), default="inbox")
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text, default="")
    # One notice per recipient, channel and cause: a retried step cannot notify twice.
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)
    status: Mapped[str] = mapped_column(String(12), default="queued", index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class CaseCounter(Base):
    """Per-prefix, per-day counter behind numbers like JY-20261123-0001."""

    __tablename__ = "case_counters"
    prefix: Mapped[str] = mapped_column(String(20), primary_key=True)
    last: Mapped[int] = mapped_column(Integer, default=0)
